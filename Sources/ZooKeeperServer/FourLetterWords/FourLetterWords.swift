import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The four-letter words (`ruok`, `srvr`, `mntr`, ...): a command sent as the first four bytes of a fresh
/// connection, answered with text in Apache's exact layout, then the connection closes.
public enum FourLetterWord: String, CaseIterable, Sendable {
    case ruok, stat, srvr, conf, cons, crst, dump, envi, mntr, srst, wchs, wchc, wchp, isro, dirs

    /// The word spelled by the first four bytes of a connection, if they spell one.
    public init?(firstBytes: some Collection<UInt8>) {
        guard firstBytes.count >= 4 else { return nil }
        self.init(rawValue: String(decoding: firstBytes.prefix(4), as: UTF8.self))
    }

    /// Apache's answer to a word that is not in `4lw.commands.whitelist`.
    public var notWhitelistedText: String {
        "\(rawValue) is not executed because it is not in the whitelist.\n"
    }
}

/// What the four-letter words and the AdminServer report, gathered by the server at the moment a word or command
/// arrives: one snapshot of the state, from which both the texts and the JSON are built.
struct ServerReport {
    struct Connection {
        /// `ip:port` of the client.
        var remote: String
        var sessionID: Int64?
        var timeout: Int32
        var queued: Int
        var statistics: ConnectionStatistics
        /// Over TLS: the AdminServer lists it among `secure_connections`.
        var isSecure = false
    }

    /// The newest snapshot file: its zxid and its modification time in seconds since the epoch.
    struct SnapshotInfo {
        var zxid: Int64
        var timestampSeconds: Int64
    }

    struct SessionEntry {
        var id: Int64
        /// Wall-clock ms of the session's deadline.
        var expiresAt: Int64
    }

    var version: String
    var configuration: ServerConfiguration
    var port: Int
    /// The TLS-only port; 0 when there is none.
    var securePort: Int = 0
    var statistics: ServerStatistics
    var connections: [Connection]
    var lastZxid: Int64
    /// Apache's node count (which counts the root twice).
    var nodeCount: Int
    var ephemeralsCount: Int
    var watchCount: Int
    var approximateDataSize: Int
    var outstandingRequests: Int
    var uptimeMilliseconds: Int64
    /// The monotonic clock's ms when the report was taken (the percentiles' window ends here).
    var now: Int64 = 0
    var sessions: [SessionEntry]
    var ephemerals: [(Int64, [String])]
    var watchesByConnection: [(Int64, [String])]
    var watchesByPath: [(String, [Int64])]
    var dataDirectorySize: Int64
    var logDirectorySize: Int64
    var openFileDescriptors: Int
    var maximumFileDescriptors: Int
    var environment: [(String, String)]
    /// The process's counterparts of Java's system properties (AdminServer `system_properties`).
    var systemProperties: [(String, String)] = []
    /// The log failed and writes are refused: reported as a read-only server.
    var refusesWrites = false
    /// Nil when there is no snapshot (an in-memory server).
    var lastSnapshot: SnapshotInfo? = nil
    /// Snapshots taken since the start (`snap_count`).
    var snapshotsTaken = 0
    /// The core's counts beyond the network's: start-up timings, watch triggers, per-namespace bytes.
    var activity = CoreActivity()
    /// The quotas' limits and usage per namespace.
    var quotaFigures = QuotaFigures()
    /// TLS handshakes under way.
    var outstandingHandshakes = 0

    /// Apache's name for the mode.
    var mode: String { refusesWrites ? "read-only" : "standalone" }
}

extension ServerReport {
    /// The text Apache sends for `word`.
    func text(for word: FourLetterWord) -> String {
        switch word {
        case .ruok: "imok"
        case .isro: refusesWrites ? "ro" : "rw"
        case .srvr: serverText(withClients: false)
        case .stat: serverText(withClients: true)
        case .conf: configurationText
        case .cons: connectionsText
        case .crst: "Connection stats reset.\n"
        case .srst: "Server stats reset.\n"
        case .dump: dumpText
        case .envi: environmentText
        case .mntr: monitorText
        case .wchs: watchSummaryText
        case .wchc: watchesByConnectionText
        case .wchp: watchesByPathText
        case .dirs: "datadir_size: \(dataDirectorySize)\nlogdir_size: \(logDirectorySize)\n"
        }
    }

