/// A node as a cache holds it: its data and Stat when last read. The Stat is the one of the node's last data
/// change or creation; its child counts (`numChildren`, `cversion`, `pzxid`) are not kept current, since a
/// recursive watch reports each node's own changes, not its parent's list.
public struct CachedNode: Sendable, Hashable {
    /// The node's data (nil for a null value).
    public var data: [UInt8]?
    /// The node's Stat when its data was last read.
    public var stat: Stat

    /// A cached node with `data` and `stat`.
    public init(data: [UInt8]?, stat: Stat) {
        self.data = data
        self.stat = stat
    }
}

/// What a cache reports, in the order it happened to the cache.
public enum TreeCacheEvent: Sendable, Hashable {
    /// A node appeared (during the initial load too).
    case added(path: String, node: CachedNode)
    /// A node's data changed (a new modification zxid).
    case updated(path: String, old: CachedNode, new: CachedNode)
    /// A node went away.
    case removed(path: String, old: CachedNode)
    /// The initial load is complete: the cache holds the whole subtree.
    case initialized
    /// The connection was lost: the cache may fall behind until `resynchronized`.
    case suspended
    /// After a reconnect (or `rebuild`), the cache read the subtree again and reported the differences.
    case resynchronized
    /// The session expired or the client closed: the cache stops following changes; call `rebuild(using:)`
    /// with a new client to resume.
    case sessionLost
}

