/// A counting semaphore on the znode layout of Apache Curator's `InterProcessSemaphoreV2`: at most `maxLeases`
/// leases are held at once, by any mix of Swift and Java processes.
///
/// Layout under `path`: `locks/` is a Curator mutex (`_c_<uuid>-lock-<sequence>`) that serialises acquirers, and
/// `leases/` holds one ephemeral-sequential `_c_<uuid>-lease-<sequence>` node per lease. An acquirer takes the
/// mutex, adds its lease node, and waits (watching the lease children) until there are at most `maxLeases` of
/// them, then lets the mutex go. A lease lasts as long as its session. Not copied from Curator: a maximum kept in
/// a `SharedCount` (Curator's `SharedCountReader` constructor).
///
/// Each lease is held by a `DistributedLock` (`makeLeaseLock()`), so a lease can be used wherever a lock is: with
/// a timeout, cancellation, and `.lost` when its node or session goes.
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
    private nonisolated let data: [UInt8]?
    /// The locks holding this semaphore's leases, by lease node.
    private var heldLeases: [String: DistributedLock] = [:]
    private nonisolated var leasesPath: String { ZooKeeperPath.join(path, "leases") }

    /// A semaphore of `maxLeases` leases at `path`, used through `client`; each lease node holds `data`.
    public init(client: ZooKeeperClient, path: String, maxLeases: Int, data: [UInt8]? = nil) {
        self.client = client
        self.path = path
        self.maxLeases = max(1, maxLeases)
        self.data = data
    }

    /// A lock that holds one lease of this semaphore: `acquire()` takes a lease (waiting for room), `release()`
    /// gives it back, with the lock's events, timeouts and re-entrancy. Curator's `InterProcessSemaphoreMutex` is
    /// this with one lease.
    public nonisolated func makeLeaseLock() -> DistributedLock {
        DistributedLock(
            client: client, path: leasesPath, layout: .curator,
            naming: ContenderNaming(style: .curator, lockName: "lease-"),
            rule: .lease(maxLeases: maxLeases, entryPath: ZooKeeperPath.join(path, "locks")),
            parentMode: .container, data: data)
    }

    /// Acquires a lease, waiting as long as it takes (throws `cancelled` on cancellation).
    public func acquire() async throws(ZooKeeperError) -> Lease {
        let lock = makeLeaseLock()
        try await lock.acquire()
        return try await held(lock)
    }

    /// Acquires a lease within `timeout`; nil when the time ran out (nothing is left behind).
    public func acquire(timeout: Duration) async throws(ZooKeeperError) -> Lease? {
        let lock = makeLeaseLock()
        guard try await lock.acquire(timeout: timeout) else { return nil }
        return try await held(lock)
    }

    private func held(_ lock: DistributedLock) async throws(ZooKeeperError) -> Lease {
        guard let node = await lock.lockNode else {
            throw ZooKeeperError(.noNode, path: leasesPath, message: "the lease was lost as soon as it was acquired")
        }
        heldLeases[node] = lock
        return Lease(node: node)
    }

    /// Gives a lease back (deletes its node).
    public func release(_ lease: Lease) async throws(ZooKeeperError) {
        if let lock = heldLeases.removeValue(forKey: lease.node), await lock.isAcquired {
            try await lock.release()
        } else {
            try await client.deleteReliably(lease.node)
        }
    }

    /// The lease nodes held now.
    public func currentLeases() async throws(ZooKeeperError) -> [String] {
        do {
            return try await client.getChildren(leasesPath).sorted()
        } catch  where error.code == .noNode {
            return []
        }
    }
}
