import ZooKeeperProtocol

/// Identifies one client connection inside the server.
struct ConnectionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    let rawValue: Int
    init(_ rawValue: Int) { self.rawValue = rawValue }
    static func < (lhs: ConnectionID, rhs: ConnectionID) -> Bool { lhs.rawValue < rhs.rawValue }
    var description: String { "#\(rawValue)" }
}

/// The kinds of watch a connection can hold on a path.
enum WatchKind: CaseIterable {
    /// getData / exists: fires once on NodeCreated, NodeDataChanged, NodeDeleted.
    case data
    /// getChildren: fires once on NodeChildrenChanged, or NodeDeleted of the node itself.
    case child
    /// addWatch mode 0: data and child events of the path, never removed by firing.
    case persistent
    /// addWatch mode 1: data events of the path and every descendant, never removed by firing.
    case persistentRecursive
}

/// Watches per connection (watches belong to connections, not sessions: they vanish with the connection and the
/// client re-installs them with SetWatches).
struct WatchManager {
    private var dataWatches: [String: Set<ConnectionID>] = [:]
    private var childWatches: [String: Set<ConnectionID>] = [:]
    private var persistentWatches: [String: Set<ConnectionID>] = [:]
    private var recursiveWatches: [String: Set<ConnectionID>] = [:]
    private var byConnection: [ConnectionID: [WatchKind: Set<String>]] = [:]

    private static func table(_ kind: WatchKind) -> WritableKeyPath<WatchManager, [String: Set<ConnectionID>]> {
        switch kind {
        case .data: \.dataWatches
        case .child: \.childWatches
        case .persistent: \.persistentWatches
        case .persistentRecursive: \.recursiveWatches
        }
    }

    mutating func add(_ kind: WatchKind, path: String, connection: ConnectionID) {
        self[keyPath: Self.table(kind)][path, default: []].insert(connection)
        byConnection[connection, default: [:]][kind, default: []].insert(path)
    }

    func contains(_ kind: WatchKind, path: String, connection: ConnectionID) -> Bool {
        self[keyPath: Self.table(kind)][path]?.contains(connection) ?? false
    }

    /// Removes one watch; false when the connection had none of that kind there.
    @discardableResult
    mutating func remove(_ kind: WatchKind, path: String, connection: ConnectionID) -> Bool {
        guard self[keyPath: Self.table(kind)][path]?.remove(connection) != nil else { return false }
        if self[keyPath: Self.table(kind)][path]!.isEmpty { self[keyPath: Self.table(kind)][path] = nil }
        byConnection[connection]?[kind]?.remove(path)
        return true
    }

    /// Drops every watch of a closed connection.
    mutating func removeAll(for connection: ConnectionID) {
        guard let kinds = byConnection.removeValue(forKey: connection) else { return }
        for (kind, paths) in kinds {
            for path in paths {
                self[keyPath: Self.table(kind)][path]?.remove(connection)
                if self[keyPath: Self.table(kind)][path]?.isEmpty == true {
                    self[keyPath: Self.table(kind)][path] = nil
                }
            }
        }
    }

    /// The connections to notify of `type` on `path`, consuming the one-shot watches that fire. One entry per
    /// connection, even when it watched in several ways (so a deleted node yields one NodeDeleted).
    mutating func trigger(_ type: EventType, path: String) -> [ConnectionID] {
        var targets = Set<ConnectionID>()
        switch type {
        case .nodeCreated, .nodeDataChanged:
            targets.formUnion(consume(.data, path: path))
            targets.formUnion(persistentWatches[path] ?? [])
            collectRecursive(path: path, into: &targets)
        case .nodeDeleted:
            targets.formUnion(consume(.data, path: path))
            targets.formUnion(consume(.child, path: path))
            targets.formUnion(persistentWatches[path] ?? [])
            collectRecursive(path: path, into: &targets)
        case .nodeChildrenChanged:
            targets.formUnion(consume(.child, path: path))
            targets.formUnion(persistentWatches[path] ?? [])
        default:
            break
        }
        return targets.sorted()
    }

