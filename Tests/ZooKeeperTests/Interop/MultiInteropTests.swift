import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite struct MultiInteropTests {
    @Test(arguments: interopServers)
    func successfulMultiAppliesEverythingWithOneZxid(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            try await client.create(root + "/old", data: bytes("o"))
            let results = try await client.multi([
                .create(root + "/m", data: bytes("1")),
                .setData(root + "/m", data: bytes("2"), version: 0),
                .check(root + "/m", version: 1),
                .create(root + "/m/seq-", mode: .persistentSequential),
                .delete(root + "/old"),
                .create(root + "/c", mode: .container),
            ])
            #expect(results.count == 6)
            #expect(results[0] == .create(path: root + "/m"))
            guard case .setData(let stat) = results[1] else {
                Issue.record("not a setData result: \(results[1])")
                return
            }
            #expect(stat.version == 1)
            #expect(stat.czxid == stat.mzxid)  // one zxid for the whole multi
            #expect(results[2] == .check)
            #expect(results[3] == .create(path: root + "/m/seq-0000000000"))
            #expect(results[4] == .delete)
            guard case .create2(let containerPath, _) = results[5] else {
                Issue.record("a container create reports a create2 result: \(results[5])")
                return
            }
            #expect(containerPath == root + "/c")
            #expect(try await client.getData(root + "/m").data == bytes("2"))
            #expect(try await client.exists(root + "/old") == nil)
        }
    }

    @Test(arguments: interopServers)
    func failedMultiAppliesNothingAndReportsEveryOperation(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            do {
                try await client.multi([
                    .create(root + "/new"),
                    .delete(root + "/nonexistent"),
                    .setData(root, data: bytes("x")),
                ])
                Issue.record("a multi with a failing operation succeeded")
            } catch let error as ZooKeeperError {
                #expect(error.code == .noNode)
                #expect(error.path == root + "/nonexistent")
                #expect(error.multiResults == [.error(.ok), .error(.noNode), .error(.runtimeInconsistency)])
            }
            #expect(try await client.exists(root + "/new") == nil)
            #expect(try await client.getData(root).data == nil)
            await expectError(.badVersion) {
                try await client.multi([.check(root, version: 5)])
            }
            #expect(try await client.multi([]) == [])
        }
    }

    @Test(arguments: interopServers)
    func multiReadReturnsIndependentResults(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            try await client.create(root + "/a", data: bytes("A"))
            try await client.create(root + "/a/x")
            let results = try await client.multiRead([
                .getChildren(root + "/a"), .getData(root + "/a"), .getData(root + "/missing"),
            ])
            #expect(results.count == 3)
            #expect(results[0] == .getChildren(children: ["x"]))
            guard case .getData(let data, let stat) = results[1] else {
                Issue.record("not a getData result: \(results[1])")
                return
            }
            #expect(data == bytes("A"))
            #expect(stat.numChildren == 1)
            #expect(results[2] == .error(.noNode))
        }
    }

    @Test(arguments: interopServers)
    func multiReadReportsAnUnreadableNodeAndReadsTheOthers(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            // Everything but READ: the node can be deleted, not read.
            let noRead = [ACL(permissions: [.create, .delete, .write, .admin], id: Id(scheme: "world", id: "anyone"))]
            try await client.create(root + "/open", data: bytes("O"))
            try await client.create(root + "/closed", data: bytes("C"), acl: noRead)
            let results = try await client.multiRead([
                .getChildren(root + "/closed"), .getData(root + "/closed"), .getChildren(root),
                .getData(root + "/open"), .getChildren(root + "/gone"),
            ])
            #expect(results.count == 5)
            #expect(results[0] == .error(.noAuth))
            #expect(results[1] == .error(.noAuth))
            guard case .getChildren(let children) = results[2] else {
                Issue.record("not a getChildren result: \(results[2])")
                return
            }
            #expect(children.sorted() == ["closed", "open"])
            guard case .getData(let data, let stat) = results[3] else {
                Issue.record("not a getData result: \(results[3])")
                return
            }
            #expect(data == bytes("O"))
            #expect(stat.dataLength == 1)
            #expect(results[4] == .error(.noNode))
            try await client.delete(root + "/closed")
        }
    }
}
