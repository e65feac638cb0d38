/// A barrier on the layout of Apache Curator's `DistributedBarrier`: while the node at `path` exists, waiters
/// wait; removing it lets them all through.
public struct Barrier: Sendable {
    /// The client the recipe works through.
    public let client: ZooKeeperClient
    /// The barrier's node.
    public let path: String

    /// A barrier at `path`, used through `client`.
    public init(client: ZooKeeperClient, path: String) {
        self.client = client
        self.path = path
    }

    /// Raises the barrier (creates its node; parents become containers). Raising it twice is not an error.
    public func set() async throws(ZooKeeperError) {
        do {
            _ = try await client.createCreatingParents(path, data: nil, mode: .persistent, parentMode: .container)
        } catch  where error.code == .nodeExists {
        }
    }

    /// Lowers the barrier: every waiter goes through.
    public func remove() async throws(ZooKeeperError) {
        try await client.deleteReliably(path)
    }

    /// Waits until the barrier is down (true) or `timeout` passes (false).
    public func wait(timeout: Duration? = nil) async throws(ZooKeeperError) -> Bool {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            let (stat, events) = try await client.existsAndWatch(path)
            guard stat != nil else { return true }
            switch try await RecipeWaiting.firstChange(in: events, path: path, deadline: deadline) {
            case .changed: continue
            case .timedOut: return false
            }
        }
    }
}

/// A double barrier on the layout of Apache Curator's `DistributedDoubleBarrier`: members enter together once
/// `memberCount` of them are there, and leave together once all have left.
///
/// Layout under `path`: each member's ephemeral node is named by a random UUID; the member that completes the
/// count creates `ready`, which lets the others in. Leaving follows Curator's order: the lowest-named member waits
/// for the highest to go, every other member deletes its node and waits for the lowest; `ready` is removed at the
/// end.
public actor DoubleBarrier {
    /// The client the recipe works through.
    public nonisolated let client: ZooKeeperClient
    /// The parent of the members' nodes.
    public nonisolated let path: String
    /// How many members enter and leave together.
    public nonisolated let memberCount: Int
    private let ourName = RandomUUID.string()
    private var readyPath: String { ZooKeeperPath.join(path, "ready") }
    private var ourPath: String { ZooKeeperPath.join(path, ourName) }

    /// A double barrier of `memberCount` members under `path`, used through `client`.
    public init(client: ZooKeeperClient, path: String, memberCount: Int) {
        self.client = client
        self.path = path
        self.memberCount = memberCount
    }

    /// Enters; returns when `memberCount` members have entered (true) or `timeout` passed (false: this member's
    /// node is removed again).
    public func enter(timeout: Duration? = nil) async throws(ZooKeeperError) -> Bool {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var (ready, readyEvents) = try await client.existsAndWatch(readyPath)
        _ = try await client.createCreatingParents(ourPath, data: nil, mode: .ephemeral, parentMode: .container)
        while ready == nil {
            let members = try await client.getChildren(path).filter { $0 != "ready" }
            if members.count >= memberCount {
                do {
                    try await client.create(readyPath)
                } catch  where error.code == .nodeExists {
                }
                return true
            }
            switch try await RecipeWaiting.firstChange(in: readyEvents, path: readyPath, deadline: deadline) {
            case .changed:
                (ready, readyEvents) = try await client.existsAndWatch(readyPath)
            case .timedOut:
                try await client.deleteReliably(ourPath)
                return false
            }
        }
        return true
    }

    /// Leaves; returns when every member has left (true) or `timeout` passed (false).
    public func leave(timeout: Duration? = nil) async throws(ZooKeeperError) -> Bool {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        var ourNodeShouldExist = true
        while true {
            let members: [String]
            do {
                members = try await client.getChildren(path).filter { $0 != "ready" }.sorted()
            } catch  where error.code == .noNode {
                members = []
            }
            guard !members.isEmpty else { break }
            let ourIndex = members.firstIndex(of: ourName)
            if ourIndex == nil && ourNodeShouldExist {
                throw ZooKeeperError(.noNode, path: ourPath, message: "the barrier member node \(ourPath) is gone")
            }
            if members.count == 1 {
                if ourNodeShouldExist { try await client.deleteReliably(ourPath) }
                break
            }
            let watched: String
            if ourIndex == 0 {
                watched = members[members.count - 1]
            } else {
                watched = members[0]
                if ourNodeShouldExist {
                    try await client.deleteReliably(ourPath)
                    ourNodeShouldExist = false
                }
            }
            let (stat, events) = try await client.existsAndWatch(ZooKeeperPath.join(path, watched))
            guard stat != nil else { continue }
            switch try await RecipeWaiting.firstChange(in: events, path: path, deadline: deadline) {
            case .changed: continue
            case .timedOut: return false
            }
        }
        do {
            try await client.delete(readyPath)
        } catch  where error.code == .noNode {
        }
        return true
    }
}