    /// The sizes of the watcher sets Apache's two watch tables find for an event, one per `triggerWatch` call its
    /// `DataTree` makes (for `node_*_watch_count`; Apache counts only the calls that find someone, so empty sets
    /// are left out). Apache keeps persistent and recursive watches in both tables: a deleted node is one call on
    /// each table, created and changed nodes one on the data table, changed children one on the child table (where
    /// recursive watches do not fire). Call before `trigger`, which consumes the one-shot watches.
    func apacheTriggerSizes(_ type: EventType, path: String) -> [Int] {
        let persistent = persistentWatches[path] ?? []
        var recursive = Set<ConnectionID>()
        collectRecursive(path: path, into: &recursive)
        let sizes: [Int]
        switch type {
        case .nodeCreated, .nodeDataChanged:
            sizes = [(dataWatches[path] ?? []).union(persistent).union(recursive).count]
        case .nodeDeleted:
            sizes = [
                (dataWatches[path] ?? []).union(persistent).union(recursive).count,
                (childWatches[path] ?? []).union(persistent).union(recursive).count,
            ]
        case .nodeChildrenChanged:
            sizes = [(childWatches[path] ?? []).union(persistent).count]
        default:
            sizes = []
        }
        return sizes.filter { $0 > 0 }
    }

    private mutating func consume(_ kind: WatchKind, path: String) -> Set<ConnectionID> {
        guard let watchers = self[keyPath: Self.table(kind)].removeValue(forKey: path) else { return [] }
        for connection in watchers {
            byConnection[connection]?[kind]?.remove(path)
        }
        return watchers
    }

    private func collectRecursive(path: String, into targets: inout Set<ConnectionID>) {
        if recursiveWatches.isEmpty { return }
        ZooKeeperPath.forEachPathUpToRoot(from: path) { ancestor in
            if let watchers = recursiveWatches[ancestor] { targets.formUnion(watchers) }
        }
    }

    /// Every connection holding a watch, from the per-path tables and from the per-connection index; the two
    /// must agree (checked by the fuzzer after every step).
    var watchingConnections: (byPath: Set<ConnectionID>, byConnection: Set<ConnectionID>) {
        var byPath = Set<ConnectionID>()
        for kind in WatchKind.allCases {
            for connections in self[keyPath: Self.table(kind)].values { byPath.formUnion(connections) }
        }
        let indexed = byConnection.filter { _, kinds in kinds.values.contains { !$0.isEmpty } }.keys
        return (byPath, Set(indexed))
    }

    // MARK: Reporting (wchs, wchc, wchp, mntr)

    /// The paths each connection watches in Apache's data table (data, exist, persistent and recursive watches).
    func dataTablePathsByConnection() -> [(ConnectionID, [String])] {
        byConnection.compactMap { connection, kinds in
            var paths = Set<String>()
            for kind in [WatchKind.data, .persistent, .persistentRecursive] { paths.formUnion(kinds[kind] ?? []) }
            return paths.isEmpty ? nil : (connection, paths.sorted())
        }.sorted { $0.0 < $1.0 }
    }

    /// The connections watching each path in Apache's data table.
    func dataTableConnectionsByPath() -> [(String, [ConnectionID])] {
        var result: [String: Set<ConnectionID>] = [:]
        for kind in [WatchKind.data, .persistent, .persistentRecursive] {
            for (path, connections) in self[keyPath: Self.table(kind)] {
                result[path, default: []].formUnion(connections)
            }
        }
        return result.map { ($0.key, $0.value.sorted()) }.sorted { $0.0 < $1.0 }
    }

    /// Watches counted as Apache's two tables count them (persistent kinds sit in both).
    var totalWatchCount: Int {
        var total = 0
        for kind in WatchKind.allCases {
            let pairs = self[keyPath: Self.table(kind)].values.reduce(0) { $0 + $1.count }
            switch kind {
            case .data, .child: total += pairs
            case .persistent, .persistentRecursive: total += 2 * pairs
            }
        }
        return total
    }
}
