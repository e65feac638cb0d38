import ZooKeeperProtocol

/// Quota statistics, kept as Apache's `DataTree` keeps them.
///
/// A path has a quota while its limits node `/zookeeper/quota<path>/zookeeper_limits` exists. Its statistics node
/// `/zookeeper/quota<path>/zookeeper_stats` holds `count=N,bytes=N` for the subtree (the node itself included):
/// set to the real figures when the statistics node is created, then moved by every create, delete and setData
/// under the deepest path with a quota, in place (the statistics node's version and mzxid do not change, as in
/// Apache). Nothing is logged for these updates: replaying the log repeats them, and recovery recomputes every
/// statistics node from the tree at the end (`rebuildQuotaStatistics`), as Apache does when it loads a snapshot.
extension DataTree {
    /// Apache's `PathTrie` key for a path: its components split on `/`, without empty or blank ones (Java's
    /// `trim().isEmpty()`: every code unit at most U+0020).
    static func quotaKey<Path: StringProtocol>(_ path: Path) -> String {
        var key = ""
        for component in path.split(separator: "/") where !isBlank(component) {
            key += "/" + component
        }
        return key.isEmpty ? "/" : key
    }

    private static func isBlank<Component: StringProtocol>(_ component: Component) -> Bool {
        component.utf16.allSatisfy { $0 <= 0x20 }
    }

    /// The deepest path with a quota that is `path` or one of its ancestors (Apache's `getMaxPrefixWithQuota`).
    /// The root never counts.
    func quotaRoot(of path: String) -> String? {
        if quotaRoots.isEmpty { return nil }
        var prefix = ""
        var deepest: String? = nil
        for component in path.split(separator: "/") where !Self.isBlank(component) {
            prefix += "/" + component
            if quotaRoots.contains(prefix) { deepest = prefix }
        }
        return deepest
    }

    /// The path a quota node under `/zookeeper/quota` belongs to: its parent's path with the quota prefix removed.
    /// Nil when `parentPath` is not `/zookeeper/quota` or under it.
    private static func quotaOwner(ofChildOf parentPath: Substring) -> Substring? {
        let prefix = QuotaPaths.quotaZookeeper
        guard parentPath.hasPrefix(prefix) else { return nil }
        let rest = parentPath.dropFirst(prefix.count)
        guard rest.isEmpty || rest.hasPrefix("/") else { return nil }
        return rest
    }

    // MARK: Hooks called by the mutations

    /// After a node was linked at `path` (the tail of Apache's `createNode`).
    mutating func quotaNodeCreated(path: String, data: [UInt8]?) {
        let name = ZooKeeperPath.name(of: path)
        if name == QuotaPaths.limitNode || name == QuotaPaths.statNode,
            let owner = Self.quotaOwner(ofChildOf: ZooKeeperPath.parent(of: path))
        {
            if name == QuotaPaths.limitNode {
                let key = Self.quotaKey(owner)
                if key != "/" { quotaRoots.insert(key) }
            } else {
                recomputeQuotaStatistics(of: String(owner), statisticsPath: path)
            }
        }
        if let root = quotaRoot(of: path) {
            addToQuotaStatistics(of: root, bytes: Int64(data?.count ?? 0), count: 1)
        }
    }

    /// After the node at `path` was unlinked (the tail of Apache's `deleteNode`).
    mutating func quotaNodeDeleted(path: String, data: [UInt8]?) {
        if ZooKeeperPath.name(of: path) == QuotaPaths.limitNode,
            let owner = Self.quotaOwner(ofChildOf: ZooKeeperPath.parent(of: path))
        {
            quotaRoots.remove(Self.quotaKey(owner))
        }
        if let root = quotaRoot(of: path) {
            addToQuotaStatistics(of: root, bytes: -Int64(data?.count ?? 0), count: -1)
        }
    }

    /// After a deleted node was put back (a failed multi): `quotaNodeDeleted` in reverse.
    mutating func quotaNodeRestored(path: String, data: [UInt8]?) {
        if let root = quotaRoot(of: path) {
            addToQuotaStatistics(of: root, bytes: Int64(data?.count ?? 0), count: 1)
        }
        if ZooKeeperPath.name(of: path) == QuotaPaths.limitNode,
            let owner = Self.quotaOwner(ofChildOf: ZooKeeperPath.parent(of: path))
        {
            let key = Self.quotaKey(owner)
            if key != "/" { quotaRoots.insert(key) }
        }
    }

    /// After the data at `path` changed size by `bytesDifference`.
    mutating func quotaDataChanged(path: String, bytesDifference: Int64) {
        if let root = quotaRoot(of: path) {
            addToQuotaStatistics(of: root, bytes: bytesDifference, count: 0)
        }
    }

    // MARK: Statistics nodes

    /// Apache's `updateQuotaStat`: adds to the figures in the statistics node of `root`, keeping any other keys.
    /// Statistics that are not quota text (a client wrote something else there) are left alone, where Apache
    /// would fail the transaction with an exception.
    private mutating func addToQuotaStatistics(of root: String, bytes: Int64, count: Int64) {
        guard !quotaStatisticsFrozen, let node = node(at: QuotaPaths.statPath(root)),
            var statistics = QuotaStats(data: node.data)
        else {
            return
        }
        statistics.count = statistics.count &+ count
        statistics.bytes = statistics.bytes &+ bytes
        replaceQuotaText(of: node, with: statistics)
    }

