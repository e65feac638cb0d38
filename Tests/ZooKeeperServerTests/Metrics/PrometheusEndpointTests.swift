import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@testable import ZooKeeperServer

/// `/metrics` as a scraper reads it: Apache 3.8's names and types, and numbers that follow the server.
@Suite(.serialized) struct PrometheusEndpointTests {
    /// The gauges Apache 3.8's `ZooKeeperServer.registerMetrics` registers that apply to a standalone server
    /// (read from Debian's zookeeper-3.8.0.jar).
    static let apacheGauges = [
        "avg_latency", "max_latency", "min_latency", "packets_received", "packets_sent", "num_alive_connections",
        "outstanding_requests", "uptime", "znode_count", "watch_count", "ephemerals_count", "approximate_data_size",
        "global_sessions", "local_sessions", "open_file_descriptor_count", "max_file_descriptor_count",
        "connection_drop_probability", "last_client_response_size", "max_client_response_size",
        "min_client_response_size", "auth_failed_count", "outstanding_tls_handshake", "non_mtls_local_conn_count",
        "non_mtls_remote_conn_count",
    ]
    /// Apache 3.8's `ServerMetrics` summaries that apply, with their quantiles (ADVANCED: three; BASIC: the median).
    static let apacheSummaries: [(String, [String])] = [
        ("readlatency", ["0.5", "0.9", "0.99"]), ("updatelatency", ["0.5", "0.9", "0.99"]),
        ("fsynctime", ["0.5"]), ("snapshottime", ["0.5"]), ("sync_processor_batch_size", ["0.5"]),
        ("dbinittime", ["0.5"]), ("startup_snap_load_time", ["0.5"]), ("startup_txns_load_time", ["0.5"]),
        ("startup_txns_loaded", ["0.5"]), ("node_created_watch_count", ["0.5"]), ("node_deleted_watch_count", ["0.5"]),
        ("node_changed_watch_count", ["0.5"]), ("node_children_watch_count", ["0.5"]),
    ]

    private func startServer(dataDirectory: String) async throws -> ZooKeeperServer {
        var configuration = ServerConfiguration.ephemeral()
        configuration.dataDirectory = dataDirectory
        configuration.prometheusMetrics = PrometheusMetricsSettings(httpHost: "127.0.0.1", httpPort: 0)
        return try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
    }

