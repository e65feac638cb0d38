#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How contender nodes (lock, latch and lease nodes) are named, and how their order is read from their names.
///
/// Curator names them `_c_<uuid>-<lockName><sequence>` (its "protection" prefix, a random UUID, lets a client
/// find its own node after a create whose reply was lost) and orders them by the text after the last
/// `lockName`. kazoo names them `<uuid hex><nodeName><sequence>` and orders by the ten-digit sequence after
/// `__lock__` or `__rlock__`.
struct ContenderNaming: Sendable, Hashable {
    enum Style: Sendable, Hashable {
        case curator
        case kazoo
    }

    var style: Style
    /// The marker before the sequence number: `lock-`, `latch-`, `lease-`, `__READ__`, `__lock__`...
    var lockName: String
    /// The part of this participant's node name before the sequence number, unique to it.
    var prefix: String

    /// The markers of every contender that takes part in the order (a read-write lock's readers and writers).
    var peerNames: [String]

    init(style: Style, lockName: String, peerNames: [String]? = nil) {
        self.style = style
        self.lockName = lockName
        self.peerNames = peerNames ?? [lockName]
        switch style {
        case .curator: prefix = "_c_" + RandomUUID.string() + "-" + lockName
        case .kazoo: prefix = RandomUUID.hex() + lockName
        }
    }

    /// The sort key of a contender node, or nil when `name` is not a node of this lock (or its peers).
    func sequence(of name: String) -> String? {
        for peer in peerNames {
            if let sequence = Self.sequence(of: name, after: peer, style: style) { return sequence }
        }
        return nil
    }

    static func sequence(of name: String, after lockName: String, style: Style) -> String? {
        switch style {
        case .curator:
            guard let range = name.lastRange(of: lockName) else { return nil }
            return String(name[range.upperBound...])
        case .kazoo:
            // kazoo's contender pattern: the name, then an optional minus and exactly ten digits, at the end.
            guard let range = name.lastRange(of: lockName) else { return nil }
            let tail = name[range.upperBound...]
            let digits = tail.hasPrefix("-") ? tail.dropFirst() : tail
            guard digits.count == 10, digits.allSatisfy(\.isASCIIDigit) else { return nil }
            return String(tail)
        }
    }

    /// The children that are contenders of this lock name, in lock order.
    func sortedContenders(_ children: [String]) -> [String] {
        children.compactMap { child in sequence(of: child).map { (child, $0) } }
            .sorted { $0.1 < $1.1 }
            .map(\.0)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    /// The range of the last occurrence of `text` (Foundation-free).
    func lastRange(of text: String) -> Range<Index>? {
        guard !text.isEmpty, count >= text.count else { return nil }
        var start = index(endIndex, offsetBy: -text.count)
        while true {
            if self[start...].hasPrefix(text) { return start..<index(start, offsetBy: text.count) }
            if start == startIndex { return nil }
            start = index(before: start)
        }
    }
}

/// Random (version 4) UUIDs, as Java's `UUID.randomUUID().toString()` and Python's `uuid4().hex` print them.
enum RandomUUID {
    static func bytes() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return bytes
    }

    static func hex() -> String {
        bytes().map { byte in
            let text = String(byte, radix: 16)
            return text.count == 1 ? "0" + text : text
        }.joined()
    }

    /// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
    static func string() -> String {
        let text = Array(hex())
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(text[$0]) }.joined(separator: "-")
    }
}

/// The host's name, written into lock nodes so that `lockContenders` can say where a holder runs.
enum LocalHost {
    static let name: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}

extension ZooKeeperClient {
    /// Creates `path` with `mode`, creating missing ancestors first (as containers, as Curator's
    /// `creatingParentContainersIfNeeded` does, or as persistent nodes, as kazoo's `ensure_path` does).
    func createCreatingParents(
        _ path: String, data: [UInt8]?, mode: CreateMode, parentMode: CreateMode = .container
    ) async throws(ZooKeeperError) -> String {
        do {
            return try await create(path, data: data, mode: mode)
        } catch  where error.code == .noNode {
            try await createAncestors(of: path, mode: parentMode)
            return try await create(path, data: data, mode: mode)
        }
    }

    /// Creates every missing ancestor of `path`, parents first.
    func createAncestors(of path: String, mode: CreateMode) async throws(ZooKeeperError) {
        var ancestors: [String] = []
        var current = String(ZooKeeperPath.parent(of: path))
        while current != "/" && !current.isEmpty {
            ancestors.append(current)
            current = String(ZooKeeperPath.parent(of: current))
        }
        for ancestor in ancestors.reversed() {
            do {
                try await create(ancestor, mode: mode)
            } catch  where error.code == .nodeExists {
            }
        }
    }

