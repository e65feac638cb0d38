import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite struct IPv6InteropTests {
    /// `[::1]:port` in a connect string reaches a server listening on IPv6 loopback.
    @Test func connectsOverIPv6Loopback() async throws {
        let server = try ApacheZooKeeperStandalone(host: "::1")
        let client = try await ZooKeeperClient.connect("[::1]:\(server.port)", timeout: .seconds(30))
        #expect(client.currentServer == HostAndPort(host: "::1", port: server.port))
        #expect(try await client.getChildren("/").contains("zookeeper"))
        #expect(try await client.whoAmI().first?.authScheme == "ip")
        await client.close()
    }
}