    @Test(.timeLimit(.minutes(1))) func namesAndTypesAreApaches() async throws {
        let directory = try TestEnvironment.temporaryDirectory("metrics-names")
        let server = try await startServer(dataDirectory: directory)
        let client = try await ZooKeeperClient.connect(server.connectString)
        _ = try await client.create("/a", data: [1, 2, 3])
        _ = try await client.getData("/a")
        // A quota on /a, as zkCli.sh's setquota makes one.
        _ = try await client.create("/zookeeper/quota/a", data: nil)
        _ = try await client.create("/zookeeper/quota/a/zookeeper_limits", data: Array("count=10,bytes=-1".utf8))
        _ = try await client.create("/zookeeper/quota/a/zookeeper_stats", data: Array("count=0,bytes=0".utf8))
        let port = try #require(server.metricsPort)
        let exposition = try #require(await Exposition.fetch(port: port))
        #expect(exposition.statusLine == "HTTP/1.1 200 OK")
        #expect(exposition.contentType == "text/plain; version=0.0.4; charset=utf-8")

        for name in Self.apacheGauges {
            #expect(exposition.types[name] == "gauge", "\(name)")
            #expect(exposition.value(name) != nil, "\(name)")
        }
        for (name, quantiles) in Self.apacheSummaries {
            for quantile in quantiles {
                #expect(exposition.samples.keys.contains("\(name){quantile=\"\(quantile)\"}"), "\(name) \(quantile)")
            }
            #expect(exposition.types[name + "_count"] == "counter", "\(name)")
            #expect(exposition.types[name + "_sum"] == "counter", "\(name)")
        }
        #expect(exposition.types["bytes_received_count"] == "counter")
        // The process series of Prometheus's client libraries, as Apache's exportJvmInfo adds them.
        #expect(exposition.types["process_cpu_seconds_total"] == "counter")
        #expect((exposition.value("process_cpu_seconds_total") ?? 0) > 0)
        #expect((exposition.value("process_resident_memory_bytes") ?? 0) > 1_048_576)
        #expect(
            (exposition.value("process_virtual_memory_bytes") ?? 0) >= exposition.value("process_resident_memory_bytes")
                ?? 0)
        #expect((exposition.value("process_open_fds") ?? 0) > 0)
        let started = try #require(exposition.value("process_start_time_seconds"))
        #expect(started > 1_600_000_000 && started <= Date().timeIntervalSince1970)
        // Requests by opcode, named as Apache names its opcodes.
        #expect(exposition.value("zkserver_requests_total{opcode=\"create\"}") == 4)
        #expect(exposition.value("zkserver_requests_total{opcode=\"getData\"}") == 1)
        #expect(exposition.value("updatelatency_count") == 4)
        #expect(exposition.value("readlatency_count") == 1)
        #expect((exposition.value("fsynctime_count") ?? 0) >= 1)
        #expect((exposition.value("sync_processor_batch_size_count") ?? 0) >= 1)
        // A durable start: one recovery, one snapshot search; nothing to replay in a fresh directory.
        #expect(exposition.value("dbinittime_count") == 1)
        #expect(exposition.value("startup_snap_load_time_count") == 1)
        #expect(exposition.value("startup_txns_loaded_count") == 0)
        // Apache's summary, gauge and counter sets: the namespace in the label `key`.
        #expect(exposition.types["write_per_namespace_count"] == "counter")
        #expect(exposition.value("write_per_namespace_count{key=\"a\"}") == 1)
        #expect(exposition.value("write_per_namespace_sum{key=\"a\"}") == 5)
        #expect(exposition.value("read_per_namespace_sum{key=\"a\"}") == 73)
        #expect(exposition.samples.keys.contains("read_per_namespace{key=\"a\",quantile=\"0.5\"}"))
        #expect(exposition.types["quota_count_limit_per_namespace"] == "gauge")
        #expect(exposition.value("quota_count_limit_per_namespace{key=\"a\"}") == 10)
        #expect(exposition.value("quota_bytes_limit_per_namespace{key=\"a\"}") == -1)
        #expect(exposition.value("quota_count_usage_per_namespace{key=\"a\"}") == 1)
        #expect(exposition.value("quota_bytes_usage_per_namespace{key=\"a\"}") == 3)
        // The same numbers as mntr.
        let mntr = try await server.fourLetterWord(.mntr).split(separator: "\n").map { $0.split(separator: "\t") }
        for key in ["znode_count", "watch_count", "ephemerals_count", "approximate_data_size", "global_sessions"] {
            let line = mntr.first { $0.first.map(String.init) == "zk_" + key }
            #expect(line.flatMap { Double(String($0.last ?? "")) } == exposition.value(key), "\(key)")
        }
        await client.close()
        await server.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(.timeLimit(.minutes(1))) func numbersFollowTheServer() async throws {
        let directory = try TestEnvironment.temporaryDirectory("metrics-values")
        let server = try await startServer(dataDirectory: directory)
        let port = try #require(server.metricsPort)
        let before = try #require(await Exposition.fetch(port: port))
        let client = try await ZooKeeperClient.connect(server.connectString)
        _ = try await client.create("/e", data: Array(repeating: 7, count: 10), mode: .ephemeral)
        _ = try await client.exists("/e", watch: true)
        let after = try #require(await Exposition.fetch(port: port))
        #expect(after.value("znode_count") == (before.value("znode_count") ?? 0) + 1)
        #expect(after.value("ephemerals_count") == 1)
        #expect(after.value("watch_count") == 1)
        #expect(after.value("global_sessions") == 1)
        #expect(after.value("num_alive_connections") == 1)
        #expect(after.value("approximate_data_size") == (before.value("approximate_data_size") ?? 0) + 12)
        #expect((after.value("packets_received") ?? 0) > (before.value("packets_received") ?? 0))
        await client.close()
        let closed = try #require(await Exposition.fetch(port: port))
        #expect(closed.value("ephemerals_count") == 0)
        #expect(closed.value("global_sessions") == 0)
        await server.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(.timeLimit(.minutes(1))) func aSnapshotIsTimed() async throws {
        let directory = try TestEnvironment.temporaryDirectory("metrics-snapshot")
        var configuration = ServerConfiguration.ephemeral()
        configuration.dataDirectory = directory
        configuration.snapCount = 2
        configuration.prometheusMetrics = PrometheusMetricsSettings(httpHost: "127.0.0.1", httpPort: 0)
        let server = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        let port = try #require(server.metricsPort)
        let client = try await ZooKeeperClient.connect(server.connectString)
        for index in 0..<4 { _ = try await client.create("/n\(index)", data: []) }
        // The snapshot is written in the background: wait (bounded) until it is in place.
        var snapshots: Double?
        for _ in 0..<500 where (snapshots ?? 0) < 1 {
            snapshots = await Exposition.fetch(port: port)?.value("snapshottime_count")
            if (snapshots ?? 0) < 1 { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect((snapshots ?? 0) >= 1)
        let exposition = try #require(await Exposition.fetch(port: port))
        #expect(exposition.value("snapshottime{quantile=\"0.5\"}")?.isNaN == false)
        #expect(exposition.value("fsynctime{quantile=\"0.5\"}")?.isNaN == false)
        await client.close()
        await server.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test(.timeLimit(.minutes(1))) func aTakenMetricsPortStopsTheStartInOneLine() async throws {
        var configuration = ServerConfiguration.ephemeral()
        configuration.prometheusMetrics = PrometheusMetricsSettings(httpHost: "127.0.0.1", httpPort: 0)
        let first = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        configuration.prometheusMetrics?.httpPort = try #require(first.metricsPort)
        do {
            let second = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
            Issue.record("a second server started on the same metrics port \(second.metricsPort ?? 0)")
            await second.shutdown()
        } catch {
            #expect(
                "\(error)"
                    == "cannot serve Prometheus metrics on 127.0.0.1:\(first.metricsPort ?? 0) "
                    + "(metricsProvider.httpHost, metricsProvider.httpPort): Address already in use")
        }
        await first.shutdown()
    }

    @Test(.timeLimit(.minutes(1))) func otherPathsAreNotFound() async throws {
        let directory = try TestEnvironment.temporaryDirectory("metrics-paths")
        let server = try await startServer(dataDirectory: directory)
        let port = try #require(server.metricsPort)
        #expect(await Exposition.fetch(port: port, path: "/")?.statusLine == "HTTP/1.1 404 Not Found")
        await server.shutdown()
        #expect(await onOwnThread { RawConnection(port: port) == nil })
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// One scrape of a `/metrics` endpoint, parsed.
struct Exposition {
    var statusLine: String
    var contentType: String?
    /// `# TYPE` per family.
    var types: [String: String] = [:]
    /// Values by series (`name` or `name{label="value"}`, labels as written).
    var samples: [String: Double] = [:]

    func value(_ series: String) -> Double? { samples[series] }

    static func fetch(port: Int, path: String = "/metrics") async -> Exposition? {
        let text = await onOwnThread { () -> String in
            let connection = RawConnection(port: port, timeout: 20)
            connection?.send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
            return connection?.readToEnd() ?? ""
        }
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
        var exposition = Exposition(statusLine: head.first ?? "")
        exposition.contentType = head.first { $0.lowercased().hasPrefix("content-type:") }
            .map { $0.dropFirst("content-type:".count).trimmingCharacters(in: .whitespaces) }
        for line in text[split.upperBound...].split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { exposition.types[String(parts[2])] = String(parts[3]) }
            } else if !line.hasPrefix("#"), let space = line.lastIndex(of: " ") {
                exposition.samples[String(line[..<space])] = Double(line[line.index(after: space)...])
            }
        }
        return exposition
    }
}