    static func hex(_ value: Int64) -> String { "0x" + String(UInt64(bitPattern: value), radix: 16) }

    private func serverText(withClients: Bool) -> String {
        var text = "Zookeeper version: \(version)\n"
        if withClients {
            text += "Clients:\n"
            for connection in connections { text += connectionLine(connection, detailed: false) }
            text += "\n"
        }
        text += "Latency min/avg/max: \(statistics.latency.minimum)/\(statistics.latency.averageText)/"
        text += "\(statistics.latency.maximum)\n"
        text += "Received: \(statistics.packetsReceived)\n"
        text += "Sent: \(statistics.packetsSent)\n"
        text += "Connections: \(connections.count)\n"
        text += "Outstanding: \(outstandingRequests)\n"
        text += "Zxid: \(Self.hex(lastZxid))\n"
        text += "Mode: \(mode)\n"
        text += "Node count: \(nodeCount)\n"
        return text
    }

    private func connectionLine(_ connection: Connection, detailed: Bool) -> String {
        let stats = connection.statistics
        var line = " /\(connection.remote)[\(connection.sessionID == nil ? 0 : 1)]"
        line += "(queued=\(connection.queued),recved=\(stats.packetsReceived),sent=\(stats.packetsSent)"
        if detailed, let sessionID = connection.sessionID {
            line += ",sid=\(Self.hex(sessionID)),lop=\(stats.lastOperation),est=\(stats.established)"
            line += ",to=\(connection.timeout)"
            if stats.lastXid >= 0 { line += ",lcxid=\(Self.hex(Int64(stats.lastXid)))" }
            line += ",lzxid=\(Self.hex(stats.lastZxid)),lresp=\(stats.lastResponseTime),llat=\(stats.lastLatency)"
            line += ",minlat=\(stats.latency.minimum),avglat=\(stats.latency.averageWhole)"
            line += ",maxlat=\(stats.latency.maximum)"
        }
        return line + ")\n"
    }

    private var connectionsText: String {
        connections.map { connectionLine($0, detailed: true) }.joined() + "\n"
    }

    private var configurationText: String {
        let dataDirectory = configuration.dataDirectory.map { $0 + "/version-2" } ?? ""
        let logDirectory =
            (configuration.dataLogDirectory ?? configuration.dataDirectory).map { $0 + "/version-2" } ?? ""
        return """
            clientPort=\(port > 0 ? port : -1)
            secureClientPort=\(securePort > 0 ? securePort : -1)
            dataDir=\(dataDirectory)
            dataDirSize=\(dataDirectorySize)
            dataLogDir=\(logDirectory)
            dataLogSize=\(logDirectorySize)
            tickTime=\(configuration.tickTime)
            maxClientCnxns=\(configuration.maxClientConnections)
            minSessionTimeout=\(configuration.effectiveMinSessionTimeout)
            maxSessionTimeout=\(configuration.effectiveMaxSessionTimeout)
            clientPortListenBacklog=\(configuration.listenBacklog)
            serverId=0

            """
    }

    private var watchSummaryText: String {
        let total = watchesByConnection.reduce(0) { $0 + $1.1.count }
        return "\(watchesByConnection.count) connections watching \(watchesByPath.count) paths\n"
            + "Total watches:\(total)\n"
    }

    private var watchesByConnectionText: String {
        var text = ""
        for (sessionID, paths) in watchesByConnection {
            text += Self.hex(sessionID) + "\n"
            for path in paths { text += "\t\(path)\n" }
        }
        return text + "\n"
    }

    private var watchesByPathText: String {
        var text = ""
        for (path, sessionIDs) in watchesByPath {
            text += path + "\n"
            for sessionID in sessionIDs { text += "\t\(Self.hex(sessionID))\n" }
        }
        return text + "\n"
    }

