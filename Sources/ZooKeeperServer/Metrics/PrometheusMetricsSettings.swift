/// Where zkserver serves its Prometheus metrics, as Apache's `PrometheusMetricsProvider` is configured in zoo.cfg
/// (`metricsProvider.httpHost`, `metricsProvider.httpPort`).
public struct PrometheusMetricsSettings: Sendable, Hashable {
    /// The `metricsProvider.className` that turns the endpoint on.
    public static let className = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
    /// Apache's default provider, which serves nothing over HTTP (the same as leaving the key out).
    public static let noMetricsClassName = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider"

    /// The address the endpoint binds (Apache's default: every address).
    public var httpHost: String = "0.0.0.0"
    /// Its port; 0 picks a free one.
    public var httpPort: Int = 7000
    /// `metricsProvider.exportJvmInfo`: the process's `process_*` series (CPU time, memory, descriptors, start
    /// time), which Apache's provider exports with its JVM series; the JVM's own (`jvm_*`) have no counterpart.
    public var exportsProcessInfo = true

    public init(httpHost: String = "0.0.0.0", httpPort: Int = 7000, exportsProcessInfo: Bool = true) {
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.exportsProcessInfo = exportsProcessInfo
    }
}
