import ZooKeeperProtocol

/// Identifies who receives a watch's events: 0 is the client's default watcher, other numbers are watch
/// streams handed to callers.
typealias WatcherID = Int

/// The watches this client has registered with the server, by client path (chroot stripped), and which
/// watchers each one feeds. Mirrors the server's bookkeeping so that events can be routed, one-shot watches
/// dropped when they fire, and everything re-registered after a reconnect.
struct WatchRegistry: Sendable {
    enum Kind: Sendable, Hashable, CaseIterable {
        case data, exist, child, persistent, persistentRecursive
    }

    private var data: [String: Set<WatcherID>] = [:]
    private var exist: [String: Set<WatcherID>] = [:]
    private var child: [String: Set<WatcherID>] = [:]
    private var persistent: [String: Set<WatcherID>] = [:]
    private var persistentRecursive: [String: Set<WatcherID>] = [:]

    var isEmpty: Bool {
        data.isEmpty && exist.isEmpty && child.isEmpty && persistent.isEmpty && persistentRecursive.isEmpty
    }

    var count: Int { data.count + exist.count + child.count + persistent.count + persistentRecursive.count }

    private func table(_ kind: Kind) -> [String: Set<WatcherID>] {
        switch kind {
        case .data: data
        case .exist: exist
        case .child: child
        case .persistent: persistent
        case .persistentRecursive: persistentRecursive
        }
    }

    private mutating func modify<R>(_ kind: Kind, _ body: (inout [String: Set<WatcherID>]) -> R) -> R {
        switch kind {
        case .data: body(&data)
        case .exist: body(&exist)
        case .child: body(&child)
        case .persistent: body(&persistent)
        case .persistentRecursive: body(&persistentRecursive)
        }
    }

    mutating func add(_ kind: Kind, path: String, watcher: WatcherID) {
        modify(kind) { _ = $0[path, default: []].insert(watcher) }
    }

    func watchers(_ kind: Kind, path: String) -> Set<WatcherID> {
        table(kind)[path] ?? []
    }

    /// Every watcher with at least one watch, for connection-state events.
    var allWatchers: Set<WatcherID> {
        var result: Set<WatcherID> = []
        for kind in Kind.allCases {
            for watchers in table(kind).values { result.formUnion(watchers) }
        }
        return result
    }

    /// The watchers a notification goes to, removing the one-shot watches it consumes (Apache's
    /// `ZKWatchManager.materialize`). Sorted, so that delivery order is deterministic.
    mutating func materialize(type: EventType, path: String) -> [WatcherID] {
        var result: Set<WatcherID> = []
        switch type {
        case .nodeCreated, .nodeDataChanged:
            result.formUnion(data.removeValue(forKey: path) ?? [])
            result.formUnion(exist.removeValue(forKey: path) ?? [])
        case .nodeChildrenChanged:
            result.formUnion(child.removeValue(forKey: path) ?? [])
        case .nodeDeleted:
            result.formUnion(data.removeValue(forKey: path) ?? [])
            result.formUnion(exist.removeValue(forKey: path) ?? [])
            result.formUnion(child.removeValue(forKey: path) ?? [])
        default:
            break
        }
        result.formUnion(persistent[path] ?? [])
        // Recursive watches promise no child events; a server sends NodeChildrenChanged only for other watches.
        if type != .nodeChildrenChanged && !persistentRecursive.isEmpty {
            ZooKeeperPath.forEachPathUpToRoot(from: path) { result.formUnion(persistentRecursive[$0] ?? []) }
        }
        return result.sorted()
    }

    /// Whether a checkWatches / removeWatches of `type` on `path` would find anything here.
    func contains(path: String, type: WatcherType) -> Bool {
        kinds(for: type).contains { table($0)[path] != nil }
    }

    /// Removes the watches of `type` on `path`; returns each removed watcher with the event it is told.
    mutating func remove(path: String, type: WatcherType) -> [(WatcherID, EventType)] {
        var removed: [(WatcherID, EventType)] = []
        for kind in kinds(for: type) {
            let watchers = modify(kind) { $0.removeValue(forKey: path) } ?? []
            let event: EventType =
                switch kind {
                case .data, .exist: .dataWatchRemoved
                case .child: .childWatchRemoved
                case .persistent, .persistentRecursive: .persistentWatchRemoved
                }
            for watcher in watchers.sorted() where !removed.contains(where: { $0.0 == watcher && $0.1 == event }) {
                removed.append((watcher, event))
            }
        }
        return removed
    }

    /// Forgets every watch of `watcher` (a stream its owner dropped), so it is not re-registered.
    mutating func removeWatcher(_ watcher: WatcherID) {
        for kind in Kind.allCases {
            modify(kind) { table in
                for (path, var watchers) in table where watchers.contains(watcher) {
                    watchers.remove(watcher)
                    table[path] = watchers.isEmpty ? nil : watchers
                }
            }
        }
    }

    mutating func removeAll() {
        data = [:]
        exist = [:]
        child = [:]
        persistent = [:]
        persistentRecursive = [:]
    }

    private func kinds(for type: WatcherType) -> [Kind] {
        switch type {
        case .data: [.data, .exist]
        case .children: [.child]
        case .persistent: [.persistent]
        case .persistentRecursive: [.persistentRecursive]
        default: Kind.allCases
        }
    }

    /// The SetWatches requests that re-register everything after a reconnect, split so that each carries at
    /// most `maximumPathBytes` of path text (Apache's client uses 128 KB), with `serverPath` adding the chroot.
    func setWatchesBatches(
        relativeZxid: Int64, maximumPathBytes: Int = 128 * 1024, serverPath: (String) -> String
    ) -> [SetWatches] {
        var batches: [SetWatches] = []
        var current = SetWatches(relativeZxid: relativeZxid)
        var currentBytes = 0
        for kind in Kind.allCases {
            for path in table(kind).keys.sorted() {
                let server = serverPath(path)
                let size = server.utf8.count + 4
                if currentBytes + size > maximumPathBytes && !current.isEmpty {
                    batches.append(current)
                    current = SetWatches(relativeZxid: relativeZxid)
                    currentBytes = 0
                }
                switch kind {
                case .data: current.dataWatches.append(server)
                case .exist: current.existWatches.append(server)
                case .child: current.childWatches.append(server)
                case .persistent: current.persistentWatches.append(server)
                case .persistentRecursive: current.persistentRecursiveWatches.append(server)
                }
                currentBytes += size
            }
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}