    /// Creates this participant's ephemeral-sequential node under `parent`. When the reply is lost with the
    /// connection, the node may still have been created: it is found again by its unique prefix, as Curator's
    /// protection and kazoo's prefix search do, so a lost reply never leaves an orphan contender ahead of us.
    func createContender(
        under parent: String, naming: ContenderNaming, data: [UInt8]?, parentMode: CreateMode
    ) async throws(ZooKeeperError) -> String {
        let path = ZooKeeperPath.join(parent, naming.prefix)
        var attempts = 0
        while true {
            do {
                return try await createCreatingParents(
                    path, data: data, mode: .ephemeralSequential, parentMode: parentMode)
            } catch  where error.code == .connectionLoss && attempts < 5 {
                attempts += 1
                if let found = try? await getChildren(parent).first(where: { $0.hasPrefix(naming.prefix) }) {
                    return ZooKeeperPath.join(parent, found)
                }
            }
        }
    }

    /// Deletes `path`, retrying through lost connections; a node already gone is not an error.
    ///
    /// A retry waits for a connection as long as the client lets a request wait (`requestTimeoutWhileDisconnected`);
    /// once one has waited that long in vain, this gives up with ConnectionLoss rather than wait again: the client
    /// never expires a session by itself, so without this a caller cut off from every server would wait for ten
    /// such bounds.
    func deleteReliably(_ path: String) async throws(ZooKeeperError) {
        var attempts = 0
        while true {
            do {
                try await delete(path)
                return
            } catch  where error.code == .noNode {
                return
            } catch  where error.code == .connectionLoss && attempts < 10 {
                if attempts > 0 && state != .connected { throw error }
                attempts += 1
            }
        }
    }
}

/// What ended a wait for a node to change.
enum NodeWaitOutcome: Sendable {
    /// The node changed or went away (or was already gone): look again.
    case changed
    /// The deadline passed first.
    case timedOut
}

enum RecipeWaiting {
    /// Waits until the node at `path` is deleted or changed (one-shot data watch, as Curator's lock and latch
    /// use: unlike `exists`, it leaves no watch behind on a node that is already gone), the deadline passes, the
    /// session ends (throws) or the task is cancelled (throws `cancelled`).
    static func waitForChange(
        of path: String, client: ZooKeeperClient, deadline: ContinuousClock.Instant?
    ) async throws(ZooKeeperError) -> NodeWaitOutcome {
        let events: AsyncStream<WatchedEvent>
        do {
            (_, _, events) = try await client.getDataAndWatch(path)
        } catch  where error.code == .noNode {
            return .changed
        }
        return try await firstChange(in: events, path: path, deadline: deadline)
    }

    /// Waits for the first node event of a one-shot watch's stream (connection changes are skipped: the watch
    /// is re-armed after a reconnect), the deadline, the session's end (throws) or cancellation (throws).
    static func firstChange(
        in events: AsyncStream<WatchedEvent>, path: String, deadline: ContinuousClock.Instant?
    ) async throws(ZooKeeperError) -> NodeWaitOutcome {
        enum Outcome: Sendable {
            case changed, timedOut, sessionEnded(KeeperState?), cancelled
        }
        let outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                for await event in events {
                    switch event.type {
                    case .none:
                        switch event.state {
                        case .expired, .closed, .authFailed: return .sessionEnded(event.state)
                        default: continue
                        }
                    default:
                        return .changed
                    }
                }
                return Task.isCancelled ? .cancelled : .sessionEnded(nil)
            }
            if let deadline {
                group.addTask {
                    do {
                        try await Task.sleep(until: deadline, clock: .continuous)
                        return .timedOut
                    } catch {
                        return .cancelled
                    }
                }
            }
            let first = await group.next() ?? .cancelled
            group.cancelAll()
            return first
        }
        switch outcome {
        case .changed: return .changed
        case .timedOut: return .timedOut
        case .cancelled: throw ZooKeeperError(.cancelled, path: path)
        case .sessionEnded(let state):
            throw ZooKeeperError(state == .closed ? .clientClosed : .sessionExpired, path: path)
        }
    }

    /// Throws `cancelled` when the current task is cancelled.
    static func checkCancellation(_ path: String) throws(ZooKeeperError) {
        if Task.isCancelled { throw ZooKeeperError(.cancelled, path: path) }
    }
}

/// Big-endian integers, as Java's `ByteBuffer` writes them (SharedCount, DistributedAtomicLong).
enum BigEndianBytes {
    static func encode<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// Reads the first `T.bitWidth / 8` bytes; nil when there are fewer.
    static func decode<T: FixedWidthInteger>(_ bytes: [UInt8]?, as: T.Type = T.self) -> T? {
        let size = T.bitWidth / 8
        guard let bytes, bytes.count >= size else { return nil }
        var value = T.zero
        for byte in bytes.prefix(size) { value = (value << 8) | T(truncatingIfNeeded: byte) }
        return value
    }
}
