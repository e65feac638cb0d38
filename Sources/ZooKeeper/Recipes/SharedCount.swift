/// A value with the node version it was read at, for a conditional update (Curator's `VersionedValue`).
public struct VersionedValue<Value: Sendable & Hashable>: Sendable, Hashable {
    /// The value read.
    public var value: Value
    /// The data version of the node when the value was read.
    public var version: Int32

    /// `value`, read at node version `version`.
    public init(value: Value, version: Int32) {
        self.value = value
        self.version = version
    }
}

/// A shared 32-bit counter in one node, on the layout of Apache Curator's `SharedCount`: the node holds the
/// value as four big-endian bytes. Updates can be made conditional on the version last read (`trySetCount`),
/// so that concurrent writers never lose each other's changes.
public struct SharedCount: Sendable {
    /// The client the recipe works through.
    public let client: ZooKeeperClient
    /// The counter's node.
    public let path: String

    /// The counter at `path`, used through `client`.
    public init(client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    /// Creates the node with `seed` unless it exists (as Curator's `start()` does; parents become containers).
    public func start(seed: Int32 = 0) async throws(ZooKeeperError) {
        do {
            _ = try await client.createCreatingParents(
                path, data: BigEndianBytes.encode(seed), mode: .persistent, parentMode: .container)
        } catch  where error.code == .nodeExists {
        }
    }

    /// The current value and its version.
    public func versionedCount() async throws(ZooKeeperError) -> VersionedValue<Int32> {
        let (data, stat) = try await client.getData(path)
        return VersionedValue(value: try Self.decode(data, path: path), version: stat.version)
    }

    /// The current value.
    public func count() async throws(ZooKeeperError) -> Int32 {
        try await versionedCount().value
    }

    /// Sets the value whatever it was.
    public func setCount(_ newCount: Int32) async throws(ZooKeeperError) {
        try await client.setData(path, data: BigEndianBytes.encode(newCount))
    }

    /// Sets the value only if the node is still at `previous.version`; false when someone changed it meanwhile.
    public func trySetCount(_ newCount: Int32, expecting previous: VersionedValue<Int32>)
        async throws(ZooKeeperError) -> Bool
    {
        do {
            try await client.setData(path, data: BigEndianBytes.encode(newCount), version: previous.version)
            return true
        } catch  where error.code == .badVersion {
            return false
        }
    }

    /// Adds `delta` by read-then-conditional-set until it applies; returns the new value.
    @discardableResult
    public func add(_ delta: Int32) async throws(ZooKeeperError) -> Int32 {
        while true {
            try RecipeWaiting.checkCancellation(path)
            let current = try await versionedCount()
            let next = current.value &+ delta
            if try await trySetCount(next, expecting: current) { return next }
        }
    }

    /// The value now and after every change, until the session ends or the consumer stops (a persistent watch).
    public func values() async throws(ZooKeeperError) -> AsyncStream<VersionedValue<Int32>> {
        let watch = try await client.watch(path, mode: .persistent)
        let first = try await versionedCount()
        let (stream, continuation) = AsyncStream.makeStream(of: VersionedValue<Int32>.self)
        let count = self
        let task = Task {
            continuation.yield(first)
            var last = first
            for await event in watch {
                switch (event.type, event.state) {
                case (.nodeDataChanged, _), (.nodeCreated, _), (.none, .syncConnected):
                    // After a reconnect the watch missed what happened meanwhile: read again.
                    guard let value = try? await count.versionedCount(), value != last else { continue }
                    last = value
                    continuation.yield(value)
                default:
                    continue
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    static func decode(_ data: [UInt8]?, path: String) throws(ZooKeeperError) -> Int32 {
        guard let value = BigEndianBytes.decode(data, as: Int32.self) else {
            throw ZooKeeperError(
                .marshallingError, path: path, message: "\(path) does not hold a 4-byte count (SharedCount)")
        }
        return value
    }
}

/// The outcome of a `DistributedAtomicLong` operation (Curator's `AtomicValue`).
public struct AtomicValue: Sendable, Hashable {
    /// Whether the operation was applied (optimistic attempts can run out).
    public var succeeded: Bool
    /// The value before the operation.
    public var preValue: Int64
    /// The value after it (when it succeeded).
    public var postValue: Int64

    /// An outcome with its values before and after.
    public init(succeeded: Bool, preValue: Int64, postValue: Int64) {
        self.succeeded = succeeded
        self.preValue = preValue
        self.postValue = postValue
    }
}

/// A 64-bit counter in one node, on the layout of Apache Curator's `DistributedAtomicLong`: eight big-endian
/// bytes; a missing node reads as 0 and is created by the first write. Each operation reads the value and
/// writes the new one conditionally on the version read, retrying up to `maximumAttempts` times when another
/// writer got in between (Curator's optimistic mode; its lock-promoted mode is not provided).
public struct DistributedAtomicLong: Sendable {
    /// The client the recipe works through.
    public let client: ZooKeeperClient
    /// The counter's node.
    public let path: String
    /// How many optimistic attempts an operation makes before it reports `succeeded == false`.
    public var maximumAttempts: Int

    /// The counter at `path`, used through `client`, giving up an operation after `maximumAttempts` conflicts.
    public init(client: ZooKeeperClient, path: String, maximumAttempts: Int = 1000) {
        self.client = client
        self.path = path
        self.maximumAttempts = maximumAttempts
    }

    /// The current value (0 when the node does not exist).
    public func get() async throws(ZooKeeperError) -> Int64 {
        try await read().value
    }

    /// Adds 1.
    @discardableResult public func increment() async throws(ZooKeeperError) -> AtomicValue { try await add(1) }
    /// Subtracts 1.
    @discardableResult public func decrement() async throws(ZooKeeperError) -> AtomicValue { try await add(-1) }
    /// Subtracts `delta` (wrapping around on overflow, as Java's `long` does).
    @discardableResult public func subtract(_ delta: Int64) async throws(ZooKeeperError) -> AtomicValue {
        try await add(0 &- delta)
    }

    /// Adds `delta` (wrapping around on overflow, as Java's `long` does).
    @discardableResult
    public func add(_ delta: Int64) async throws(ZooKeeperError) -> AtomicValue {
        try await update { $0 &+ delta }
    }

    /// Sets the value, conditionally on no other write in between (retried).
    @discardableResult
    public func trySet(_ newValue: Int64) async throws(ZooKeeperError) -> AtomicValue {
        try await update { _ in newValue }
    }

    /// Sets the value only if it is `expected` now (a missing node never matches, as in Curator).
    public func compareAndSet(expected: Int64, newValue: Int64) async throws(ZooKeeperError) -> AtomicValue {
        let current = try await read()
        guard let version = current.version, current.value == expected else {
            return AtomicValue(succeeded: false, preValue: current.value, postValue: current.value)
        }
        do {
            try await client.setData(path, data: BigEndianBytes.encode(newValue), version: version)
            return AtomicValue(succeeded: true, preValue: current.value, postValue: newValue)
        } catch  where error.code == .badVersion {
            return AtomicValue(succeeded: false, preValue: current.value, postValue: current.value)
        }
    }

    /// Sets the value unconditionally (creating the node when missing).
    public func forceSet(_ newValue: Int64) async throws(ZooKeeperError) {
        do {
            try await client.setData(path, data: BigEndianBytes.encode(newValue))
        } catch  where error.code == .noNode {
            do {
                _ = try await client.createCreatingParents(
                    path, data: BigEndianBytes.encode(newValue), mode: .persistent, parentMode: .container)
            } catch  where error.code == .nodeExists {
                try await client.setData(path, data: BigEndianBytes.encode(newValue))
            }
        }
    }

    private func read() async throws(ZooKeeperError) -> (value: Int64, version: Int32?) {
        do throws(ZooKeeperError) {
            let (data, stat) = try await client.getData(path)
            // Curator reads an empty node as 0.
            if data?.isEmpty ?? true { return (0, stat.version) }
            guard let value = BigEndianBytes.decode(data, as: Int64.self) else {
                throw ZooKeeperError(
                    .marshallingError, path: path,
                    message: "\(path) does not hold an 8-byte value (DistributedAtomicLong)")
            }
            return (value, stat.version)
        } catch  where error.code == .noNode {
            return (0, nil)
        }
    }

    private func update(_ transform: (Int64) -> Int64) async throws(ZooKeeperError) -> AtomicValue {
        var last: Int64 = 0
        for _ in 0..<max(1, maximumAttempts) {
            try RecipeWaiting.checkCancellation(path)
            let current = try await read()
            last = current.value
            let next = transform(current.value)
            let bytes = BigEndianBytes.encode(next)
            do {
                if let version = current.version {
                    try await client.setData(path, data: bytes, version: version)
                } else {
                    _ = try await client.createCreatingParents(
                        path, data: bytes, mode: .persistent, parentMode: .container)
                }
                return AtomicValue(succeeded: true, preValue: current.value, postValue: next)
            } catch  where error.code == .badVersion || error.code == .nodeExists {
                continue
            }
        }
        return AtomicValue(succeeded: false, preValue: last, postValue: last)
    }
}
