/// A read-write lock on the znode layout of Apache Curator's `InterProcessReadWriteLock` or, with `Layout.kazoo`,
/// of kazoo's `ReadLock` and `WriteLock`.
///
/// Curator: readers create `_c_<uuid>-__READ__<sequence>` and writers `_c_<uuid>-__WRIT__<sequence>` under one
/// path. kazoo: readers create `<uuid hex>__rlock__<sequence>` and writers `<uuid hex>__lock__<sequence>` (the
/// node name of kazoo's plain `Lock`, so a kazoo `Lock` and a kazoo writer exclude each other). Either way the
/// contenders are ordered by sequence; a writer holds the lock when it is first of all; a reader holds it when no
/// writer is ahead of it, so readers share it and a waiting writer keeps later readers out (no writer starvation).
///
/// Each side is a `DistributedLock` (re-entrant per value, with the same events and timeouts). Not copied from
/// Curator: a holder of the write lock is not let into the read lock (Curator's downgrade by re-entrancy), so
/// acquiring the read lock while holding the write lock waits for that write lock (use a timeout).
public struct ReadWriteLock: Sendable {
    /// The shared side.
    public let readLock: DistributedLock
    /// The exclusive side.
    public let writeLock: DistributedLock

    static let curatorReadName = "__READ__"
    static let curatorWriteName = "__WRIT__"
    static let kazooReadName = "__rlock__"
    static let kazooWriteName = "__lock__"

    /// A read-write lock at `path` on Curator's layout (or kazoo's), used through `client`; each lock node holds
    /// `data` (by default the host name).
    public init(
        client: ZooKeeperClient, path: String, layout: DistributedLock.Layout = .curator, data: [UInt8]? = nil
    ) {
        let (style, readName, writeName, parentMode): (ContenderNaming.Style, String, String, CreateMode) =
            switch layout {
            case .curator: (.curator, Self.curatorReadName, Self.curatorWriteName, .container)
            case .kazoo: (.kazoo, Self.kazooReadName, Self.kazooWriteName, .persistent)
            }
        let peers = [readName, writeName]
        readLock = DistributedLock(
            client: client, path: path, layout: layout,
            naming: ContenderNaming(style: style, lockName: readName, peerNames: peers),
            rule: .shared(writerName: writeName), parentMode: parentMode, data: data)
        writeLock = DistributedLock(
            client: client, path: path, layout: layout,
            naming: ContenderNaming(style: style, lockName: writeName, peerNames: peers),
            rule: .exclusive, parentMode: parentMode, data: data)
    }
}
