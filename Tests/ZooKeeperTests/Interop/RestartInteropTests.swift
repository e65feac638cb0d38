import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct RestartInteropTests {
    /// A standalone server killed and restarted on its data directory: the client resumes its session.
    @Test func sessionResumesAfterAStandaloneRestart() async throws {
        let server = try ApacheZooKeeperStandalone()
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(20)
        let client = try await ZooKeeperClient.connect(server.address, configuration: configuration)
        let states = EventRecorder(client.connectionEvents)
        #expect(await states.next() == .connecting)
        #expect(await states.next() == .connected)
        try await client.create("/kept", data: bytes("v"), mode: .ephemeral)
        let sessionID = client.sessionID
        server.stop(signal: SIGKILL)
        #expect(await states.next(within: .seconds(20)) == .disconnected)
        try server.start()
        #expect(await states.next(within: .seconds(30)) == .reconnected)
        #expect(client.sessionID == sessionID)
        #expect(try await client.getData("/kept").data == bytes("v"))
        await client.close()
    }
}