/// A local copy of a subtree, kept up to date, with Apache Curator's `CuratorCache` semantics: an initial load,
/// then `added`/`updated`/`removed` events as the subtree changes.
///
/// It follows the subtree with one persistent recursive watch (ZooKeeper 3.6+, as `CuratorCache` does) and
/// reads each changed node. Events of a persistent watch are not replayed after a reconnect, so the cache reads
/// the whole subtree again then and reports the differences; after a session expiry it does the same with the
/// new client given to `rebuild(using:)`. The cache is eventually consistent: when the subtree stops changing,
/// it equals the server's subtree, but two nodes read at different times are not a snapshot.
public actor TreeCache {
    /// The root of the cached subtree.
    public nonisolated let path: String
    /// The cache's events (one consumer). Ends when the cache is closed.
    public nonisolated let events: AsyncStream<TreeCacheEvent>
    /// Whether only the node at `path` is cached (`NodeCache`), not its descendants.
    nonisolated let singleNode: Bool

    /// The client the cache reads through (the latest one given to `rebuild(using:)`).
    public private(set) var client: ZooKeeperClient
    private var nodes: [String: CachedNode] = [:]
    private let continuation: AsyncStream<TreeCacheEvent>.Continuation
    private var follower: Task<Void, Never>?
    private var closed = false

    /// A cache of `path` read through `client`; call `start()` to load it and follow it.
    public init(client: ZooKeeperClient, path: String) {
        self.init(client: client, path: path, singleNode: false)
    }

    init(client: ZooKeeperClient, path: String, singleNode: Bool) {
        self.client = client
        self.path = path
        self.singleNode = singleNode
        (events, continuation) = AsyncStream.makeStream(
            of: TreeCacheEvent.self, bufferingPolicy: .bufferingNewest(1_000_000))
    }

    deinit {
        follower?.cancel()
        continuation.finish()
    }

    /// Loads the subtree (reporting each node as `added`, then `initialized`) and follows its changes.
    public func start() async throws(ZooKeeperError) {
        try await follow(client, initial: true)
    }

    /// Resumes with `newClient` after `sessionLost` (or at any time): reads the subtree again and reports what
    /// changed while the cache was not following.
    public func rebuild(using newClient: ZooKeeperClient) async throws(ZooKeeperError) {
        follower?.cancel()
        follower = nil
        client = newClient
        try await follow(newClient, initial: false)
    }

    /// Stops following and ends `events`.
    public func close() {
        closed = true
        follower?.cancel()
        follower = nil
        continuation.finish()
    }

    /// Every cached node by path.
    public var currentNodes: [String: CachedNode] { nodes }

    /// The cached node at `path`, if any.
    public func node(at path: String) -> CachedNode? { nodes[path] }

    /// The cached children names of `path`, sorted.
    public func children(of parent: String) -> [String] {
        nodes.keys.filter { $0 != parent && String(ZooKeeperPath.parent(of: $0)) == parent }
            .map { String(ZooKeeperPath.name(of: $0)) }.sorted()
    }

    // MARK: Following

    private func follow(_ client: ZooKeeperClient, initial: Bool) async throws(ZooKeeperError) {
        // The watch first, then the read: a change made during the load is then seen by both, never by neither.
        let watch = try await client.watch(path, mode: singleNode ? .persistent : .persistentRecursive)
        try await resynchronize(client)
        continuation.yield(initial ? .initialized : .resynchronized)
        follower = Task { await self.process(watch, client: client) }
    }

    private func process(_ watch: AsyncStream<WatchedEvent>, client: ZooKeeperClient) async {
        var suspended = false
        for await event in watch {
            guard !Task.isCancelled else { return }
            switch (event.type, event.state) {
            case (.none, .disconnected):
                suspended = true
                continuation.yield(.suspended)
            case (.none, .syncConnected), (.none, .connectedReadOnly):
                guard suspended else { continue }
                suspended = false
                await resynchronizeReporting(client)
            case (.none, _):
                continue
            case (.nodeDeleted, _):
                if let changed = event.path { remove(subtreeAt: changed) }
            case (.nodeCreated, _), (.nodeDataChanged, _):
                if let changed = event.path { await refresh(changed, client: client) }
            default:
                continue  // child lists are not needed: a recursive watch reports every node itself
            }
        }
        if !Task.isCancelled && !closed { continuation.yield(.sessionLost) }
    }

    private func resynchronizeReporting(_ client: ZooKeeperClient) async {
        while !Task.isCancelled {
            do throws(ZooKeeperError) {
                try await resynchronize(client)
                continuation.yield(.resynchronized)
                return
            } catch  where error.code == .connectionLoss {
                // Lost again while reading: the next syncConnected event tries again.
                return
            } catch {
                return
            }
        }
    }

    /// Reads one node again and reports the difference.
    private func refresh(_ changed: String, client: ZooKeeperClient) async {
        guard isCovered(changed) else { return }
        do throws(ZooKeeperError) {
            let (data, stat) = try await client.getData(changed)
            store(changed, CachedNode(data: data, stat: stat))
        } catch  where error.code == .noNode {
            // Deleted since: the read is newer than the event, so the node is gone.
            remove(subtreeAt: changed)
        } catch {
            // A lost connection: the resynchronization after the reconnect catches up.
        }
    }

    private func isCovered(_ candidate: String) -> Bool {
        if singleNode { return candidate == path }
        return candidate == path || candidate.hasPrefix(path == "/" ? "/" : path + "/")
    }

    private func store(_ nodePath: String, _ node: CachedNode) {
        if let old = nodes[nodePath] {
            guard old.stat.mzxid != node.stat.mzxid || old.data != node.data else {
                nodes[nodePath] = node  // a newer Stat (e.g. children counts) with the same data
                return
            }
            nodes[nodePath] = node
            continuation.yield(.updated(path: nodePath, old: old, new: node))
        } else {
            nodes[nodePath] = node
            continuation.yield(.added(path: nodePath, node: node))
        }
    }

    /// Removes a node and everything cached under it, deepest first.
    private func remove(subtreeAt removedPath: String) {
        let prefix = removedPath == "/" ? "/" : removedPath + "/"
        let doomed = nodes.keys.filter { $0 == removedPath || $0.hasPrefix(prefix) }
            .sorted { $0.count > $1.count }
        for doomedPath in doomed {
            if let old = nodes.removeValue(forKey: doomedPath) {
                continuation.yield(.removed(path: doomedPath, old: old))
            }
        }
    }

    /// Reads the whole subtree and reports the differences with the cache: removals, then additions and
    /// updates parents first.
    private func resynchronize(_ client: ZooKeeperClient) async throws(ZooKeeperError) {
        var fresh: [String: CachedNode] = [:]
        var order: [String] = []
        try await load(path, client: client, into: &fresh, order: &order)
        for gone in nodes.keys.filter({ fresh[$0] == nil }).sorted(by: { $0.count > $1.count }) {
            if let old = nodes.removeValue(forKey: gone) {
                continuation.yield(.removed(path: gone, old: old))
            }
        }
        for nodePath in order {
            if let node = fresh[nodePath] { store(nodePath, node) }
        }
    }

    private func load(
        _ nodePath: String, client: ZooKeeperClient, into fresh: inout [String: CachedNode], order: inout [String]
    ) async throws(ZooKeeperError) {
        let read: (data: [UInt8]?, stat: Stat)
        do {
            read = try await client.getData(nodePath)
        } catch  where error.code == .noNode {
            return
        }
        fresh[nodePath] = CachedNode(data: read.data, stat: read.stat)
        order.append(nodePath)
        guard !singleNode, read.stat.numChildren > 0 else { return }
        let children: [String]
        do {
            children = try await client.getChildren(nodePath)
        } catch  where error.code == .noNode {
            return
        }
        for child in children.sorted() {
            try await load(ZooKeeperPath.join(nodePath, child), client: client, into: &fresh, order: &order)
        }
    }
}

/// A local copy of one node (Curator's `NodeCache`, or `CuratorCache` with `SINGLE_NODE_CACHE`): its data and
/// Stat, or nil while it does not exist, kept up to date with a persistent watch. Events are those of
/// `TreeCache`, for the one path.
public struct NodeCache: Sendable {
    private let cache: TreeCache

    /// A cache of `path` read through `client`; call `start()` to load it and follow it.
    public init(client: ZooKeeperClient, path: String) {
        cache = TreeCache(client: client, path: path, singleNode: true)
    }

    /// The cached node's path.
    public var path: String { cache.path }
    /// The cache's events (one consumer).
    public var events: AsyncStream<TreeCacheEvent> { cache.events }

    /// Reads the node (`added` if it exists, then `initialized`) and follows it.
    public func start() async throws(ZooKeeperError) { try await cache.start() }
    /// Resumes with a new client after `sessionLost`.
    public func rebuild(using newClient: ZooKeeperClient) async throws(ZooKeeperError) {
        try await cache.rebuild(using: newClient)
    }
    /// Stops following the node and ends `events`.
    public func close() async { await cache.close() }

    /// The node as last read, or nil when it does not exist.
    public func current() async -> CachedNode? { await cache.node(at: cache.path) }
}
