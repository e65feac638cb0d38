/// One participant of a lock, latch or semaphore, as read from its node.
public struct LockContender: Sendable, Hashable {
    /// Which recipe and layout the node belongs to.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Curator `InterProcessMutex` (`…lock-<seq>`), also this library's `DistributedLock`.
        case curatorLock
        /// Curator `InterProcessReadWriteLock` read side (`…__READ__<seq>`).
        case curatorRead
        /// Curator `InterProcessReadWriteLock` write side (`…__WRIT__<seq>`).
        case curatorWrite
        /// Curator `LeaderLatch` (`…latch-<seq>`), also this library's `LeaderLatch`.
        case curatorLatch
        /// A lease of Curator's `InterProcessSemaphoreV2` (`…lease-<seq>` under the semaphore's `leases`), also
        /// this library's `Semaphore`: every lease node is a holder.
        case curatorLease
        /// kazoo `Lock` or `WriteLock` (`<hex>__lock__<seq>`).
        case kazooLock
        /// kazoo `ReadLock` (`<hex>__rlock__<seq>`).
        case kazooRead

        fileprivate var marker: String {
            switch self {
            case .curatorLock: "lock-"
            case .curatorRead: "__READ__"
            case .curatorWrite: "__WRIT__"
            case .curatorLatch: "latch-"
            case .curatorLease: "lease-"
            case .kazooLock: "__lock__"
            case .kazooRead: "__rlock__"
            }
        }

        fileprivate var style: ContenderNaming.Style {
            switch self {
            case .curatorLock, .curatorRead, .curatorWrite, .curatorLatch, .curatorLease: .curator
            case .kazooLock, .kazooRead: .kazoo
            }
        }

        /// Whether holders of this kind share the lock with each other.
        fileprivate var isShared: Bool {
            switch self {
            case .curatorRead, .kazooRead, .curatorLease: true
            case .curatorLock, .curatorWrite, .curatorLatch, .kazooLock: false
            }
        }

        /// The most specific kind a child name matches (kazoo's markers before Curator's `lock-`).
        static func of(_ name: String) -> (Kind, String)? {
            for kind in [
                Kind.kazooRead, .kazooLock, .curatorRead, .curatorWrite, .curatorLatch, .curatorLease, .curatorLock,
            ] {
                if let sequence = ContenderNaming.sequence(of: name, after: kind.marker, style: kind.style) {
                    return (kind, sequence)
                }
            }
            return nil
        }
    }

    /// The node's full path.
    public var node: String
    /// Whether the node is a reader's or a writer's (or a plain lock's).
    public var kind: Kind
    /// The sequence number from the node's name.
    public var sequence: String
    /// The session that owns the (ephemeral) node.
    public var sessionID: Int64
    /// The node's data: Curator writes the host's address (or a latch's participant id), kazoo its identifier.
    public var data: [UInt8]?
    /// When the node was created (milliseconds since the epoch, the server's clock).
    public var since: Int64
    /// The zxid that created the node: a fencing token that grows with each holder.
    public var creationZxid: Int64
    /// Whether this contender holds the lock (for a latch: leads) rather than waits.
    public var isHolder: Bool

    /// The data as text (a host, an identifier), when it is UTF-8.
    public var owner: String? {
        guard let data, !data.isEmpty else { return nil }
        return String(validating: data, as: UTF8.self)
    }
}

extension ZooKeeperClient {
    /// The contenders of the lock (or latch) at `path`, holders first then waiters in order, for Curator's and
    /// kazoo's layouts. Exclusive kinds: the first holds. Read kinds: every reader before the first writer
    /// holds. Returns an empty list when the path does not exist.
    public func lockContenders(_ path: String) async throws(ZooKeeperError) -> [LockContender] {
        let children: [String]
        do {
            children = try await getChildren(path)
        } catch  where error.code == .noNode {
            return []
        }
        let ordered = children.compactMap { name in LockContender.Kind.of(name).map { (name, $0.0, $0.1) } }
            .sorted { $0.2 < $1.2 }
        var contenders: [LockContender] = []
        var exclusiveSeen = false
        for (name, kind, sequence) in ordered {
            let node = ZooKeeperPath.join(path, name)
            let read: (data: [UInt8]?, stat: Stat)
            do {
                read = try await getData(node)
            } catch  where error.code == .noNode {
                continue  // gone meanwhile
            }
            let holds = kind.isShared ? !exclusiveSeen : (!exclusiveSeen && contenders.isEmpty)
            if !kind.isShared { exclusiveSeen = true }
            contenders.append(
                LockContender(
                    node: node, kind: kind, sequence: sequence, sessionID: read.stat.ephemeralOwner,
                    data: read.data, since: read.stat.ctime, creationZxid: read.stat.czxid, isHolder: holds))
        }
        return contenders
    }
}
