import ZooKeeperProtocol

/// What the core counts for `mntr` and `/metrics` besides the network's statistics, as Apache's `DataTree`,
/// `WatchManager`, `ZKDatabase` and `FileTxnSnapLog` count it: the start-up timings, the sizes of the watcher sets
/// each event finds, and the bytes read and written per top-level znode ("namespace").
struct CoreActivity {
    /// Apache's `DataTree.STAT_OVERHEAD_BYTES`: what a read's stat adds to its per-namespace bytes.
    static let statOverheadBytes: Int64 = 68
    /// Recent observations a per-namespace summary keeps for its median: there is one per top-level znode, so
    /// each keeps fewer than the server-wide summaries do.
    static let namespaceCapacity = 256

    /// Apache's `dbinittime`: ms to recover the state at start-up (snapshot and log).
    var databaseInitTime = QuantileSummary()
    /// `startup_snap_load_time`: ms to find and read the newest valid snapshot (observed at every durable start).
    var snapshotLoadTime = QuantileSummary()
    /// `startup_txns_load_time` and `startup_txns_loaded`: the replay of the log after the snapshot, observed when
    /// it held at least one transaction (Apache returns before observing when the log is empty).
    var transactionsLoadTime = QuantileSummary()
    var transactionsLoaded = QuantileSummary()
    /// `node_created_watch_count` and its siblings: how many connections one event was delivered to, per trigger
    /// of one of Apache's two watch tables that found any.
    var nodeCreatedWatchCount = QuantileSummary()
    var nodeDeletedWatchCount = QuantileSummary()
    var nodeChangedWatchCount = QuantileSummary()
    var nodeChildrenWatchCount = QuantileSummary()
    /// `<namespace>_write_per_namespace`: path length plus data bytes of each create, setData and delete
    /// (replayed ones included, as Apache's data tree counts them at start-up too).
    var writesPerNamespace: [String: QuantileSummary] = [:]
    /// `<namespace>_read_per_namespace`: path length, data or child-name bytes and the stat's overhead of each
    /// getData, exists and getChildren that found its node.
    var readsPerNamespace: [String: QuantileSummary] = [:]
    /// `<namespace>_quota_exceeded_error_per_namespace`: writes refused with QuotaExceeded.
    var quotaExceededPerNamespace: [String: Int64] = [:]
    /// Writes applied inside a transaction that may still be taken back (a multi validated as it is applied):
    /// counted once the transaction stands.
    private var pendingWrites: [(namespace: String, bytes: Int64)] = []

    /// Apache's `PathUtils.getTopNamespace`: the first component of the path; nil for `/`.
    static func topNamespace(of path: String) -> String? {
        // Every read goes through here: a plain byte scan of the contiguous UTF-8 that every native string has
        // (the generic `firstIndex(of:)` over `String.UTF8View` cost about 1,000 instructions per read).
        let found = path.utf8.withContiguousStorageIfAvailable { bytes -> String? in
            guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else { return nil }
            let start = slash + 1
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "/") { end += 1 }
            guard start < end else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        if let found { return found }
        let utf8 = path.utf8
        guard let slash = utf8.firstIndex(of: UInt8(ascii: "/")) else { return nil }
        let start = utf8.index(after: slash)
        let end = utf8[start...].firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
        guard start < end else { return nil }
        return String(path[start..<end])
    }

    /// Java's `String.length()` (UTF-16 units), the length Apache adds.
    static func javaLength(_ text: some StringProtocol) -> Int64 { Int64(text.utf16.count) }

    mutating func recordWrite(path: String, dataBytes: Int) {
        guard let namespace = Self.topNamespace(of: path) else { return }
        pendingWrites.append((namespace, Self.javaLength(path) + Int64(dataBytes)))
    }

    /// The transaction that made the pending writes stands.
    mutating func commitWrites(at now: Int64) {
        for (namespace, bytes) in pendingWrites {
            writesPerNamespace[namespace, default: QuantileSummary(capacity: Self.namespaceCapacity)]
                .observe(bytes, at: now)
        }
        pendingWrites.removeAll(keepingCapacity: true)
    }

    /// The pending writes were taken back (a multi failed).
    mutating func discardWrites() { pendingWrites.removeAll(keepingCapacity: true) }

    mutating func recordRead(path: String, bytes: Int64, at now: Int64) {
        guard let namespace = Self.topNamespace(of: path) else { return }
        readsPerNamespace[namespace, default: QuantileSummary(capacity: Self.namespaceCapacity)]
            .observe(Self.javaLength(path) + bytes + Self.statOverheadBytes, at: now)
    }

    mutating func recordQuotaExceeded(path: String) {
        guard let namespace = Self.topNamespace(of: path) else { return }
        quotaExceededPerNamespace[namespace, default: 0] += 1
    }

    /// One trigger of a watch table that found `watchers` connections (Apache counts only non-empty ones).
    mutating func recordWatchTrigger(_ type: EventType, watchers: Int, at now: Int64) {
        guard watchers > 0 else { return }
        switch type {
        case .nodeCreated: nodeCreatedWatchCount.observe(Int64(watchers), at: now)
        case .nodeDeleted: nodeDeletedWatchCount.observe(Int64(watchers), at: now)
        case .nodeDataChanged: nodeChangedWatchCount.observe(Int64(watchers), at: now)
        case .nodeChildrenChanged: nodeChildrenWatchCount.observe(Int64(watchers), at: now)
        default: break
        }
    }

    /// A durable start: the whole recovery, the snapshot's part, and the log's part when it replayed anything.
    mutating func recordStartup(
        total: Int64, snapshotLoad: Int64, transactionsLoad: Int64, transactionsReplayed: Int, at now: Int64
    ) {
        snapshotLoadTime.observe(snapshotLoad, at: now)
        if transactionsReplayed > 0 {
            transactionsLoadTime.observe(transactionsLoad, at: now)
            transactionsLoaded.observe(Int64(transactionsReplayed), at: now)
        }
        databaseInitTime.observe(total, at: now)
    }

    /// `srst`: `mntr`'s figures start again, as Apache's `ServerMetrics.resetAll` restarts its summaries.
    mutating func restartMonitorFigures(at now: Int64) {
        for keyPath in Self.summaries.map(\.1) { self[keyPath: keyPath].restartMonitorFigures(at: now) }
        for namespace in writesPerNamespace.keys { writesPerNamespace[namespace]!.restartMonitorFigures(at: now) }
        for namespace in readsPerNamespace.keys { readsPerNamespace[namespace]!.restartMonitorFigures(at: now) }
        for namespace in quotaExceededPerNamespace.keys { quotaExceededPerNamespace[namespace] = 0 }
    }

    /// The single summaries, by Apache's name, in the order zkserver reports them.
    static var summaries: [(String, WritableKeyPath<CoreActivity, QuantileSummary>)] {
        [
            ("dbinittime", \.databaseInitTime),
            ("startup_snap_load_time", \.snapshotLoadTime),
            ("startup_txns_load_time", \.transactionsLoadTime),
            ("startup_txns_loaded", \.transactionsLoaded),
            ("node_created_watch_count", \.nodeCreatedWatchCount),
            ("node_deleted_watch_count", \.nodeDeletedWatchCount),
            ("node_changed_watch_count", \.nodeChangedWatchCount),
            ("node_children_watch_count", \.nodeChildrenWatchCount),
        ]
    }
}
