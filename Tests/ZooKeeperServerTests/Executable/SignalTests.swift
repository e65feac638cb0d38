import Testing
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct SignalTests {
    /// A SIGTERM that arrives the moment zkserver serves is never lost: it shuts down cleanly every time.
    @Test func sigtermRightAfterStartShutsDownCleanly() throws {
        let directory = try TestEnvironment.temporaryDirectory("zkserver-signal")
        for round in 0..<15 {
            let server = try ZKServerProcess(
                port: try TestEnvironment.freePort(), configuration: ["tickTime=2000"],
                logFile: directory + "/server-\(round).log")
            server.process.send(SIGTERM)
            #expect(server.process.waitForExit(timeout: 20), "round \(round): still running after SIGTERM")
            #expect(server.process.log().contains("shutting down"), "round \(round)")
            server.kill()
        }
    }
}
