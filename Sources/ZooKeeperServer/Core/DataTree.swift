import ZooKeeperProtocol

/// What a node's raw ephemeral owner encodes (Apache's `EphemeralType`).
enum EphemeralKind: Equatable {
    case persistent
    case session(Int64)
    case container
    case ttl(Int64)

    static let containerMarker = Int64(bitPattern: 0x8000_0000_0000_0000)
    static let ttlMarker = Int64(bitPattern: 0xFF00_0000_0000_0000)
    static let maximumTTL: Int64 = 0xFF_FFFF_FFFF

    init(rawOwner: Int64) {
        if rawOwner == 0 {
            self = .persistent
        } else if rawOwner == Self.containerMarker {
            self = .container
        } else if rawOwner & Self.ttlMarker == Self.ttlMarker {
            self = .ttl(rawOwner & Self.maximumTTL)
        } else {
            self = .session(rawOwner)
        }
    }

    var rawOwner: Int64 {
        switch self {
        case .persistent: 0
        case .session(let id): id
        case .container: Self.containerMarker
        case .ttl(let ttl): Self.ttlMarker | ttl
        }
    }

    /// Clients see the session id for ephemerals and 0 for everything else.
    var clientVisibleOwner: Int64 {
        switch self {
        case .session(let id): id
        case .persistent, .container, .ttl: 0
        }
    }
}

/// The znode tree: lookups, the raw mutations that transactions apply, and the indexes the server needs
/// (ephemerals per session, containers and TTL nodes, node count, approximate data size).
///
/// Validation and permission checks live in the request processor; these mutations assume they passed.
struct DataTree {
    let root: Znode
    var aclCache = ACLCache()
    /// Ephemeral paths per owning session.
    private(set) var ephemerals: [Int64: Set<String>] = [:]
    /// Paths of containers and TTL nodes, checked by the container sweep.
    private(set) var containersAndTTLNodes: Set<String> = []
    /// Every node, including the root.
    private(set) var nodeCount = 0
    /// Path lengths plus data lengths, as Apache's `approximateDataSize`.
    var approximateDataSize = 0
    /// The paths that have a quota (Apache's `pTrie`), kept by the quota hooks in `DataTree+Quotas.swift`.
    var quotaRoots: Set<String> = []
    /// While a multi runs: every rewrite of a statistics node, with the text it replaced, in order, for the multi's
    /// undo list (`DataTree+Quotas.swift`). Nil outside a multi.
    var quotaTextJournal: [(node: Znode, data: [UInt8]?)]?
    /// While a failed multi is taken back: the statistics are put back from the journal, not recounted.
    var quotaStatisticsFrozen = false

