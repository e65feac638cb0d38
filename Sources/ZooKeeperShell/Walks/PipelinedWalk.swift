import ZooKeeper

/// A depth-first walk of a subtree that keeps up to `window` requests in flight, asked in the order the walk
/// will need their answers, so that a tree of N znodes costs about N / window round trips instead of N; each
/// znode is handed to `visit` in pre-order (children sorted as zkCli sorts them) as soon as it is known, so
/// output streams while the walk goes on.
///
/// Each znode is read with one getChildren2 (its children and its own stat). A znode that vanishes during the
/// walk is skipped; one that cannot be read (NoAuth, ...) is reported to `unreadable` and the walk goes on. A
/// read lost with the connection is asked again once the client has reconnected (same session); the walk
/// fails only when the session is gone or the connection does not come back. A cancelled task stops the walk
/// within one window.
struct PipelinedWalk {
    /// A znode reached by the walk.
    struct Node: Sendable {
        var path: String
        /// 0 for the root.
        var depth: Int
        var stat: Stat
        /// The names of its children, sorted (empty below `maximumDepth`, whose children are not listed).
        var children: [String]
        /// Its data, when the walk reads it (`readsData`).
        var data: [UInt8]?
        /// Its ACL, when the walk reads it (`readsACL`).
        var acl: [ACL]?
        /// For each level from the root's children down to this node: whether the node at that level is the last
        /// of its siblings (what a tree drawing needs).
        var lastAtLevel: [Bool]
    }

    let client: ZooKeeperClient
    /// Requests in flight at most.
    var window = 64
    /// Znodes deeper than this are not visited (nil: no limit).
    var maximumDepth: Int? = nil
    /// Whether each znode's data is read too (a getData after its getChildren2, in the same window slot).
    var readsData = false
    /// Whether each znode's ACL is read too.
    var readsACL = false

    private struct Pending: Sendable {
        var path: String
        var depth: Int
        var lastAtLevel: [Bool]
        /// Whether its request has been sent.
        var asked = false
    }

    private typealias Answer = Result<(children: [String], stat: Stat, data: [UInt8]?, acl: [ACL]?), ZooKeeperError>

    /// Walks the subtree of `root`. A root that cannot be read fails the walk with its error; a cancelled walk
    /// stops within one window and says how far it got.
    func run(
        from root: String, unreadable: (String, ZooKeeperError) -> Void, visit: (Node) async throws -> Void
    ) async throws {
        var visited = 0
        var next = root
        do {
            try await walk(from: root, unreadable: unreadable) { node in
                visited += 1
                try await visit(node)
            } reached: { path in
                next = path
            }
        } catch is CancellationError where visited > 0 {
            throw CommandFailure(
                "Interrupted after \(visited) znode\(visited == 1 ? "" : "s") (the next was \(next))",
                exitCode: ExitCode.interrupted)
        }
    }

    private func walk(
        from root: String, unreadable: (String, ZooKeeperError) -> Void, visit: (Node) async throws -> Void,
        reached: (String) -> Void
    ) async throws {
        let client = self.client
        let readsData = self.readsData
        let readsACL = self.readsACL
        // The znodes still to visit, in reverse pre-order: the next one is last.
        var stack = [Pending(path: root, depth: 0, lastAtLevel: [])]
        var answers: [String: Answer] = [:]
        try await withThrowingTaskGroup(of: (String, Answer).self) { group in
            var inFlight = 0
            /// Asks for the next znodes of the walk, up to the window (the next one first).
            func askAhead() {
                var index = stack.count - 1
                while index >= max(0, stack.count - window) && inFlight < window {
                    defer { index -= 1 }
                    guard !stack[index].asked else { continue }
                    stack[index].asked = true
                    inFlight += 1
                    let path = stack[index].path
                    group.addTask {
                        (path, await Self.read(path, client: client, readsData: readsData, readsACL: readsACL))
                    }
                }
            }
            while let next = stack.last {
                reached(next.path)
                askAhead()
                while answers[next.path] == nil {
                    askAhead()
                    guard let (path, answer) = try await group.next() else { break }
                    inFlight -= 1
                    answers[path] = answer
                }
                try Task.checkCancellation()
                stack.removeLast()
                guard let answer = answers.removeValue(forKey: next.path) else { continue }
                switch answer {
                case .failure(let error) where next.depth == 0:
                    throw CommandFailure(error)
                case .failure(let error) where error.code == .noNode:
                    continue
                case .failure(let error) where Self.endsTheWalk(error):
                    throw CommandFailure(
                        "\(Shell.message(for: error)): the connection did not come back, the walk stops at \(next.path)",
                        exitCode: 1)
                case .failure(let error):
                    unreadable(next.path, error)
                case .success(let (children, stat, data, acl)):
                    let expands = maximumDepth.map { next.depth < $0 } ?? true
                    let sorted = expands ? ShellFormat.javaSorted(children) : []
                    try await visit(
                        Node(
                            path: next.path, depth: next.depth, stat: stat, children: sorted, data: data, acl: acl,
                            lastAtLevel: next.lastAtLevel))
                    for (index, child) in sorted.enumerated().reversed() {
                        stack.append(
                            Pending(
                                path: ZooKeeperPath.join(next.path, child), depth: next.depth + 1,
                                lastAtLevel: next.lastAtLevel + [index == sorted.count - 1]))
                    }
                }
            }
            group.cancelAll()
        }
    }

    /// How many times one znode's read is asked again after a lost connection.
    static let reconnectAttempts = 3

    /// Reads one znode. A read that fails with ConnectionLoss is asked again once the client is connected again
    /// (the session, and so what the walk saw, survives a reconnect), at most `reconnectAttempts` times; it fails
    /// when the session is gone or the connection is not back within the session timeout (after which the
    /// server has expired the session anyway).
    private static func read(
        _ path: String, client: ZooKeeperClient, readsData: Bool, readsACL: Bool
    ) async -> Answer {
        var reconnects = 0
        while true {
            do throws(ZooKeeperError) {
                let (children, stat) = try await client.getChildrenWithStat(path)
                let data = readsData ? try await client.getData(path).data : nil
                let acl = readsACL ? try await client.getACL(path).acl : nil
                return .success((children, stat, data, acl))
            } catch  where error.code == .connectionLoss && reconnects < reconnectAttempts {
                reconnects += 1
                if let failure = await waitForReconnect(client) { return .failure(failure) }
            } catch {
                return .failure(error)
            }
        }
    }

    /// Waits until `client` is connected again, in short slices so that a cancelled walk (Ctrl-C) is not held
    /// up; nil once connected, else why not.
    private static func waitForReconnect(_ client: ZooKeeperClient) async -> ZooKeeperError? {
        let deadline = ContinuousClock.now + client.negotiatedTimeout
        while true {
            do throws(ZooKeeperError) {
                try await client.waitUntilConnected(timeout: .milliseconds(250))
                return nil
            } catch  where error.code == .connectionLoss && ContinuousClock.now < deadline && !Task.isCancelled {
                continue
            } catch {
                return error
            }
        }
    }

    /// Whether a read's failure ends the walk rather than just its znode: the connection or session is gone.
    private static func endsTheWalk(_ error: ZooKeeperError) -> Bool {
        error.code == .connectionLoss || error.code == .sessionExpired || error.code == .clientClosed
            || error.code == .sessionMoved
    }
}
