import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// zkserver run as operators run it: by an ordinary user, as the shipped systemd unit does (`DynamicUser=yes`),
/// without root's capabilities. Socket options that only a privileged process may set (a TCP option set at the
/// socket level is `SO_DEBUG`, which needs CAP_NET_ADMIN) made every accepted connection fail before anyone
/// noticed, because the suite runs as root.
@Suite struct UnprivilegedTests {
    /// Under root, `setpriv` empties the bounding set, so zkserver runs with no capability at all (it still owns
    /// its files, as the service user owns its state directory); under an ordinary user there is nothing to drop.
    static var launcher: [String] {
        geteuid() == 0 ? ["setpriv", "--bounding-set", "-all", "--"] : []
    }

    /// Clients, the AdminServer and the Prometheus endpoint are all served, and a write and a read go through.
    @Test(.timeLimit(.minutes(1))) func withoutCapabilitiesEveryListenerServes() async throws {
        let directory = try TestEnvironment.temporaryDirectory("zkserver-unprivileged")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ports = try TestEnvironment.freePorts(3)
        let server = try ZKServerProcess(
            port: ports[0],
            configuration: [
                "tickTime=2000", "dataDir=\(directory)/data", "admin.serverAddress=127.0.0.1",
                "admin.serverPort=\(ports[1])",
                "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
                "metricsProvider.httpHost=127.0.0.1", "metricsProvider.httpPort=\(ports[2])",
            ],
            logFile: directory + "/server.log", launcher: Self.launcher)
        defer { server.stop() }
        if geteuid() == 0 {
            let status = try String(contentsOfFile: "/proc/\(server.process.pid)/status", encoding: .utf8)
            let bounding = status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }
            let mask = bounding.flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) } ?? .max
            #expect(mask == 0, "zkserver still has capabilities: \(bounding ?? "no CapBnd line")")
        }

        let client = try await ZooKeeperClient.connect(server.address)
        _ = try await client.create("/plain", data: Array("served".utf8))
        let (data, _) = try await client.getData("/plain")
        #expect(data == Array("served".utf8))
        await client.close()

        #expect(TestEnvironment.httpGet("/commands/ruok", port: ports[1])?.status == 200)
        let metrics = try #require(TestEnvironment.httpGet("/metrics", port: ports[2]))
        #expect(metrics.status == 200 && metrics.body.contains("znode_count"))
    }
}