    static let specialPaths: Set<String> = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]

    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota`, and `/zookeeper/config` (world-readable, aversion -1).
    init() {
        var cache = ACLCache()
        let open = cache.retain(ACL.openUnsafe)
        root = Znode(name: "", zxid: 0, time: 0, data: [], aclIndex: open, ephemeralOwner: 0)
        let zookeeper = Znode(
            name: "zookeeper", zxid: 0, time: 0, data: [], aclIndex: cache.retain(ACL.openUnsafe), ephemeralOwner: 0)
        let quota = Znode(
            name: "quota", zxid: 0, time: 0, data: [], aclIndex: cache.retain(ACL.openUnsafe), ephemeralOwner: 0)
        let config = Znode(
            name: "config", zxid: 0, time: 0, data: [], aclIndex: cache.retain(ACL.readUnsafe), ephemeralOwner: 0)
        config.aversion = -1
        root.insertChild(zookeeper)
        zookeeper.insertChild(quota)
        zookeeper.insertChild(config)
        aclCache = cache
        nodeCount = 4
        // Apache's figure for a fresh tree is 44: the three paths plus one for the root.
        approximateDataSize =
            1 + "/zookeeper".utf8.count + "/zookeeper/quota".utf8.count + "/zookeeper/config".utf8.count
    }

    // MARK: Lookup

    /// The node at `path`, or nil. Only canonical absolute paths match: `abc`, `/a/`, `/a//b` find nothing.
    func node(at path: String) -> Znode? {
        var utf8 = path.utf8[...]
        guard utf8.first == UInt8(ascii: "/") else { return nil }
        if utf8.count == 1 { return root }
        utf8 = utf8.dropFirst()
        var current = root
        while true {
            let end = utf8.firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            let component = utf8[utf8.startIndex..<end]
            guard !component.isEmpty, let child = current.child(named: Substring(component)) else {
                return nil
            }
            current = child
            if end == utf8.endIndex { return current }
            utf8 = utf8[utf8.index(after: end)...]
        }
    }

    func acl(of node: Znode) -> [ACL] { aclCache.acl(at: node.aclIndex) }

    /// Every path under `path` (excluding it), depth first. For getAllChildrenNumber and the dump commands.
    func descendantCount(of node: Znode) -> Int {
        var count = 0
        var stack = [node]
        while let next = stack.popLast() {
            count += next.childCount
            stack.append(contentsOf: next.children)
        }
        return count
    }

    // MARK: Mutations (applied by transactions)

    /// Adds a child under an existing parent and sets the parent's child-creation count to
    /// `parentChildCreations`. A node already at `path` is replaced with its subtree: that only happens when a
    /// log is replayed over a fuzzy snapshot that already holds a later version of the node, whose own changes
    /// follow in the log.
    mutating func insert(
        path: String, data: [UInt8]?, acl: [ACL], ephemeralOwner: Int64, zxid: Int64, time: Int64,
        parentChildCreations: Int32
    ) {
        guard let parent = node(at: String(ZooKeeperPath.parent(of: path))) else { return }
        insert(
            path: path, under: parent, data: data, acl: acl, ephemeralOwner: ephemeralOwner, zxid: zxid, time: time,
            parentChildCreations: parentChildCreations)
    }

    /// `insert` when the caller has already looked the parent up.
    mutating func insert(
        path: String, under parent: Znode, data: [UInt8]?, acl: [ACL], ephemeralOwner: Int64, zxid: Int64,
        time: Int64, parentChildCreations: Int32
    ) {
        let name = ZooKeeperPath.name(of: path)
        if let existing = parent.child(named: name) {
            // Forgotten while still linked, as the quota hooks expect.
            forgetSubtree(existing, path: path)
        }
        let node = Znode(
            name: name, zxid: zxid, time: time, data: data, aclIndex: aclCache.retain(acl),
            ephemeralOwner: ephemeralOwner)
        parent.insertChild(node)
        parent.childCreations = parentChildCreations
        // Never lowered: a replay over a fuzzy snapshot can meet a parent the snapshot holds as it was after a
        // later change to its children.
        parent.pzxid = max(parent.pzxid, zxid)
        nodeCount += 1
        approximateDataSize += path.utf8.count + (data?.count ?? 0)
        index(path: path, kind: node.kind)
        quotaNodeCreated(path: path, data: data)
    }

    /// Removes a node (with its subtree, which only a replay over a fuzzy snapshot can meet). Returns it and
    /// its ACL, or nil when it was not there.
    @discardableResult
    mutating func remove(path: String, zxid: Int64) -> (Znode, [ACL])? {
        let parentPath = String(ZooKeeperPath.parent(of: path))
        guard let parent = node(at: parentPath), let node = parent.removeChild(named: ZooKeeperPath.name(of: path))
        else { return nil }
        parent.pzxid = max(parent.pzxid, zxid)
        let acl = aclCache.acl(at: node.aclIndex)
        forgetSubtree(node, path: path)
        return (node, acl)
    }

    /// Drops the counts, ACL references and indexes of `node` and everything under it (already unlinked).
    private mutating func forgetSubtree(_ node: Znode, path: String) {
        var stack = [(node, path)]
        while let (next, nextPath) = stack.popLast() {
            for child in next.children { stack.append((child, nextPath + "/" + child.name)) }
            nodeCount -= 1
            approximateDataSize -= nextPath.utf8.count + next.dataLength
            aclCache.release(next.aclIndex)
            unindex(path: nextPath, kind: next.kind)
            quotaNodeDeleted(path: nextPath, data: next.data)
        }
    }

    /// Puts back a node removed by `remove` (undoing a delete inside a failed multi).
    mutating func restore(path: String, node: Znode, acl: [ACL]) {
        guard let parent = self.node(at: String(ZooKeeperPath.parent(of: path))) else { return }
        node.aclIndex = aclCache.retain(acl)
        parent.insertChild(node)
        nodeCount += 1
        approximateDataSize += path.utf8.count + node.dataLength
        index(path: path, kind: node.kind)
        quotaNodeRestored(path: path, data: node.data)
    }

    mutating func setData(
        _ node: Znode, path: String, data: [UInt8]?, version: Int32, zxid: Int64, time: Int64
    ) {
        let bytesDifference = (data?.count ?? 0) - node.dataLength
        approximateDataSize += bytesDifference
        node.data = data
        node.version = version
        node.mzxid = zxid
        node.mtime = time
        quotaDataChanged(path: path, bytesDifference: Int64(bytesDifference))
    }

    mutating func setACL(_ node: Znode, acl: [ACL], aversion: Int32) {
        let index = aclCache.retain(acl)
        aclCache.release(node.aclIndex)
        node.aclIndex = index
        node.aversion = aversion
    }

    // MARK: Restoring from a snapshot

    /// A tree holding only `root`, under which a snapshot's nodes are then linked and counted (`countRestored`).
    init(restoredRoot root: Znode, aclCache: ACLCache) {
        self.root = root
        self.aclCache = aclCache
        nodeCount = 1
        approximateDataSize = 1 + root.dataLength
    }

    /// Counts a node read from a snapshot and already linked under its parent (its ACL reference already counted
    /// in `aclCache`). `path` builds its path only for the nodes that the indexes keep (ephemerals, containers
    /// and TTL nodes), so that the load of a large tree builds no path strings for the others.
    mutating func countRestored(_ node: Znode, pathLength: Int, path: () -> String) {
        nodeCount += 1
        approximateDataSize += pathLength + node.dataLength
        let kind = node.kind
        if kind != .persistent { index(path: path(), kind: kind) }
    }

    private mutating func index(path: String, kind: EphemeralKind) {
        switch kind {
        case .persistent: break
        case .session(let id): ephemerals[id, default: []].insert(path)
        case .container, .ttl: containersAndTTLNodes.insert(path)
        }
    }

    private mutating func unindex(path: String, kind: EphemeralKind) {
        switch kind {
        case .persistent: break
        case .session(let id):
            ephemerals[id]?.remove(path)
            if ephemerals[id]?.isEmpty == true { ephemerals[id] = nil }
        case .container, .ttl: containersAndTTLNodes.remove(path)
        }
    }

    /// Apache's `%010d` for the sequence suffix: zero-padded to 10 characters, sign included.
    static func sequenceSuffix(_ value: Int32) -> String {
        let digits = String(value.magnitude)
        if value < 0 {
            return "-" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits
        }
        return String(repeating: "0", count: max(0, 10 - digits.count)) + digits
    }
}