    private var dumpText: String {
        var text = "SessionTracker dump:\n"
        let buckets = Dictionary(grouping: sessions, by: \.expiresAt).sorted { $0.key < $1.key }
        text += "Session Sets (\(buckets.count))/(\(sessions.count)):\n"
        for (expiresAt, entries) in buckets {
            text += "\(entries.count) expire at \(Self.javaDate(milliseconds: expiresAt)):\n"
            for entry in entries.sorted(by: { $0.id < $1.id }) { text += "\t\(Self.hex(entry.id))\n" }
        }
        text += "ephemeral nodes dump:\n"
        text += "Sessions with Ephemerals (\(ephemerals.count)):\n"
        for (sessionID, paths) in ephemerals {
            text += "\(Self.hex(sessionID)):\n"
            for path in paths { text += "\t\(path)\n" }
        }
        text += "Connections dump:\n"
        text += "Connections Sets (\(connections.isEmpty ? 0 : 1))/(\(connections.count)):\n"
        if !connections.isEmpty {
            let deadline = sessions.map(\.expiresAt).max() ?? 0
            text += "\(connections.count) expire at \(Self.javaDate(milliseconds: deadline)):\n"
            for connection in connections {
                text += "\tip: /\(connection.remote) sessionId: \(Self.hex(connection.sessionID ?? 0))\n"
            }
        }
        return text
    }

    private var environmentText: String {
        var text = "Environment:\n"
        for (key, value) in environment { text += "\(key)=\(value)\n" }
        return text
    }

    private var monitorText: String {
        monitorValues.map { key, value in
            let text: String
            switch value {
            case .string(let string): text = string
            case .null, .bool, .integer, .double, .array, .object: text = value.text
            }
            return "zk_\(key)\t\(text)\n"
        }.joined()
    }

    /// The keys and values of `mntr` (each key with `zk_` in front) and of the AdminServer's `monitor`: Apache
    /// 3.8's keys that mean something for a standalone zkserver (docs/monitoring.md lists those left out), in
    /// Apache's order, numbers typed as Apache types them.
    var monitorValues: [(String, JSONValue)] {
        let latency = statistics.latency
        func number(_ value: some BinaryInteger) -> JSONValue { .number(value) }
        var values: [(String, JSONValue)] = [
            ("version", .string(version)),
            ("server_state", .string(mode)),
            ("ephemerals_count", number(ephemeralsCount)),
            ("num_alive_connections", number(connections.count)),
            ("avg_latency", .double(latency.average)),
            ("outstanding_requests", number(outstandingRequests)),
            ("znode_count", number(nodeCount)),
            ("global_sessions", number(sessions.count)),
            // Plaintext connections accepted from other hosts (and, below, from loopback), as Apache's Netty
            // connection factory counts them (its default NIO factory leaves both at 0).
            ("non_mtls_remote_conn_count", number(statistics.plaintextRemoteConnections)),
            ("last_client_response_size", number(statistics.lastResponseSize)),
            ("packets_sent", number(statistics.packetsSent)),
            ("packets_received", number(statistics.packetsReceived)),
            ("max_client_response_size", number(statistics.maximumResponseSize)),
            // zkserver never drops connections on purpose (Apache's connection throttling).
            ("connection_drop_probability", .double(0)),
            ("watch_count", number(watchCount)),
            ("auth_failed_count", number(statistics.authFailures)),
            ("min_latency", number(latency.minimum)),
            ("max_file_descriptor_count", number(maximumFileDescriptors)),
            ("approximate_data_size", number(approximateDataSize)),
            ("open_file_descriptor_count", number(openFileDescriptors)),
            // Local sessions (`localSessionsEnabled`) do not exist in zkserver: every session is global.
            ("local_sessions", 0),
            ("uptime", number(uptimeMilliseconds)),
            ("max_latency", number(latency.maximum)),
            // Handshakes under way (Apache counts them only while `netty.server.outstandingHandshake.limit` is set).
            ("outstanding_tls_handshake", number(outstandingHandshakes)),
            ("min_client_response_size", number(statistics.minimumResponseSize)),
            ("non_mtls_local_conn_count", number(statistics.plaintextLocalConnections)),
        ]
        // Apache's gauge sets come right after its server's own gauges.
        values += Self.perNamespace("quota_bytes_limit_per_namespace", quotaFigures.bytesLimit)
        values += Self.perNamespace("quota_count_usage_per_namespace", quotaFigures.countUsage)
        values += Self.perNamespace("quota_count_limit_per_namespace", quotaFigures.countLimit)
        values += Self.perNamespace("quota_bytes_usage_per_namespace", quotaFigures.bytesUsage)
        values += [
            // zkserver has no request throttle, no large-request limit and no stale-request dropping: the
            // counts of what those mechanisms do stay 0, as Apache's do while its mechanisms are off.
            ("throttled_ops", 0),
            ("stale_requests_dropped", 0),
            ("large_requests_rejected", 0),
            // The AdminServer serves plain HTTP only; Apache counts plain requests only once HTTPS is set up.
            ("insecure_admin_count", 0),
            ("connection_rejected", number(statistics.rejectedConnections)),
            // The listener closes with the server: no connection outlives it.
            ("cnxn_closed_without_zk_server_running", 0),
            ("sessionless_connections_expired", number(statistics.sessionlessConnectionsExpired)),
            ("stale_requests", 0),
            ("connection_drop_count", number(statistics.clientDisconnects)),
            // No data-tree digest is kept (`zookeeper.digest.enabled`), so none can mismatch.
            ("digest_mismatches_count", 0),
            ("bytes_received_count", number(statistics.bytesReceived)),
            ("request_throttle_wait_count", 0),
            ("connection_request_count", number(statistics.acceptedConnections)),
            ("response_bytes", number(statistics.responseBytes)),
            ("snap_count", number(snapshotsTaken)),
            // The transaction log failing is zkserver's one unrecoverable error (it then refuses writes).
            ("unrecoverable_error_count", number(refusesWrites ? 1 : 0)),
            ("unsuccessful_handshake", number(statistics.failedHandshakes)),
            ("stale_sessions_expired", number(statistics.expiredSessions)),
            ("tls_handshake_exceeded", number(statistics.timedOutHandshakes)),
        ]
        values += Self.summary("readlatency", statistics.readLatency, percentilesAt: now)
        values += Self.summary("updatelatency", statistics.updateLatency, percentilesAt: now)
        values += Self.summary("fsynctime", statistics.fsyncTime)
        values += Self.summary("snapshottime", statistics.snapshotTime)
        values += Self.summary("sync_processor_batch_size", statistics.syncBatchSize)
        for (name, summary) in CoreActivity.summaries {
            values += Self.summary(name, activity[keyPath: summary])
        }
        for namespace in activity.readsPerNamespace.keys.sorted() {
            values += Self.summary("\(namespace)_read_per_namespace", activity.readsPerNamespace[namespace]!)
        }
        for namespace in activity.writesPerNamespace.keys.sorted() {
            values += Self.summary("\(namespace)_write_per_namespace", activity.writesPerNamespace[namespace]!)
        }
        values += Self.perNamespace("quota_exceeded_error_per_namespace", activity.quotaExceededPerNamespace)
        return values
    }

