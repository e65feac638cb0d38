import Testing
import ZooKeeper
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// The pipelined walk in-process: the same znodes in the same order as one request at a time, and Ctrl-C
/// (the task cancelled) stops it within a window, saying how far it got.
@Suite(.serialized)
struct PipelinedWalkTests {
    /// `root` with 20 children of 40 children each (821 znodes).
    func makeTree(_ client: ZooKeeperClient, _ root: String) async throws {
        try await client.create(root)
        for a in 0..<20 {
            var batch: [ZooKeeperClient.Operation] = [.create("\(root)/a\(a)")]
            for b in 0..<40 { batch.append(.create("\(root)/a\(a)/b\(b)", data: Array("\(a).\(b)".utf8))) }
            _ = try await client.multi(batch)
        }
    }

    @Test(arguments: TestServerKind.allCases) func theOrderOfOneRequestAtATime(kind: TestServerKind) async throws {
        var settings = ZooKeeperClient.Configuration()
        settings.requestTimeoutWhileDisconnected = .seconds(10)
        let client = try ZooKeeperClient(
            connectString: try SharedTestServers.connectString(kind), configuration: settings)
        let root = SharedTestServers.uniqueRoot("walk")
        try await makeTree(client, root)
        // One request at a time, depth first, children sorted.
        var expected: [String] = []
        func visit(_ path: String) async throws {
            expected.append(path)
            for child in ShellFormat.javaSorted(try await client.getChildren(path)) {
                try await visit(ZooKeeperPath.join(path, child))
            }
        }
        try await visit(root)
        #expect(expected.count == 821)
        for window in [1, 7, 64] {
            var walk = PipelinedWalk(client: client)
            walk.window = window
            var walked: [String] = []
            var sizes = 0
            try await walk.run(from: root) { path, error in
                Issue.record("\(path): \(error)")
            } visit: { node in
                walked.append(node.path)
                sizes += Int(node.stat.dataLength)
            }
            #expect(walked == expected, "window \(window)")
            #expect(sizes == (0..<20).flatMap { a in (0..<40).map { b in "\(a).\(b)".utf8.count } }.reduce(0, +))
        }
        // Only so deep.
        var shallow = PipelinedWalk(client: client)
        shallow.maximumDepth = 1
        var count = 0
        try await shallow.run(from: root) { _, _ in
        } visit: { _ in
            count += 1
        }
        #expect(count == 21)
        try await client.multi(expected.reversed().map { .delete($0) })
        await client.close()
    }

    @Test func anInterruptedWalkStopsAtOnceAndSaysHowFarItGot() async throws {
        let client = try ZooKeeperClient(connectString: try SharedTestServers.connectString(.zkserver))
        let root = SharedTestServers.uniqueRoot("interrupt")
        try await makeTree(client, root)
        // Ctrl-C (the task cancelled) while the third znode is being printed.
        var visited: [String] = []
        let failure: CommandFailure? = await {
            do {
                try await PipelinedWalk(client: client).run(from: root) { _, _ in
                } visit: { node in
                    visited.append(node.path)
                    if visited.count == 3 { withUnsafeCurrentTask { $0?.cancel() } }
                }
                return nil
            } catch {
                return error as? CommandFailure
            }
        }()
        #expect(visited == [root, "\(root)/a0", "\(root)/a0/b0"])
        #expect(failure?.message == "Interrupted after 3 znodes (the next was \(root)/a0/b1)")
        #expect(failure?.exitCode == ExitCode.interrupted)
        try await client.multi(
            (0..<20).flatMap { a in (0..<40).map { b in ZooKeeperClient.Operation.delete("\(root)/a\(a)/b\(b)") } }
                + (0..<20).map { .delete("\(root)/a\($0)") } + [.delete(root)])
        await client.close()
    }
}
