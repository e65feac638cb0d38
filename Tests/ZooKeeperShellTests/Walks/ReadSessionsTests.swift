import Foundation
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// The extra sessions a walk reads ACLs on: they read as the user's session does (its `addauth` credentials), they
/// are closed however the walk ends, and a server that refuses them leaves the walk on its own session.
@Suite(.serialized)
struct ReadSessionsTests {
    /// `digest:alice:secret` and `digest:bob:other` as ACL ids (base64 of SHA-1 of `user:password`).
    static let aliceOnly = [ACL(permissions: .all, id: Id(scheme: "digest", id: "alice:" + digest("alice:secret")))]
    static let bobOnly = [ACL(permissions: .all, id: Id(scheme: "digest", id: "bob:" + digest("bob:other")))]

    static func digest(_ text: String) -> String {
        Base64.encode(SHA1.hash(Array(text.utf8)))
    }

    /// `root` (open) with 20 open children of 40 children each, those readable by alice alone but `a5/b3`, readable
    /// by bob alone: more znodes than one window of a walk that reads ACLs. The paths in zkCli's pre-order.
    func makeTree(_ client: ZooKeeperClient, _ root: String) async throws -> [String] {
        try await client.create(root)
        var paths = [root]
        for a in ShellFormat.javaSorted((0..<20).map { "a\($0)" }) {
            var batch: [ZooKeeperClient.Operation] = [.create("\(root)/\(a)")]
            paths.append("\(root)/\(a)")
            for b in ShellFormat.javaSorted((0..<40).map { "b\($0)" }) {
                let path = "\(root)/\(a)/\(b)"
                let acl = path == "\(root)/a5/b3" ? Self.bobOnly : Self.aliceOnly
                batch.append(.create(path, data: Array(b.utf8), acl: acl))
                paths.append(path)
            }
            _ = try await client.multi(batch)
        }
        return paths
    }

    /// Alice's session to `address`, her tree under `root` (`makeTree`), three extra sessions with her credentials
    /// and a walk that reads data and ACLs through them, with a narrow window: the sessions are up long before the
    /// walk's end (they open after its first window).
    func aliceWalk(_ address: String, root: String) async throws -> (
        client: ZooKeeperClient, paths: [String], sessions: ReadSessions, walk: PipelinedWalk
    ) {
        let client = try await ZooKeeperClient.connect(address)
        try await client.addDigestAuth(user: "alice", password: "secret")
        let paths = try await makeTree(client, root)
        let sessions = ReadSessions(like: client, configuration: ZooKeeperClient.Configuration(), count: 3)
        var walk = PipelinedWalk(client: client)
        walk.readsData = true
        walk.readsACL = true
        walk.readSessions = sessions
        walk.window = 30
        return (client, paths, sessions, walk)
    }