    /// Apache's `updateQuotaForPath`: the statistics node gets the real count and bytes of the subtree at
    /// `owner` (nothing when there is no node there).
    private mutating func recomputeQuotaStatistics(of owner: String, statisticsPath: String) {
        guard !quotaStatisticsFrozen, let statisticsNode = node(at: statisticsPath) else { return }
        var statistics = QuotaStats()
        statistics.count = 0
        statistics.bytes = 0
        if let subtree = node(at: owner) {
            var stack = [subtree]
            while let next = stack.popLast() {
                statistics.count += 1
                statistics.bytes += Int64(next.dataLength)
                stack.append(contentsOf: next.children)
            }
        }
        replaceQuotaText(of: statisticsNode, with: statistics)
    }

    /// Rewrites a statistics node's data in place: no new version or mzxid, as in Apache.
    private mutating func replaceQuotaText(of node: Znode, with statistics: QuotaStats) {
        quotaTextJournal?.append((node, node.data))
        setQuotaText(of: node, to: statistics.bytesValue)
    }

    /// Puts back a statistics node's text from the journal (taking back a failed multi in reverse order, so the
    /// node is in the tree as it was right after that rewrite). Recounting would not do: a missing key reads as -1
    /// and comes back written out, where Apache never applies a failed multi to its tree at all.
    mutating func setQuotaText(of node: Znode, to data: [UInt8]?) {
        approximateDataSize += (data?.count ?? 0) - node.dataLength
        node.data = data
    }

    /// Finds every quota from the limits nodes under `/zookeeper/quota` and sets each statistics node to the real
    /// figures of its subtree (Apache's `setupQuota`, run when a snapshot is loaded). Recovery calls it once the
    /// log is replayed, so that statistics agree with the tree whatever point a fuzzy snapshot caught them at.
    mutating func rebuildQuotaStatistics() {
        quotaRoots = []
        guard let quotaNode = node(at: QuotaPaths.quotaZookeeper) else { return }
        var owners: [String] = []
        var stack = [(quotaNode, QuotaPaths.quotaZookeeper)]
        while let (next, path) = stack.popLast() {
            for child in next.children {
                let name = child.name
                let childPath = path + "/" + name
                if name == QuotaPaths.limitNode, let owner = Self.quotaOwner(ofChildOf: Substring(path)) {
                    let key = Self.quotaKey(owner)
                    if key != "/" { quotaRoots.insert(key) }
                    owners.append(String(owner))
                }
                stack.append((child, childPath))
            }
        }
        for owner in owners {
            recomputeQuotaStatistics(
                of: owner, statisticsPath: QuotaPaths.quotaZookeeper + owner + "/" + QuotaPaths.statNode)
        }
    }
}

/// Apache's per-namespace quota gauges (`QuotaMetricsUtils`), by top-level znode.
struct QuotaFigures: Equatable {
    /// `quota_count_limit_per_namespace`, `quota_bytes_limit_per_namespace`: the hard limit of each quota where
    /// one is set, else its soft limit, summed over the quotas of the namespace.
    var countLimit: [String: Int64] = [:]
    var bytesLimit: [String: Int64] = [:]
    /// `quota_count_usage_per_namespace`, `quota_bytes_usage_per_namespace`: the statistics nodes' figures, summed.
    var countUsage: [String: Int64] = [:]
    var bytesUsage: [String: Int64] = [:]
}

extension DataTree {
    /// Reads every limits and statistics node under `/zookeeper/quota` (the leaves of that subtree, as Apache
    /// walks it) into per-namespace sums. Nodes whose text is not quota text are skipped.
    func quotaFigures() -> QuotaFigures {
        var figures = QuotaFigures()
        guard let quotaRoot = node(at: QuotaPaths.quotaZookeeper) else { return figures }
        var stack: [(String, Znode)] = [(QuotaPaths.quotaZookeeper, quotaRoot)]
        while let (path, node) = stack.popLast() {
            if node.childCount > 0 {
                for child in node.children { stack.append((path + "/" + child.name, child)) }
                continue
            }
            let name = ZooKeeperPath.name(of: path)
            let isLimits = name == QuotaPaths.limitNode
            guard isLimits || name == QuotaPaths.statNode else { continue }
            let quotaPath = ZooKeeperPath.parent(of: path).dropFirst(QuotaPaths.quotaZookeeper.count)
            guard let namespace = CoreActivity.topNamespace(of: String(quotaPath)),
                let stats = QuotaStats(data: node.data)
            else { continue }
            if isLimits {
                figures.countLimit[namespace, default: 0] +=
                    stats.countHardLimit > -1 ? stats.countHardLimit : stats.count
                figures.bytesLimit[namespace, default: 0] +=
                    stats.byteHardLimit > -1 ? stats.byteHardLimit : stats.bytes
            } else {
                figures.countUsage[namespace, default: 0] += stats.count
                figures.bytesUsage[namespace, default: 0] += stats.bytes
            }
        }
        return figures
    }
}
