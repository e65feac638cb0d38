/// Leader election on the znode layout of Apache Curator's `LeaderLatch`, so that Swift and Java participants
/// take part in one election.
///
/// Each participant creates an ephemeral-sequential node `_c_<uuid>-latch-<sequence>` under `path` holding its
/// id; the lowest sequence leads; every other participant watches the node just before its own.
///
/// Leadership is given up as soon as the connection is lost (Curator's default, "suspended" counts as lost),
/// because from then on the session may expire and another participant take over without this one knowing.
/// When the connection comes back with the same session, the participant looks again and leads again if its
/// node is still first. When the session expires, the latch stops (`state == .sessionLost`); start a new latch
/// on a new client to take part again.
public actor LeaderLatch {
    /// Where the latch stands in its life.
    public enum State: Sendable, Hashable {
        /// Not started yet.
        case latent
        /// Taking part in the election.
        case started
        /// Closed by its owner: its node is deleted.
        case closed
        /// The session expired or the client was closed: no longer taking part.
        case sessionLost
    }

    /// The client the recipe works through.
    public nonisolated let client: ZooKeeperClient
    /// The parent of the participants' latch nodes.
    public nonisolated let path: String
    /// The participant id, written into the latch node (as Curator's `LeaderLatch` id).
    public nonisolated let id: String
    /// Every change of `hasLeadership`: true when this participant becomes the leader, false when it stops
    /// being it (one consumer). Ends when the latch is closed or its session is lost.
    public nonisolated let leadershipChanges: AsyncStream<Bool>

    private let naming = ContenderNaming(style: .curator, lockName: "latch-")
    private let changes: AsyncStream<Bool>.Continuation
    /// Where the latch stands.
    public private(set) var state = State.latent
    /// Whether this participant leads now, as far as it knows.
    public private(set) var hasLeadership = false
    /// This participant's latch node while it takes part.
    public private(set) var ourNode: String?
    private var runner: Task<Void, Never>?
    private var leadershipWaiters: [CheckedContinuation<Void, Never>] = []

    /// A latch under `path` for the participant `id`, used through `client`; call `start()` to take part.
    public init(client: ZooKeeperClient, path: String, id: String = "") {
        self.client = client
        self.path = path
        self.id = id
        (leadershipChanges, changes) = AsyncStream.makeStream(of: Bool.self, bufferingPolicy: .bufferingNewest(1000))
    }

    deinit {
        runner?.cancel()
        changes.finish()
    }

    /// Creates this participant's node and takes part in the election until `close()` or the session's end.
    public func start() async throws(ZooKeeperError) {
        guard state == .latent else {
            throw ZooKeeperError(.invalidArgument, path: path, message: "the leader latch was already started")
        }
        ourNode = try await client.createContender(
            under: path, naming: naming, data: Array(id.utf8), parentMode: .container)
        state = .started
        runner = Task { await self.run() }
    }

    /// Leaves the election: gives up leadership and deletes this participant's node.
    public func close() async {
        guard state == .started || state == .latent else { return }
        state = .closed
        runner?.cancel()
        runner = nil
        setLeadership(false)
        if let node = ourNode {
            ourNode = nil
            try? await client.deleteReliably(node)
        }
        finish()
    }

    /// Waits until this participant leads (true), or `timeout` passes or the latch stops (false).
    public func waitForLeadership(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !hasLeadership {
            guard state == .started, ContinuousClock.now < deadline else { return false }
            let timer = Task { [weak self] in
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self?.wakeWaiters()
            }
            await withCheckedContinuation { leadershipWaiters.append($0) }
            timer.cancel()
        }
        return true
    }

    /// The current leader of the election at `path` (its latch node and id), or nil when nobody takes part.
    public static func leader(client: ZooKeeperClient, path: String) async throws(ZooKeeperError) -> LockContender? {
        try await participants(client: client, path: path).first
    }

    /// The participants of the election at `path`, the leader first.
    public static func participants(client: ZooKeeperClient, path: String) async throws(ZooKeeperError)
        -> [LockContender]
    {
        try await client.lockContenders(path).filter { $0.kind == .curatorLatch }
    }

    // MARK: The election

    private func run() async {
        while state == .started && !Task.isCancelled {
            do throws(ZooKeeperError) {
                try await checkLeadership()
            } catch  where error.code == .connectionLoss {
                setLeadership(false)
                try? await client.waitUntilConnected(timeout: client.negotiatedTimeout)
                if !client.state.isAlive { sessionEnded() }
            } catch  where error.code == .cancelled {
                return
            } catch {
                if !client.state.isAlive {
                    sessionEnded()
                } else {
                    // Unexpected (e.g. NoAuth): stop leading, look again after the next connection change.
                    setLeadership(false)
                    try? await client.waitUntilConnected(timeout: client.negotiatedTimeout)
                }
            }
        }
    }

    /// One look at the election: lead, or wait for the predecessor; returns when something changed.
    private func checkLeadership() async throws(ZooKeeperError) {
        guard let node = ourNode else {
            // Our node was lost (deleted by someone): join again at the end of the line, as Curator resets.
            ourNode = try await client.createContender(
                under: path, naming: naming, data: Array(id.utf8), parentMode: .container)
            return
        }
        let contenders = naming.sortedContenders(try await client.getChildren(path))
        let name = String(ZooKeeperPath.name(of: node))
        guard let index = contenders.firstIndex(of: name) else {
            setLeadership(false)
            ourNode = nil
            return
        }
        if index == 0 {
            setLeadership(true)
            try await holdLeadership(node: node)
        } else {
            setLeadership(false)
            let predecessor = ZooKeeperPath.join(path, contenders[index - 1])
            _ = try await RecipeWaiting.waitForChange(of: predecessor, client: client, deadline: nil)
        }
    }

    /// Leads until the connection is lost or the node is deleted; gives up leadership then.
    private func holdLeadership(node: String) async throws(ZooKeeperError) {
        let (stat, events) = try await client.existsAndWatch(node)
        guard stat != nil else {
            setLeadership(false)
            ourNode = nil
            return
        }
        for await event in events {
            switch (event.type, event.state) {
            case (.none, .disconnected):
                setLeadership(false)
                try await client.waitUntilConnected(timeout: client.negotiatedTimeout)
                return
            case (.none, .expired), (.none, .closed), (.none, .authFailed):
                setLeadership(false)
                throw ZooKeeperError(.sessionExpired, path: node)
            case (.none, _):
                continue
            case (.nodeDeleted, _):
                setLeadership(false)
                ourNode = nil
                return
            default:
                return  // data changed: look again (and re-arm)
            }
        }
        setLeadership(false)
        if Task.isCancelled { throw ZooKeeperError(.cancelled, path: node) }
        throw ZooKeeperError(.sessionExpired, path: node)
    }

    private func setLeadership(_ leads: Bool) {
        guard hasLeadership != leads else { return }
        hasLeadership = leads
        changes.yield(leads)
        wakeWaiters()
    }

    private func wakeWaiters() {
        let waiters = leadershipWaiters
        leadershipWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    private func sessionEnded() {
        setLeadership(false)
        state = .sessionLost
        ourNode = nil
        finish()
    }

    private func finish() {
        changes.finish()
        wakeWaiters()
    }
}
