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
    /// The paths of `makeTree`'s tree in zkCli's pre-order.
    func preOrder(_ root: String) -> [String] {
        [root]
            + ShellFormat.javaSorted((0..<20).map { "a\($0)" }).flatMap { a in
                ["\(root)/\(a)"] + ShellFormat.javaSorted((0..<40).map { "b\($0)" }).map { "\(root)/\(a)/\($0)" }
            }
    }

    func deleteTree(_ client: ZooKeeperClient, _ root: String) async throws {
        try await client.multi(
            (0..<20).flatMap { a in (0..<40).map { b in ZooKeeperClient.Operation.delete("\(root)/a\(a)/b\(b)") } }
                + (0..<20).map { .delete("\(root)/a\($0)") } + [.delete(root)])
    }

    @Test(arguments: TestServerKind.allCases)
    func aWideWindowReadsDataAndAclsInOrderAndReportsTheUnreadable(kind: TestServerKind) async throws {
        let client = try ZooKeeperClient(connectString: try SharedTestServers.connectString(kind))
        let root = SharedTestServers.uniqueRoot("wide")
        try await makeTree(client, root)
        // No READ on a3 (its subtree is not walked) nor on a10/b7; ADMIN stays, so their ACLs can be read.
        let noRead = [ACL(permissions: [.create, .delete, .write, .admin], id: Id(scheme: "world", id: "anyone"))]
        try await client.setACL("\(root)/a3", acl: noRead)
        try await client.setACL("\(root)/a10/b7", acl: noRead)
        let expected = preOrder(root).filter {
            !$0.hasPrefix("\(root)/a3/") && $0 != "\(root)/a3" && $0 != "\(root)/a10/b7"
        }
        // Windows narrower than one znode's three reads, around the walk's default, and wider than the tree; reads
        // packed in multiRead requests (the unreadable znodes among readable ones) and alone.
        for window in [2, 5, PipelinedWalk(client: client).window, 5000] {
            for packs in [true, false] {
                var walk = PipelinedWalk(client: client)
                walk.window = window
                walk.packsReads = packs
                walk.readsData = true
                walk.readsACL = true
                var walked: [String] = []
                var unreadable: [String] = []
                var dataSeen = 0
                try await walk.run(from: root) { path, error in
                    #expect(error.code == .noAuth, "\(path)")
                    unreadable.append(path)
                } visit: { node in
                    walked.append(node.path)
                    if node.depth == 2 {
                        let name = node.path.split(separator: "/").suffix(2).map { $0.dropFirst() }.joined(
                            separator: ".")
                        #expect(node.data == Array(name.utf8), "\(node.path)")
                        dataSeen += 1
                    }
                    #expect(node.acl == ACL.openUnsafe, "\(node.path)")
                }
                #expect(walked == expected, "window \(window), packed \(packs)")
                #expect(unreadable == ["\(root)/a10/b7", "\(root)/a3"], "window \(window), packed \(packs)")
                #expect(dataSeen == 19 * 40 - 1)
            }
        }
        try await deleteTree(client, root)
        await client.close()
    }

    @Test(arguments: TestServerKind.allCases) func inPathOrderTheZnodesComeAsTheirPathsSort(kind: TestServerKind)
        async throws
    {
        let client = try ZooKeeperClient(connectString: try SharedTestServers.connectString(kind))
        let root = SharedTestServers.uniqueRoot("paths")
        // Names that sort before `/` (`-`, `.`) and after it, so that a subtree and its siblings interleave.
        let names = ["a", "a-1", "a.b", "a0", "b"]
        var paths = [root]
        try await client.create(root)
        for name in names {
            var batch: [ZooKeeperClient.Operation] = [.create("\(root)/\(name)")]
            paths.append("\(root)/\(name)")
            for child in names {
                batch.append(.create("\(root)/\(name)/\(child)"))
                paths.append("\(root)/\(name)/\(child)")
            }
            _ = try await client.multi(batch)
        }
        for window in [1, 4, 768] {
            var walk = PipelinedWalk(client: client)
            walk.window = window
            walk.order = .paths
            walk.readsData = true
            var walked: [String] = []
            try await walk.run(from: root) { path, error in
                Issue.record("\(path): \(error)")
            } visit: { node in
                walked.append(node.path)
            }
            #expect(walked == ShellFormat.javaSorted(paths), "window \(window)")
        }
        try await client.multi(paths.reversed().map { .delete($0) })
        await client.close()
    }

    @Test(arguments: TestServerKind.allCases) func anInterruptedWideWalkSaysHowFarItGot(kind: TestServerKind)
        async throws
    {
        let client = try ZooKeeperClient(connectString: try SharedTestServers.connectString(kind))
        let root = SharedTestServers.uniqueRoot("stop")
        try await makeTree(client, root)
        let expected = preOrder(root)
        // Ctrl-C while the 300th znode is being written out: beyond the first window of reads.
        var walk = PipelinedWalk(client: client)
        walk.readsData = true
        walk.readsACL = true
        var visited = 0
        let failure: CommandFailure? = await {
            do {
                try await walk.run(from: root) { _, _ in
                } visit: { node in
                    #expect(node.path == expected[visited])
                    visited += 1
                    if visited == 300 { withUnsafeCurrentTask { $0?.cancel() } }
                }
                return nil
            } catch {
                return error as? CommandFailure
            }
        }()
        #expect(visited == 300)
        #expect(failure?.message == "Interrupted after 300 znodes (the next was \(expected[300]))")
        #expect(failure?.exitCode == ExitCode.interrupted)
        try await deleteTree(client, root)
        await client.close()
    }

    /// The requests the server has received on `client`'s connection (its line in `cons`).
    func requestsReceived(_ client: ZooKeeperClient, _ kind: TestServerKind) throws -> Int {
        let address = try SharedTestServers.connectString(kind)
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            let cons = TestEnvironment.fourLetterWord("cons", port: port)
        else { throw HarnessError("no cons from \(address)") }
        let session = "sid=0x" + String(UInt64(bitPattern: client.sessionID), radix: 16) + ","
        guard let line = cons.split(separator: "\n").first(where: { $0.contains(session) }),
            let field = line.firstRange(of: "recved="),
            let count = Int(line[field.upperBound...].prefix(while: \.isNumber))
        else { throw HarnessError("no connection of session \(session) in cons:\n\(cons)") }
        return count
    }

    @Test(arguments: TestServerKind.allCases) func packedReadsCostAFewRequestsForAWholeWindow(kind: TestServerKind)
        async throws
    {
        let client = try ZooKeeperClient(connectString: try SharedTestServers.connectString(kind))
        let root = SharedTestServers.uniqueRoot("requests")
        try await makeTree(client, root)
        let expected = preOrder(root)
        // What each walk costs the server, in requests for the tree's 821 znodes: names only (`ls -R`, `tree`), the
        // stat too (`du`), data and ACLs (`export`); packed in multiReads and one request per read.
        var costs: [String: Int] = [:]
        for (label, readsStat, readsData, readsACL) in [
            ("names", false, false, false), ("stat", true, false, false), ("data and ACL", true, true, true),
        ] {
            for packs in [true, false] {
                var walk = PipelinedWalk(client: client)
                walk.readsStat = readsStat
                walk.readsData = readsData
                walk.readsACL = readsACL
                walk.packsReads = packs
                var walked: [String] = []
                var bytes = 0
                let before = try requestsReceived(client, kind)
                try await walk.run(from: root) { path, error in
                    Issue.record("\(path): \(error)")
                } visit: { node in
                    walked.append(node.path)
                    bytes += Int(node.stat.dataLength)
                    if node.depth == 1 { #expect(node.stat.numChildren == 40, "\(node.path)") }
                    if readsData && node.depth == 2 { #expect(node.data?.isEmpty == false, "\(node.path)") }
                }
                costs["\(label), packed \(packs)"] = try requestsReceived(client, kind) - before
                #expect(walked == expected, "\(label), packed \(packs)")
                if readsStat { #expect(bytes == 3_400, "\(label), packed \(packs)") }
            }
        }
        // Packed: about 820 / 32 multiReads, and the root's reads; alone: a request per read (pings aside).
        #expect(costs["names, packed true"].map { $0 <= 40 } == true, "\(costs)")
        #expect(costs["stat, packed true"].map { $0 <= 40 } == true, "\(costs)")
        #expect(costs["data and ACL, packed true"].map { $0 <= 821 + 40 } == true, "\(costs)")
        #expect(costs["names, packed false"].map { $0 >= 821 } == true, "\(costs)")
        #expect(costs["data and ACL, packed false"].map { $0 >= 3 * 821 } == true, "\(costs)")
        try await deleteTree(client, root)
        await client.close()
    }

    @Test(arguments: TestServerKind.allCases) func aZnodeDeletedAfterItsParentWasReadIsSkipped(kind: TestServerKind)
        async throws
    {
        let client = try ZooKeeperClient(connectString: try SharedTestServers.connectString(kind))
        for packs in [true, false] {
            let root = SharedTestServers.uniqueRoot("vanish")
            try await makeTree(client, root)
            // The root is answered (its children listed) before any child is asked: a5's subtree goes then, so the
            // walk asks for a5 after its parent named it.
            let gone = ["\(root)/a5"] + (0..<40).map { "\(root)/a5/b\($0)" }
            var walk = PipelinedWalk(client: client)
            walk.packsReads = packs
            walk.readsData = true
            var walked: [String] = []
            try await walk.run(from: root) { path, error in
                Issue.record("\(path): \(error)")
            } visit: { node in
                walked.append(node.path)
                if node.depth == 0 { try await client.multi(gone.reversed().map { .delete($0) }) }
            }
            #expect(walked == preOrder(root).filter { !gone.contains($0) }, "packed \(packs)")
            try await client.multi(preOrder(root).filter { !gone.contains($0) }.reversed().map { .delete($0) })
        }
        await client.close()
    }

    @Test(arguments: TestServerKind.allCases) func answersOverThePacketLimitAreReadAgainAlone(kind: TestServerKind)
        async throws
    {
        // 20 znodes of 20 kB: one multiRead's answer (400 kB) is over the client's limit of 100 kB, one znode's not.
        var settings = ZooKeeperClient.Configuration()
        settings.packetLimit = 100_000
        let client = try ZooKeeperClient(
            connectString: try SharedTestServers.connectString(kind), configuration: settings)
        let root = SharedTestServers.uniqueRoot("large")
        try await client.create(root)
        for index in 0..<20 {
            try await client.create("\(root)/n\(index)", data: Array(repeating: UInt8(65 + index), count: 20_000))
        }
        var walk = PipelinedWalk(client: client)
        walk.readsData = true
        var walked: [String] = []
        try await walk.run(from: root) { path, error in
            Issue.record("\(path): \(error)")
        } visit: { node in
            walked.append(node.path)
            if node.depth == 1, let index = Int(node.path.split(separator: "/").last?.dropFirst() ?? "") {
                #expect(node.data == Array(repeating: UInt8(65 + index), count: 20_000), "\(node.path)")
            }
        }
        #expect(walked == [root] + ShellFormat.javaSorted((0..<20).map { "n\($0)" }).map { "\(root)/\($0)" })
        try await client.multi((0..<20).map { .delete("\(root)/n\($0)") } + [.delete(root)])
        await client.close()
    }
}
