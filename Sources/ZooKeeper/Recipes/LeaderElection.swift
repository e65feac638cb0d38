/// Leader election that runs work while leading, on the znode layout of Apache Curator's `LeaderSelector`: the
/// participants contend for a Curator mutex at `path` (`_c_<uuid>-lock-<sequence>` nodes holding each
/// participant's id), and the holder leads.
///
/// `lead(_:)` waits for leadership, runs its body, and gives leadership up when the body returns (to lead again,
/// call it again: Curator's `autoRequeue`). When the connection drops or the session is lost while the body
/// runs, the body's task is cancelled (as Curator's `LeaderSelectorListenerAdapter` interrupts the leader) and
/// `lead` throws.
public struct LeaderElection: Sendable {
    /// The client the recipe works through.
    public let client: ZooKeeperClient
    /// The parent of the participants' nodes.
    public let path: String
    /// This participant's id, written into its node.
    public let id: String

    /// An election under `path` for the participant `id`, used through `client`.
    public init(client: ZooKeeperClient, path: String, id: String) {
        self.client = client
        self.path = path
        self.id = id
    }

    /// Waits to lead, then runs `body` while leading. Throws `connectionLoss` (the connection dropped) or
    /// `sessionExpired` (the lock is gone) if leadership was lost while `body` ran; `body`'s task is cancelled
    /// then, and its own error or result is dropped.
    public func lead<Result: Sendable>(_ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let lock = DistributedLock(client: client, path: path, data: Array(id.utf8))
        try await lock.acquire()
        typealias Outcome = LeadershipOutcome<Result>
        let path = self.path
        let outcome = await withTaskGroup(of: Outcome?.self) { group in
            group.addTask {
                do {
                    return .finished(.success(try await body()))
                } catch {
                    return .finished(.failure(error))
                }
            }
            group.addTask {
                for await event in lock.events {
                    switch event {
                    case .suspended: return .lost(.connectionLoss)
                    case .lost: return .lost(.sessionExpired)
                    case .acquired, .reconnected, .released: continue
                    }
                }
                return nil  // cancelled: the body finished first
            }
            var first: Outcome?
            while first == nil, let next = await group.next() {
                first = next
            }
            group.cancelAll()
            return first
        }
        try? await lock.release()
        switch outcome {
        case .finished(let result)?:
            return try result.get()
        case .lost(let code)?:
            throw ZooKeeperError(code, path: path, message: "leadership of \(path) was lost while leading")
        case nil:
            throw ZooKeeperError(.cancelled, path: path)
        }
    }

    /// The current leader of the election at `path` (its node and id), or nil when nobody takes part.
    public static func leader(client: ZooKeeperClient, path: String) async throws(ZooKeeperError) -> LockContender? {
        try await participants(client: client, path: path).first
    }

    /// The participants, the leader first.
    public static func participants(client: ZooKeeperClient, path: String) async throws(ZooKeeperError)
        -> [LockContender]
    {
        try await client.lockContenders(path).filter { $0.kind == .curatorLock }
    }
}

/// How a term of leadership ended: the body finished, or leadership was lost first.
private enum LeadershipOutcome<Value: Sendable>: Sendable {
    case finished(Result<Value, any Error>)
    case lost(ZooKeeperError.Code)
}
