/// A mutual-exclusion lock shared by processes, on the znode layout of Apache Curator's `InterProcessMutex` (or,
/// with `Layout.kazoo`, of kazoo's `Lock`), so that Swift, Java and Python processes exclude each other.
///
/// Each contender creates an ephemeral-sequential node under `path` (`_c_<uuid>-lock-<sequence>` for Curator,
/// `<uuid hex>__lock__<sequence>` for kazoo); the lowest sequence holds the lock, and every other contender
/// watches only the node just before its own, so a release wakes one waiter, not all of them.
///
/// One `DistributedLock` is one owner: acquiring it again while it is held counts up (re-entrancy, as Curator
/// counts per thread), and the lock is given back when `release()` has been called as many times.
///
/// The lock lasts as long as the session: when the session expires (or the lock node is deleted by someone
/// else) the holder learns it from `events` (`.lost`) and no longer holds it, and another process may then
/// acquire it. While the connection is down (`.suspended`) the lock may already be lost without the holder
/// knowing; see the fencing example in the README for work that must never overlap. A holder suspended for a
/// whole session timeout counts the lock as lost, as Curator does (its connection state manager reports LOST
/// then, whatever the server decides later): `.lost` comes, and if the session in fact survived, the lock node
/// is deleted once the connection is back, so that it does not block the others.
public actor DistributedLock {
    /// Whose node names and ordering the lock uses.
    public enum Layout: Sendable, Hashable {
        /// Curator's `InterProcessMutex`: `_c_<uuid>-lock-<sequence>`, parents created as containers.
        case curator
        /// kazoo's `Lock`: `<uuid hex>__lock__<sequence>`, parents created as persistent nodes.
        case kazoo
    }

    /// What happens to a held lock.
    public enum Event: Sendable, Hashable {
        /// The lock was acquired; the node is this holder's lock node.
        case acquired(node: String)
        /// The connection was lost while holding the lock: it may be lost already.
        case suspended
        /// The connection came back with the same session: the lock is still held.
        case reconnected
        /// The lock is no longer held: the session expired or closed, the lock node was deleted, or the
        /// connection stayed down for a whole session timeout.
        case lost
        /// The holder released the lock.
        case released
    }

    /// The client the recipe works through.
    public nonisolated let client: ZooKeeperClient
    /// The parent of the contenders' lock nodes.
    public nonisolated let path: String
    /// The naming of the lock nodes (Curator's or kazoo's).
    public nonisolated let layout: Layout
    /// What happens to the lock, for the holder to follow (one consumer).
    public nonisolated let events: AsyncStream<Event>

    /// Who holds the lock among the ordered contenders.
    enum Rule: Sendable, Hashable {
        /// The first contender holds it (a mutex, a read-write lock's writer).
        case exclusive
        /// Every contender before the first writer (a node named with `writerName`) holds it.
        case shared(writerName: String)
        /// Curator's `InterProcessSemaphoreV2`: a contender enters through the mutex at `entryPath`, and holds a
        /// lease once at most `maxLeases` nodes are left under the lock's path (not in order: any lease may go).
        case lease(maxLeases: Int, entryPath: String)
    }

    private let naming: ContenderNaming
    private let rule: Rule
    private let parentMode: CreateMode
    private let data: [UInt8]?
    private let eventsContinuation: AsyncStream<Event>.Continuation
    private var ownedNode: String?
    private var ownedNodeCreation: Int64 = 0
    private var holdCount = 0
    private var monitor: Task<Void, Never>?
    /// Counts a suspension as a loss when it lasts a session timeout.
    private var suspensionTimer: Task<Void, Never>?
    private var acquiring = false
    private var acquireWaiters: [CheckedContinuation<Void, Never>] = []

    /// A lock on `path`. `data` goes into the lock node; by default the host name (Curator writes its host's
    /// address there, kazoo its identifier).
    public init(client: ZooKeeperClient, path: String, layout: Layout = .curator, data: [UInt8]? = nil) {
        let naming =
            switch layout {
            case .curator: ContenderNaming(style: .curator, lockName: "lock-")
            case .kazoo: ContenderNaming(style: .kazoo, lockName: "__lock__")
            }
        self.init(
            client: client, path: path, layout: layout, naming: naming, rule: .exclusive,
            parentMode: layout == .curator ? .container : .persistent, data: data)
    }

    init(
        client: ZooKeeperClient, path: String, layout: Layout, naming: ContenderNaming, rule: Rule,
        parentMode: CreateMode, data: [UInt8]?
    ) {
        self.client = client
        self.path = path
        self.layout = layout
        self.naming = naming
        self.rule = rule
        self.parentMode = parentMode
        self.data = data ?? Array(LocalHost.name.utf8)
        (events, eventsContinuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(1000))
    }

    deinit {
        monitor?.cancel()
        eventsContinuation.finish()
    }

    /// Whether this owner holds the lock (as far as it knows: see `Event.suspended`).
    public var isAcquired: Bool { holdCount > 0 }

    /// The path of this owner's lock node while it holds the lock.
    public var lockNode: String? { holdCount > 0 ? ownedNode : nil }

    /// The zxid that created this owner's lock node while it holds the lock: it grows with every new holder, so
    /// a resource can refuse writes that carry a smaller one (a fencing token).
    public var fencingToken: Int64? { holdCount > 0 ? ownedNodeCreation : nil }

    /// Acquires the lock, waiting as long as it takes. Throws `cancelled` when the task is cancelled, and
    /// `sessionExpired` or `clientClosed` when the session ends first.
    public func acquire() async throws(ZooKeeperError) {
        _ = try await acquire(deadline: nil)
    }

    /// Acquires the lock, waiting at most `timeout`. Returns false when the time ran out; the contender node is
    /// then removed, as it is on cancellation and on any error.
    public func acquire(timeout: Duration) async throws(ZooKeeperError) -> Bool {
        try await acquire(deadline: .now + timeout)
    }

    private func acquire(deadline: ContinuousClock.Instant?) async throws(ZooKeeperError) -> Bool {
        // Calls on the same owner go one at a time, so that a second one counts up instead of contending.
        while acquiring {
            await withCheckedContinuation { acquireWaiters.append($0) }
        }
        if holdCount > 0 {
            holdCount += 1
            return true
        }
        acquiring = true
        defer {
            acquiring = false
            if !acquireWaiters.isEmpty { acquireWaiters.removeFirst().resume() }
        }
        try RecipeWaiting.checkCancellation(path)
        guard let node = try await createAndWait(deadline: deadline) else { return false }
        ownedNode = node
        holdCount = 1
        eventsContinuation.yield(.acquired(node: node))
        startMonitoring(node)
        return true
    }

    /// Creates this owner's node and waits until it holds the lock: the node, or nil when the deadline passed first
    /// (the node is then removed, as it is on any error).
    private func createAndWait(deadline: ContinuousClock.Instant?) async throws(ZooKeeperError) -> String? {
        switch rule {
        case .exclusive:
            return try await createContender { node throws(ZooKeeperError) in
                try await self.waitUntilFirst(node: node, writerName: nil, deadline: deadline)
            }
        case .shared(let writerName):
            return try await createContender { node throws(ZooKeeperError) in
                try await self.waitUntilFirst(node: node, writerName: writerName, deadline: deadline)
            }
        case .lease(let maxLeases, let entryPath):
            // Curator's semaphore lets one acquirer at a time add its lease and wait for room, under its mutex.
            let entry = DistributedLock(client: client, path: entryPath, data: data)
            let entered: Bool
            if let deadline {
                entered = try await entry.acquire(timeout: deadline - .now)
            } else {
                try await entry.acquire()
                entered = true
            }
            guard entered else { return nil }
            let node: String?
            do throws(ZooKeeperError) {
                node = try await createContender { node throws(ZooKeeperError) in
                    try await self.waitForRoom(node: node, maxLeases: maxLeases, deadline: deadline)
                }
            } catch {
                try? await entry.release()
                throw error
            }
            // The lease is ours whatever happens to the mutex's node (deleted with retries, or with the session).
            try? await entry.release()
            return node
        }
    }

    /// Creates this owner's node and runs `wait` on it; removes the node again unless `wait` says it holds.
    private func createContender(
        waiting wait: (String) async throws(ZooKeeperError) -> Bool
    ) async throws(ZooKeeperError) -> String? {
        let node = try await client.createContender(under: path, naming: naming, data: data, parentMode: parentMode)
        do throws(ZooKeeperError) {
            guard try await wait(node) else {
                try? await client.deleteReliably(node)
                return nil
            }
            return node
        } catch {
            try? await client.deleteReliably(node)
            throw error
        }
    }

    /// Loops until at most `maxLeases` nodes are under the path, `node` among them (true), or the deadline passes
    /// (false). Curator counts every child of its `leases` node.
    private func waitForRoom(
        node: String, maxLeases: Int, deadline: ContinuousClock.Instant?
    ) async throws(ZooKeeperError) -> Bool {
        let name = String(ZooKeeperPath.name(of: node))
        while true {
            try RecipeWaiting.checkCancellation(path)
            let (children, _, events) = try await client.getChildrenAndWatch(path)
            guard children.contains(name) else {
                throw ZooKeeperError(.noNode, path: node, message: "the lease node \(node) is gone")
            }
            if children.count <= maxLeases {
                ownedNodeCreation = try await client.exists(node)?.czxid ?? 0
                return true
            }
            switch try await RecipeWaiting.firstChange(in: events, path: path, deadline: deadline) {
            case .changed: continue
            case .timedOut: return false
            }
        }
    }

    /// Loops until `node` is the first contender, or with `writerName` (a reader) no writer is ahead of it (true),
    /// or the deadline passes (false).
    private func waitUntilFirst(
        node: String, writerName: String?, deadline: ContinuousClock.Instant?
    ) async throws(ZooKeeperError) -> Bool {
        let name = String(ZooKeeperPath.name(of: node))
        while true {
            try RecipeWaiting.checkCancellation(path)
            let contenders = naming.sortedContenders(try await client.getChildren(path))
            guard let index = contenders.firstIndex(of: name) else {
                throw ZooKeeperError(.noNode, path: node, message: "the lock node \(node) is gone")
            }
            let blocker: Int?
            if let writerName {
                // Any writer ahead blocks a reader. Curator's reader watches the first of them, kazoo's the last.
                let isWriter = { (name: String) in name.contains(writerName) }
                switch layout {
                case .curator: blocker = contenders[..<index].firstIndex(where: isWriter)
                case .kazoo: blocker = contenders[..<index].lastIndex(where: isWriter)
                }
            } else {
                blocker = index == 0 ? nil : index - 1
            }
            guard let blocker else {
                ownedNodeCreation = try await client.exists(node)?.czxid ?? 0
                return true
            }
            let predecessor = ZooKeeperPath.join(path, contenders[blocker])
            switch try await RecipeWaiting.waitForChange(of: predecessor, client: client, deadline: deadline) {
            case .changed: continue
            case .timedOut: return false
            }
        }
    }

    /// Releases one hold; the lock node is deleted when the last hold goes. Throws `invalidArgument` when this
    /// owner does not hold the lock.
    public func release() async throws(ZooKeeperError) {
        guard holdCount > 0, let node = ownedNode else {
            throw ZooKeeperError(.invalidArgument, path: path, message: "the lock \(path) is not held by this owner")
        }
        holdCount -= 1
        guard holdCount == 0 else { return }
        monitor?.cancel()
        monitor = nil
        suspensionTimer?.cancel()
        suspensionTimer = nil
        ownedNode = nil
        eventsContinuation.yield(.released)
        try await client.deleteReliably(node)
    }

    /// Runs `body` while holding the lock, and releases it afterwards.
    public func withLock<Result: Sendable>(
        _ body: @Sendable () async throws -> Result
    ) async throws -> Result {
        try await acquire()
        do {
            let result = try await body()
            try await release()
            return result
        } catch {
            try? await release()
            throw error
        }
    }

    // MARK: Losing the lock

    /// Watches the held node: connection changes and its deletion reach the holder as events.
    private func startMonitoring(_ node: String) {
        let client = self.client
        monitor = Task { [weak self] in
            while !Task.isCancelled {
                let events: AsyncStream<WatchedEvent>
                do throws(ZooKeeperError) {
                    let (stat, stream) = try await client.existsAndWatch(node)
                    guard stat != nil else {
                        await self?.lost(node)
                        return
                    }
                    events = stream
                } catch  where error.code == .connectionLoss {
                    // Disconnected before the watch was set: suspended all the same. Retried once the connection
                    // is back (or the session is over).
                    await self?.suspended(node, sessionTimeout: client.negotiatedTimeout)
                    do throws(ZooKeeperError) {
                        try await client.waitUntilConnected(timeout: client.negotiatedTimeout)
                        await self?.reconnected(node)
                    } catch {
                        if !client.state.isAlive {
                            await self?.lost(node)
                            return
                        }
                    }
                    continue
                } catch {
                    await self?.lost(node)
                    return
                }
                var rearm = false
                for await event in events {
                    switch (event.type, event.state) {
                    case (.none, .disconnected):
                        await self?.suspended(node, sessionTimeout: client.negotiatedTimeout)
                    case (.none, .syncConnected), (.none, .connectedReadOnly):
                        await self?.reconnected(node)
                    case (.none, _):
                        continue
                    case (.nodeDeleted, _):
                        await self?.lost(node)
                        return
                    default:
                        rearm = true
                    }
                    if rearm { break }
                }
                if !rearm && !Task.isCancelled {
                    // The stream ended: the session is over.
                    await self?.lost(node)
                    return
                }
            }
        }
    }

    private func suspended(_ node: String, sessionTimeout: Duration) {
        guard ownedNode == node, holdCount > 0, suspensionTimer == nil else { return }
        eventsContinuation.yield(.suspended)
        suspensionTimer = Task { [weak self] in
            guard (try? await Task.sleep(for: sessionTimeout)) != nil else { return }
            await self?.suspendedForASessionTimeout(node)
        }
    }

    private func reconnected(_ node: String) {
        suspensionTimer?.cancel()
        suspensionTimer = nil
        report(.reconnected, node: node)
    }

    private func suspendedForASessionTimeout(_ node: String) {
        suspensionTimer = nil
        guard ownedNode == node, holdCount > 0 else { return }
        lost(node)
        // The session may have survived: then the node would block every other contender until it ends.
        let client = self.client
        Task {
            guard (try? await client.waitUntilConnected(timeout: client.negotiatedTimeout)) != nil else { return }
            try? await client.deleteReliably(node)
        }
    }

    private func report(_ event: Event, node: String) {
        guard ownedNode == node, holdCount > 0 else { return }
        eventsContinuation.yield(event)
    }

    private func lost(_ node: String) {
        guard ownedNode == node, holdCount > 0 else { return }
        suspensionTimer?.cancel()
        suspensionTimer = nil
        holdCount = 0
        ownedNode = nil
        monitor = nil
        eventsContinuation.yield(.lost)
    }
}
