import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite struct SmokeTests {
    @Test(arguments: TestServerKind.allCases)
    func basicRoundTrip(server: TestServerKind) async throws {
        let address = try SharedTestServers.connectString(server)
        let client = try await ZooKeeperClient.connect(address)
        let root = SharedTestServers.uniqueRoot()
        let created = try await client.create(root, data: Array("hello".utf8))
        #expect(created == root)
        let (data, stat) = try await client.getData(root)
        #expect(data == Array("hello".utf8))
        #expect(stat.version == 0)
        let children = try await client.getChildren("/")
        #expect(children.contains(String(root.dropFirst())))
        try await client.delete(root)
        #expect(try await client.exists(root) == nil)
        await client.close()
        #expect(client.state == .closed)
    }
}
