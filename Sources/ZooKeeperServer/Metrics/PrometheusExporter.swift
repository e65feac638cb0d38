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
        for (opCode, count) in statistics.requestsByOpCode {
            advanceCounter(Self.requestsByOpCode, to: count, dimensions: [("opcode", opCode.description)])
        }
        return registry.emitToBuffer()
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
