import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The real Prometheus server (Debian's `prometheus`) scraping a zkserver process, queried through its HTTP API.
@Suite(.serialized) struct PrometheusScrapeTests {
    @Test(.timeLimit(.minutes(3))) func prometheusScrapesZkserverAndSeesACreate() async throws {
        let prometheusPath = "/usr/bin/prometheus"
        guard FileManager.default.isExecutableFile(atPath: prometheusPath) else {
            throw HarnessError("prometheus is not installed (Debian package prometheus; make test-deps)")
        }
        let directory = try TestEnvironment.temporaryDirectory("prometheus-scrape")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ports = try TestEnvironment.freePorts(3)
        let (clientPort, metricsPort, webPort) = (ports[0], ports[1], ports[2])

        let zkserver = try ZKServerProcess(
            port: clientPort,
            configuration: [
                "dataDir=\(directory)/data", "tickTime=2000",
                "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider",
                "metricsProvider.httpHost=127.0.0.1", "metricsProvider.httpPort=\(metricsPort)",
                "metricsProvider.exportJvmInfo=true",
            ], logFile: "\(directory)/zkserver.log")
        defer { zkserver.stop() }

        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: zkserver
            static_configs:
              - targets: ['127.0.0.1:\(metricsPort)']
        """.write(toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = try ManagedProcess(
            executable: prometheusPath,
            arguments: [
                "--config.file=\(directory)/prometheus.yml", "--web.listen-address=127.0.0.1:\(webPort)",
                "--storage.tsdb.path=\(directory)/tsdb", "--log.level=warn",
            ], workingDirectory: directory, logFile: "\(directory)/prometheus.log")
        defer { prometheus.stop() }

        // Prometheus has scraped zkserver once the series is there.
        let api = PrometheusAPI(port: webPort)
        var initial: Double?
        let scraped = TestEnvironment.waitUntil(timeout: 60) {
            initial = api.value(of: "znode_count")
            return initial != nil || !prometheus.isRunning
        }
        #expect(scraped, "no znode_count in Prometheus:\n\(prometheus.log().suffix(2000))")
        let before = try #require(initial)
        #expect(api.value(of: "up{job=\"zkserver\"}") == 1)

        let client = try await ZooKeeperClient.connect("127.0.0.1:\(clientPort)")
        for name in ["a", "b", "c"] { _ = try await client.create("/\(name)", data: Array(name.utf8)) }
        _ = try await client.getData("/a")

        // A later scrape carries the three new znodes.
        let followed = TestEnvironment.waitUntil(timeout: 60) { api.value(of: "znode_count") == before + 3 }
        #expect(followed, "znode_count stayed at \(api.value(of: "znode_count") ?? -1), expected \(before + 3)")
        #expect(api.value(of: "zkserver_requests_total{opcode=\"create\"}") == 3)
        #expect(api.value(of: "updatelatency_count") == 3)
        #expect(api.value(of: "global_sessions") == 1)
        #expect(api.value(of: "count(readlatency)") == 3)  // the three quantiles
        // Apache's sets, labelled by namespace: a create of "/a" with one byte is 2 + 1 bytes written, the read
        // adds the stat's 68; and the start-up's recovery, timed once.
        #expect(api.value(of: "write_per_namespace_count{key=\"a\"}") == 1)
        #expect(api.value(of: "write_per_namespace_sum{key=\"a\"}") == 3)
        #expect(api.value(of: "read_per_namespace_sum{key=\"a\"}") == 71)
        #expect(api.value(of: "dbinittime_count") == 1)
        // exportJvmInfo: the process series, as Prometheus's clients name them.
        #expect((api.value(of: "process_resident_memory_bytes") ?? 0) > 0)
        #expect((api.value(of: "process_cpu_seconds_total") ?? 0) > 0)
        #expect((api.value(of: "process_max_fds") ?? 0) > 0)
        await client.close()

        prometheus.stop()
        zkserver.stop()
        #expect(!prometheus.isRunning && !zkserver.process.isRunning)
    }
}

/// Instant queries to Prometheus's HTTP API (`/api/v1/query`).
struct PrometheusAPI {
    let port: Int

    /// The value of the query's single series, or nil when there is none (or Prometheus is not up yet).
    func value(of query: String) -> Double? {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = query.addingPercentEncoding(withAllowedCharacters: allowed) ?? query
        guard let connection = RawConnection(port: port, timeout: 5) else { return nil }
        connection.send(
            Array("GET /api/v1/query?query=\(encoded) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
        let response = connection.readToEnd()
        guard let split = response.range(of: "\r\n\r\n"), response.hasPrefix("HTTP/1.1 200"),
            let json = try? JSONSerialization.jsonObject(with: Data(response[split.upperBound...].utf8))
                as? [String: Any],
            let data = json["data"] as? [String: Any], let results = data["result"] as? [[String: Any]],
            results.count == 1, let sample = results[0]["value"] as? [Any], sample.count == 2,
            let text = sample[1] as? String
        else { return nil }
        return Double(text)
    }
}
