import CoreMetrics
import Prometheus
import ZooKeeperProtocol

/// The server's statistics as Prometheus metrics, under the names Apache's `PrometheusMetricsProvider` gives
/// them, through swift-metrics into a swift-prometheus registry of this server's own (never the process-wide
/// `MetricsSystem`, so that several servers in one process keep apart).
///
/// Like Apache's provider, it holds no numbers of its own: each scrape reads the server's statistics and
/// report, sets the gauges and moves the counters up to the totals.
///
/// swift-prometheus 2.4.1 has counters, gauges and histograms but no summary type. Apache's summaries
/// (`readlatency`, `updatelatency`, `fsynctime`, `snapshottime`) are therefore exposed as the series a summary
/// has, `NAME{quantile="0.5"}` (a gauge family), `NAME_count` and `NAME_sum` (counters), so that queries and
/// dashboards written for Apache find them; only the `# TYPE` lines differ from Apache's `summary`.
///
/// Loop-confined: used only on the server's event loop.
final class PrometheusExporter: @unchecked Sendable {
    /// The media type of Prometheus's text format.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Apache's summaries that apply to a standalone server, with the quantiles Apache reports for each (its
    /// ADVANCED detail level has three, BASIC only the median).
    static func summaries(of statistics: ServerStatistics) -> [(name: String, quantiles: [Double], QuantileSummary)] {
        [
            ("readlatency", [0.5, 0.9, 0.99], statistics.readLatency),
            ("updatelatency", [0.5, 0.9, 0.99], statistics.updateLatency),
            ("fsynctime", [0.5], statistics.fsyncTime),
            ("snapshottime", [0.5], statistics.snapshotTime),
        ]
    }

    /// Requests by opcode (Apache 3.8 has no such series; the name says it is zkserver's).
    static let requestsByOpCode = "zkserver_requests_total"

    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private var gauges: [String: CoreMetrics.Gauge] = [:]
    private var counters: [String: (counter: CoreMetrics.Counter, exported: Int64)] = [:]
    private var cpuSeconds: (counter: FloatingPointCounter, exported: Double)?

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// The text a scrape gets, with the numbers of `report` (taken now, on the server's loop).
    func scrape(_ report: ServerReport, now: Int64) -> [UInt8] {
        let statistics = report.statistics
        let latency = statistics.latency
        let gaugeValues: [(String, Double)] = [
            ("znode_count", Double(report.nodeCount)),
            ("watch_count", Double(report.watchCount)),
            ("ephemerals_count", Double(report.ephemeralsCount)),
            ("approximate_data_size", Double(report.approximateDataSize)),
            ("num_alive_connections", Double(report.connections.count)),
            ("outstanding_requests", Double(report.outstandingRequests)),
            ("avg_latency", Double(latency.averageText) ?? 0),
            ("min_latency", Double(latency.minimum)),
            ("max_latency", Double(latency.maximum)),
            ("packets_received", Double(statistics.packetsReceived)),
            ("packets_sent", Double(statistics.packetsSent)),
            ("open_file_descriptor_count", Double(report.openFileDescriptors)),
            ("max_file_descriptor_count", Double(report.maximumFileDescriptors)),
            ("uptime", Double(report.uptimeMilliseconds)),
            ("global_sessions", Double(report.sessions.count)),
            ("local_sessions", 0),
            ("last_client_response_size", Double(statistics.lastResponseSize)),
            ("max_client_response_size", Double(statistics.maximumResponseSize)),
            ("min_client_response_size", Double(statistics.minimumResponseSize)),
            ("auth_failed_count", Double(statistics.authFailures)),
            ("connection_drop_probability", 0),
            ("outstanding_tls_handshake", Double(report.outstandingHandshakes)),
            ("non_mtls_local_conn_count", Double(statistics.plaintextLocalConnections)),
            ("non_mtls_remote_conn_count", Double(statistics.plaintextRemoteConnections)),
        ]
        for (name, value) in gaugeValues { setGauge(name, value) }
        advanceCounter("bytes_received_count", to: statistics.bytesReceived)
        advanceCounter("connection_rejected", to: statistics.rejectedConnections)
        for (name, quantiles, summary) in Self.summaries(of: statistics) {
            for (quantile, value) in zip(quantiles, summary.quantiles(quantiles, now: now)) {
                setGauge(name, value, dimensions: [("quantile", "\(quantile)")])
            }
            advanceCounter(name + "_count", to: summary.count)
            advanceCounter(name + "_sum", to: summary.sum)
        }
        // Apache's BASIC summaries: the median only.
        var basicSummaries = [("sync_processor_batch_size", statistics.syncBatchSize)]
        for (name, summary) in CoreActivity.summaries {
            basicSummaries.append((name, report.activity[keyPath: summary]))
        }
        for (name, summary) in basicSummaries { export(name, summary, quantiles: [0.5], now: now) }
        // Apache's summary, gauge and counter sets carry the namespace as the label `key`.
        let activity = report.activity
        for (namespace, summary) in activity.readsPerNamespace {
            export("read_per_namespace", summary, quantiles: [0.5], now: now, key: namespace)
        }
        for (namespace, summary) in activity.writesPerNamespace {
            export("write_per_namespace", summary, quantiles: [0.5], now: now, key: namespace)
        }
        let quotas = report.quotaFigures
        for (name, values) in [
            ("quota_count_limit_per_namespace", quotas.countLimit),
            ("quota_bytes_limit_per_namespace", quotas.bytesLimit),
            ("quota_count_usage_per_namespace", quotas.countUsage),
            ("quota_bytes_usage_per_namespace", quotas.bytesUsage),
        ] {
            for (namespace, value) in values { setGauge(name, Double(value), dimensions: [("key", namespace)]) }
        }
        for (namespace, count) in activity.quotaExceededPerNamespace {
            advanceCounter("quota_exceeded_error_per_namespace", to: count, dimensions: [("key", namespace)])
        }
        if report.configuration.prometheusMetrics?.exportsProcessInfo ?? true {
            exportProcess(
                openDescriptors: report.openFileDescriptors, maximumDescriptors: report.maximumFileDescriptors)
        }
        for (opCode, count) in statistics.requestsByOpCode {
            advanceCounter(Self.requestsByOpCode, to: count, dimensions: [("opcode", opCode.description)])
        }
        return registry.emitToBuffer()
    }

