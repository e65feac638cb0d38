/// A counting semaphore on the znode layout of Apache Curator's `InterProcessSemaphoreV2`: at most `maxLeases`
/// leases are held at once, by any mix of Swift and Java processes.
///
/// Layout under `path`: `locks/` is a Curator mutex (`_c_<uuid>-lock-<sequence>`) that serialises acquirers, and
/// `leases/` holds one ephemeral-sequential `_c_<uuid>-lease-<sequence>` node per lease. An acquirer takes the
/// mutex, adds its lease node, and waits (watching the lease children) until there are at most `maxLeases` of
/// them, then lets the mutex go. A lease lasts as long as its session. Not copied from Curator: a maximum kept in
/// a `SharedCount` (Curator's `SharedCountReader` constructor).
public actor Semaphore {
    /// A held lease; give it back with `release(_:)`.
    public struct Lease: Sendable, Hashable {
        /// The lease node's path.
        public let node: String
    }

    /// The client the recipe works through.
    public nonisolated let client: ZooKeeperClient
    /// The semaphore's node (leases and its mutex live under it).
    public nonisolated let path: String
    /// How many leases may be held at once.
    public nonisolated let maxLeases: Int
    private let data: [UInt8]?
    private let mutex: DistributedLock
    private var leasesPath: String { ZooKeeperPath.join(path, "leases") }

    /// A semaphore of `maxLeases` leases at `path`, used through `client`; each lease node holds `data`.
    public init(client: ZooKeeperClient, path: String, maxLeases: Int, data: [UInt8]? = nil) {
        self.client = client
        self.path = path
        self.maxLeases = max(1, maxLeases)
        self.data = data ?? Array(LocalHost.name.utf8)
        mutex = DistributedLock(client: client, path: ZooKeeperPath.join(path, "locks"))
    }

    /// Acquires a lease, waiting as long as it takes (throws `cancelled` on cancellation).
    public func acquire() async throws(ZooKeeperError) -> Lease {
        guard let lease = try await acquire(deadline: nil) else { throw ZooKeeperError(.cancelled, path: path) }
        return lease
    }

    /// Acquires a lease within `timeout`; nil when the time ran out (nothing is left behind).
    public func acquire(timeout: Duration) async throws(ZooKeeperError) -> Lease? {
        try await acquire(deadline: .now + timeout)
    }

    /// Gives a lease back (deletes its node).
    public func release(_ lease: Lease) async throws(ZooKeeperError) {
        try await client.deleteReliably(lease.node)
    }

    /// The lease nodes held now.
    public func currentLeases() async throws(ZooKeeperError) -> [String] {
        do {
            return try await client.getChildren(leasesPath).sorted()
        } catch  where error.code == .noNode {
            return []
        }
    }

    private func acquire(deadline: ContinuousClock.Instant?) async throws(ZooKeeperError) -> Lease? {
        let gotMutex: Bool
        if let deadline {
            gotMutex = try await mutex.acquire(timeout: deadline - .now)
        } else {
            try await mutex.acquire()
            gotMutex = true
        }
        guard gotMutex else { return nil }
        do throws(ZooKeeperError) {
            let lease = try await addLease(deadline: deadline)
            try await mutex.release()
            return lease
        } catch {
            try? await mutex.release()
            throw error
        }
    }

    private func addLease(deadline: ContinuousClock.Instant?) async throws(ZooKeeperError) -> Lease? {
        let naming = ContenderNaming(style: .curator, lockName: "lease-")
        let node = try await client.createContender(
            under: leasesPath, naming: naming, data: data, parentMode: .container)
        let name = String(ZooKeeperPath.name(of: node))
        do throws(ZooKeeperError) {
            while true {
                let (children, _, events) = try await client.getChildrenAndWatch(leasesPath)
                guard children.contains(name) else {
                    throw ZooKeeperError(.noNode, path: node, message: "the lease node \(node) is gone")
                }
                if children.count <= maxLeases { return Lease(node: node) }
                switch try await RecipeWaiting.firstChange(in: events, path: leasesPath, deadline: deadline) {
                case .changed: continue
                case .timedOut:
                    try? await client.deleteReliably(node)
                    return nil
                }
            }
        } catch {
            try? await client.deleteReliably(node)
            throw error
        }
    }
}
