import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Every create mode and node operation, against each server.
@Suite struct NodeInteropTests {
    @Test(arguments: interopServers)
    func createPersistentAndItsStat(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let (path, stat) = try await client.createWithStat(root + "/a", data: bytes("hello"))
            #expect(path == root + "/a")
            #expect(stat.czxid == stat.mzxid)
            #expect(stat.czxid == stat.pzxid)
            #expect(stat.ctime == stat.mtime)
            #expect(stat.version == 0 && stat.cversion == 0 && stat.aversion == 0)
            #expect(stat.ephemeralOwner == 0)
            #expect(stat.dataLength == 5)
            #expect(stat.numChildren == 0)
            let (data, read) = try await client.getData(root + "/a")
            #expect(data == bytes("hello"))
            #expect(read == stat)
            #expect(try await client.exists(root + "/a") == stat)
        }
    }

    @Test(arguments: interopServers)
    func nullAndEmptyDataAreDistinct(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            try await client.create(root + "/null", data: nil)
            try await client.create(root + "/empty", data: [])
            #expect(try await client.getData(root + "/null").data == nil)
            #expect(try await client.getData(root + "/empty").data == [])
            #expect(try await client.getData(root + "/null").stat.dataLength == 0)
        }
    }

    @Test(arguments: interopServers)
    func existingNodeAndMissingParent(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            await expectError(.nodeExists) { try await client.create(root) }
            await expectError(.noNode) { try await client.create(root + "/missing/child") }
            await expectError(.nodeExists) { try await client.create("/") }
        }
    }

    @Test(arguments: interopServers)
    func sequentialNodesShareTheParentCounter(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let first = try await client.create(root + "/s-", mode: .persistentSequential)
            #expect(first == root + "/s-0000000000")
            try await client.create(root + "/plain")
            let second = try await client.create(root + "/s-", mode: .persistentSequential)
            #expect(second == root + "/s-0000000002")
            try await client.delete(second)
            let third = try await client.create(root + "/", mode: .persistentSequential)
            #expect(third == root + "/0000000003")
        }
    }

    @Test(arguments: interopServers)
    func ephemeralNodesBelongToTheSession(_ kind: TestServerKind) async throws {
        let owner = try await connectedClient(kind)
        let observer = try await connectedClient(kind)
        defer { Task { await observer.close() } }
        try await withRoot(observer) { root in
            let (path, stat) = try await owner.createWithStat(root + "/e", mode: .ephemeral)
            #expect(path == root + "/e")
            #expect(stat.ephemeralOwner == owner.sessionID)
            let sequential = try await owner.create(root + "/es-", mode: .ephemeralSequential)
            #expect(sequential == root + "/es-0000000001")
            #expect(try await observer.exists(sequential)?.ephemeralOwner == owner.sessionID)
            await expectError(.noChildrenForEphemerals) { try await owner.create(root + "/e/child") }
            #expect(Set(try await owner.getEphemerals(root)) == [root + "/e", sequential])
            #expect(try await observer.getEphemerals(root) == [])
            await owner.close()
            #expect(try await observer.exists(root + "/e") == nil)
            #expect(try await observer.exists(sequential) == nil)
        }
    }

    @Test(arguments: interopServers)
    func containerIsDeletedOnceEmptied(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let (path, stat) = try await client.createWithStat(root + "/c", mode: .container)
            #expect(path == root + "/c")
            #expect(stat.ephemeralOwner == 0)
            try await client.create(root + "/c/child")
            try await client.delete(root + "/c/child")
            #expect(try await waitUntilGone(client, root + "/c"))
        }
    }

    @Test(arguments: interopServers)
    func ttlNodesExpireWhenChildless(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let (path, stat) = try await client.createWithStat(
                root + "/ttl", data: bytes("x"), mode: .persistentWithTTL, ttl: 500)
            #expect(path == root + "/ttl")
            #expect(stat.ephemeralOwner == 0)
            let sequential = try await client.create(root + "/ttls-", mode: .persistentSequentialWithTTL, ttl: 500)
            #expect(sequential == root + "/ttls-0000000001")
            #expect(try await waitUntilGone(client, root + "/ttl"))
            #expect(try await waitUntilGone(client, sequential))
        }
    }

    @Test(arguments: interopServers)
    func ttlArgumentsAreCheckedBeforeSending(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        await expectError(.invalidArgument) { try await client.create("/x", mode: .persistentWithTTL) }
        await expectError(.invalidArgument) { try await client.create("/x", mode: .persistentWithTTL, ttl: 0) }
        await expectError(.invalidArgument) { try await client.create("/x", mode: .persistent, ttl: 10) }
    }

    @Test(arguments: interopServers)
    func setDataAndDeleteHonourVersions(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let node = root + "/v"
            let created = try await client.createWithStat(node, data: bytes("1")).stat
            let first = try await client.setData(node, data: bytes("22"), version: 0)
            #expect(first.version == 1)
            #expect(first.mzxid > created.mzxid)
            #expect(first.czxid == created.czxid)
            #expect(first.dataLength == 2)
            await expectError(.badVersion) { try await client.setData(node, data: nil, version: 0) }
            let second = try await client.setData(node, data: nil)
            #expect(second.version == 2)
            #expect(second.dataLength == 0)
            #expect(try await client.getData(node).data == nil)
            await expectError(.badVersion) { try await client.delete(node, version: 1) }
            try await client.create(node + "/child")
            await expectError(.notEmpty) { try await client.delete(node) }
            // A wrong version on a non-empty node reports BadVersion first.
            await expectError(.badVersion) { try await client.delete(node, version: 7) }
            try await client.delete(node + "/child")
            try await client.delete(node, version: 2)
            await expectError(.noNode) { try await client.delete(node) }
            await expectError(.noNode) { try await client.setData(node, data: nil) }
            #expect(try await client.exists(node) == nil)
        }
    }

    @Test(arguments: interopServers)
    func childrenCversionAndPzxid(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let before = try await client.exists(root)!
            let a = try await client.createWithStat(root + "/a").stat
            try await client.create(root + "/b")
            let (children, afterCreates) = try await client.getChildrenWithStat(root)
            #expect(Set(children) == ["a", "b"])
            #expect(try await Set(client.getChildren(root)) == ["a", "b"])
            #expect(afterCreates.numChildren == 2)
            #expect(afterCreates.cversion == before.cversion + 2)
            #expect(afterCreates.pzxid > a.czxid)
            #expect(afterCreates.version == before.version)
            try await client.delete(root + "/a")
            let afterDelete = try await client.exists(root)!
            // Deletes move the visible cversion too (creates + deletes).
            #expect(afterDelete.cversion == before.cversion + 3)
            #expect(afterDelete.numChildren == 1)
            #expect(afterDelete.pzxid > afterCreates.pzxid)
            #expect(try await client.getAllChildrenNumber(root) == 1)
            try await client.create(root + "/b/x")
            try await client.create(root + "/b/x/y")
            #expect(try await client.getAllChildrenNumber(root) == 3)
            #expect(try await client.getChildren(root + "/b/x/y") == [])
            await expectError(.noNode) { try await client.getChildren(root + "/nope") }
            await expectError(.noNode) { try await client.getAllChildrenNumber(root + "/nope") }
        }
    }

    @Test(arguments: interopServers)
    func syncEchoesThePath(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        #expect(try await client.sync("/") == "/")
        // No existence check on a standalone server.
        #expect(try await client.sync("/does/not/exist") == "/does/not/exist")
    }

    @Test(arguments: interopServers)
    func specialNodesAndConfig(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        #expect(try await Set(client.getChildren("/zookeeper")).isSuperset(of: ["quota", "config"]))
        let config = try await client.getConfig()
        #expect(config.stat.aversion == -1)
        let (acl, _) = try await client.getACL("/zookeeper/config")
        #expect(acl == [ACL(permissions: .read, id: .anyone)])
        await expectError(.badArguments) { try await client.delete("/zookeeper/quota") }
    }

    @Test(arguments: interopServers)
    func clientSideValidation(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        do {
            _ = try await client.getData("abc")
            Issue.record("relative path accepted")
        } catch {
            #expect(error.code == .invalidPath)
            #expect(error.description == "Path must start with / character")
        }
        await expectError(.invalidPath) { try await client.create("/a/") }
        await expectError(.invalidPath) { try await client.exists("/a//b") }
    }
}
