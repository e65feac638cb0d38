/// A read-write lock on the znode layout of Apache Curator's `InterProcessReadWriteLock`: readers create
/// `_c_<uuid>-__READ__<sequence>` and writers `_c_<uuid>-__WRIT__<sequence>` under one path, ordered by sequence.
/// A writer holds the lock when it is first of all; a reader holds it when no writer is ahead of it, so readers
/// share it and a waiting writer keeps later readers out (no writer starvation).
///
/// Each side is a `DistributedLock` (re-entrant per value, with the same events and timeouts). Not copied from
/// Curator: a holder of the write lock is not let into the read lock (Curator's downgrade by re-entrancy), so
/// acquiring the read lock while holding the write lock waits for that write lock (use a timeout).
public struct ReadWriteLock: Sendable {
    /// The shared side.
    public let readLock: DistributedLock
    /// The exclusive side.
    public let writeLock: DistributedLock

    static let readName = "__READ__"
    static let writeName = "__WRIT__"

    /// A read-write lock at `path`, used through `client`; each lock node holds `data`.
    public init(client: ZooKeeperClient, path: String, data: [UInt8]? = nil) {
        let peers = [Self.readName, Self.writeName]
        readLock = DistributedLock(
            client: client, path: path, layout: .curator,
            naming: ContenderNaming(style: .curator, lockName: Self.readName, peerNames: peers),
            rule: .shared(writerName: Self.writeName), parentMode: .container, data: data)
        writeLock = DistributedLock(
            client: client, path: path, layout: .curator,
            naming: ContenderNaming(style: .curator, lockName: Self.writeName, peerNames: peers),
            rule: .exclusive, parentMode: .container, data: data)
    }
}