    func port(_ address: String) throws -> Int {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw HarnessError("no port in \(address)")
        }
        return port
    }

    /// The ids of the sessions connected to the server at `port`, from `cons`.
    func sessionsOnServer(_ port: Int) -> Set<Int64> {
        let cons = TestEnvironment.fourLetterWord("cons", port: port) ?? ""
        var sessions: Set<Int64> = []
        for line in cons.split(separator: "\n") {
            guard let field = line.firstRange(of: "sid=0x") else { continue }
            let hex = line[field.upperBound...].prefix(while: \.isHexDigit)
            if let id = UInt64(hex, radix: 16) { sessions.insert(Int64(bitPattern: id)) }
        }
        return sessions
    }

    @Test(arguments: TestServerKind.allCases) func theExtraSessionsReadAsTheUserAndAreClosedAfter(kind: TestServerKind)
        async throws
    {
        let address = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("sessions")
        let (client, paths, sessions, walk) = try await aliceWalk(address, root: root)
        var visited: [String] = []
        var unreadable: [(String, ZooKeeperError.Code)] = []
        var extraSessions: [ZooKeeperClient] = []
        let requestsBefore = try PipelinedWalkTests().requestsReceived(client, kind)
        var requestsOnTheWalksSession = 0
        try await sessions.closing {
            try await walk.run(from: root) { path, error in
                unreadable.append((path, error.code))
            } visit: { node in
                visited.append(node.path)
                let expected = node.depth < 2 ? ACL.openUnsafe : Self.aliceOnly
                #expect(node.acl == expected, "\(node.path)")
                if node.depth == 2 { #expect(node.data == Array(node.path.split(separator: "/").last!.utf8)) }
            }
            extraSessions = sessions.ready
            requestsOnTheWalksSession = try PipelinedWalkTests().requestsReceived(client, kind) - requestsBefore
        }
        // Every znode alice can read, with its ACL; bob's is NoAuth, as on the user's own session.
        #expect(visited == paths.filter { $0 != "\(root)/a5/b3" })
        #expect(unreadable.map(\.0) == ["\(root)/a5/b3"])
        #expect(unreadable.map(\.1) == [.noAuth])
        // Three sessions came up, authenticated, and are gone once the command is over.
        #expect(extraSessions.count == 3)
        // Part of the getACLs went on them: on its own, the walk's session gets one per znode and the multiReads.
        #expect(requestsOnTheWalksSession < paths.count * 3 / 4, "\(requestsOnTheWalksSession) requests")
        let ids = Set(extraSessions.map(\.sessionID))
        let port = try port(address)
        #expect(TestEnvironment.waitUntil(timeout: 10) { sessionsOnServer(port).isDisjoint(with: ids) })
        #expect(extraSessions.allSatisfy { $0.state == .closed })
        try await client.multi(paths.reversed().map { .delete($0) })
        await client.close()
    }

    @Test(arguments: TestServerKind.allCases) func anInterruptedWalkClosesItsExtraSessions(kind: TestServerKind)
        async throws
    {
        let address = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("sessions-stop")
        let (client, paths, sessions, walk) = try await aliceWalk(address, root: root)
        var opened: Set<Int64> = []
        var visited = 0
        // Ctrl-C (the task cancelled) at the 400th znode, once the extra sessions are up.
        let failure: CommandFailure? = await {
            do {
                try await sessions.closing {
                    try await walk.run(from: root) { _, _ in
                    } visit: { _ in
                        visited += 1
                        guard visited == 400 else { return }
                        let deadline = ContinuousClock.now + .seconds(10)
                        while sessions.ready.count < 3 && ContinuousClock.now < deadline { await Task.yield() }
                        opened = Set(sessions.ready.map(\.sessionID))
                        withUnsafeCurrentTask { $0?.cancel() }
                    }
                }
                return nil
            } catch {
                return error as? CommandFailure
            }
        }()
        #expect(failure?.exitCode == ExitCode.interrupted)
        #expect(failure?.message == "Interrupted after 400 znodes (the next was \(paths[400]))")
        #expect(opened.count == 3)
        let port = try port(address)
        #expect(TestEnvironment.waitUntil(timeout: 10) { sessionsOnServer(port).isDisjoint(with: opened) })
        #expect(sessions.ready.isEmpty)
        try await client.multi(paths.reversed().map { .delete($0) })
        await client.close()
    }

    @Test(arguments: TestServerKind.allCases) func aServerRefusingMoreSessionsLeavesTheWalkOnItsOwn(
        kind: TestServerKind
    ) async throws {
        // One connection per client address: the walk's own.
        let directory = try TestEnvironment.temporaryDirectory("read-sessions")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let apache: ApacheZooKeeperStandalone?
        let zkserver: ZKServerProcess?
        switch kind {
        case .apache:
            apache = try ApacheZooKeeperStandalone(extraConfig: ["maxClientCnxns=1"])
            zkserver = nil
        case .zkserver:
            apache = nil
            zkserver = try ZKServerProcess(
                port: try TestEnvironment.freePorts(1)[0],
                configuration: ["tickTime=2000", "dataDir=\(directory)", "maxClientCnxns=1"],
                logFile: directory + "/zkserver.log")
        }
        defer { zkserver?.process.stop(signal: SIGKILL) }
        let address = apache?.address ?? zkserver!.address
        let root = "/refused"
        let (client, paths, sessions, walk) = try await aliceWalk(address, root: root)
        var visited: [String] = []
        var unreadable: [String] = []
        var extraSessions = -1
        try await sessions.closing {
            try await walk.run(from: root) { path, _ in
                unreadable.append(path)
            } visit: { node in
                visited.append(node.path)
                #expect(node.acl == (node.depth < 2 ? ACL.openUnsafe : Self.aliceOnly), "\(node.path)")
            }
            extraSessions = sessions.ready.count
        }
        #expect(extraSessions == 0)
        #expect(visited == paths.filter { $0 != "\(root)/a5/b3" })
        #expect(unreadable == ["\(root)/a5/b3"])
        await client.close()
    }
}