    /// A summary's series: `NAME{quantile=…}` gauges, `NAME_count` and `NAME_sum` counters, each with the label
    /// `key` for a member of a summary set.
    private func export(
        _ name: String, _ summary: QuantileSummary, quantiles: [Double], now: Int64, key: String? = nil
    ) {
        let label = key.map { [("key", $0)] } ?? []
        for (quantile, value) in zip(quantiles, summary.quantiles(quantiles, now: now)) {
            setGauge(name, value, dimensions: label + [("quantile", "\(quantile)")])
        }
        advanceCounter(name + "_count", to: summary.count, dimensions: label)
        advanceCounter(name + "_sum", to: summary.sum, dimensions: label)
    }

    /// The `process_*` series of Prometheus's client libraries (Apache's come from the Java client's
    /// `StandardExports`).
    private func exportProcess(openDescriptors: Int, maximumDescriptors: Int) {
        setGauge("process_open_fds", Double(openDescriptors))
        setGauge("process_max_fds", Double(maximumDescriptors))
        guard let process = ProcessStatistics.current() else { return }
        setGauge("process_start_time_seconds", process.startTimeSeconds)
        setGauge("process_virtual_memory_bytes", Double(process.virtualMemoryBytes))
        setGauge("process_resident_memory_bytes", Double(process.residentMemoryBytes))
        var entry = cpuSeconds ?? (FloatingPointCounter(label: "process_cpu_seconds_total", factory: factory), 0)
        if process.cpuSeconds > entry.exported {
            entry.counter.increment(by: process.cpuSeconds - entry.exported)
            entry.exported = process.cpuSeconds
        }
        cpuSeconds = entry
    }

    private func setGauge(_ name: String, _ value: Double, dimensions: [(String, String)] = []) {
        let key = Self.key(name, dimensions)
        let gauge = gauges[key] ?? CoreMetrics.Gauge(label: name, dimensions: dimensions, factory: factory)
        gauges[key] = gauge
        gauge.record(value)
    }

    /// Counters only grow: the counter moves up by what the total gained since the last scrape.
    private func advanceCounter(_ name: String, to total: Int64, dimensions: [(String, String)] = []) {
        let key = Self.key(name, dimensions)
        var entry =
            counters[key] ?? (CoreMetrics.Counter(label: name, dimensions: dimensions, factory: factory), 0)
        if total > entry.exported {
            entry.counter.increment(by: total - entry.exported)
            entry.exported = total
        }
        counters[key] = entry
    }

    private static func key(_ name: String, _ dimensions: [(String, String)]) -> String {
        dimensions.reduce(name) { $0 + "|" + $1.0 + "=" + $1.1 }
    }
}