    /// Apache's keys for a gauge or counter set: `<namespace>_<name>`, one per namespace.
    static func perNamespace(_ name: String, _ values: [String: Int64]) -> [(String, JSONValue)] {
        values.keys.sorted().map { ("\($0)_\(name)", .integer(values[$0]!)) }
    }

    /// Apache's keys for a summary: `avg_`, `min_`, `max_`, `cnt_` and `sum_` since the start or the last `srst`,
    /// and for those with percentiles `p50_`, `p95_`, `p99_` and `p999_` of the recent observations since then
    /// (0 when there are none), whole numbers as Apache rounds them.
    static func summary(
        _ name: String, _ summary: QuantileSummary, percentilesAt now: Int64? = nil
    ) -> [(String, JSONValue)] {
        let count = summary.countSinceRestart
        let average = count > 0 ? Double(summary.sumSinceRestart) / Double(count) : 0
        var values: [(String, JSONValue)] = [
            ("avg_\(name)", .double((average * 10_000).rounded() / 10_000)),
            ("min_\(name)", .integer(summary.minimum)),
            ("max_\(name)", .integer(summary.maximum)),
            ("cnt_\(name)", .integer(count)),
            ("sum_\(name)", .integer(summary.sumSinceRestart)),
        ]
        if let now {
            let percentiles = summary.quantiles([0.5, 0.95, 0.99, 0.999], now: now, sinceRestart: true)
            for (label, value) in zip(["p50", "p95", "p99", "p999"], percentiles) {
                values.append(("\(label)_\(name)", .integer(value.isNaN ? 0 : Int64(value.rounded()))))
            }
        }
        return values
    }

    /// Java's `Date.toString()` in UTC: `Sat Nov 21 18:26:00 UTC 2026`.
    static func javaDate(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]) \(months[Int(parts.tm_mon)]) \(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC \(parts.tm_year + 1900)"
    }
}
