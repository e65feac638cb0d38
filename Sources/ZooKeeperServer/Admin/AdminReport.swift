import ZooKeeperProtocol

extension ServerReport {
    /// Apache's trace mask when none is set (`ZooTrace`'s default). zkserver writes no trace log, so the mask
    /// selects nothing; `get_trace_mask` reports it for the tools that read it.
    static let defaultTraceMask: Int64 = 306

    /// The JSON of `command`, with Apache 3.8's keys and value types: the command's members in Apache's order,
    /// then `"command"` (the primary name) and `"error"` (null). Commands that reset counters are carried out
    /// by the runtime before the report is taken.
    func json(for command: AdminCommand) -> JSONValue {
        .object(members(for: command) + [("command", .string(command.rawValue)), ("error", .null)])
    }

    /// Apache's answer to a name that is no command (HTTP 200, as Apache sends it).
    static func unknownCommandJSON(_ name: String) -> JSONValue {
        .object([("command", .string(name)), ("error", .string("Unknown command: \(name)"))])
    }

    private func members(for command: AdminCommand) -> [(String, JSONValue)] {
        switch command {
        case .configuration: configurationMembers
        case .connections: connectionLists(brief: false)
        case .connectionStatReset, .ruok, .statReset: []
        case .dirs: [("datadir_size", .number(dataDirectorySize)), ("logdir_size", .number(logDirectorySize))]
        case .dump: dumpMembers
        case .environment: environment.map { ($0.0, .string($0.1)) }
        case .getTraceMask: [("tracemask", .integer(Self.defaultTraceMask))]
        // No digest of the data tree is kept (Apache's `zookeeper.digest.enabled`): there is none to list.
        case .hash: [("digests", .array([]))]
        case .initialConfiguration: [("initial_configuration", .string(configuration.initialConfigurationText))]
        case .isReadOnly: [("read_only", .bool(refusesWrites))]
        case .lastSnapshot: lastSnapshotMembers
        case .monitor: monitorValues
        case .serverStats: serverStatsMembers
        case .stats: serverStatsMembers + connectionLists(brief: true)
        case .systemProperties: systemProperties.map { ($0.0, .string($0.1)) }
        case .watchSummary:
            [
                ("num_connections", .number(watchesByConnection.count)),
                ("num_paths", .number(watchesByPath.count)),
                ("num_total_watches", .number(watchesByConnection.reduce(0) { $0 + $1.1.count })),
            ]
        case .watches:
            [
                (
                    "session_id_to_watched_paths",
                    .object(watchesByConnection.map { ("\($0.0)", .strings($0.1)) })
                )
            ]
        case .watchesByPath:
            [("path_to_session_ids", .object(watchesByPath.map { ($0.0, .array($0.1.map { .integer($0) })) }))]
        // A standalone server takes no part in Zab: Apache answers so for its standalone too.
        case .zabstate: [("voting", .bool(false)), ("zabstate", .string(""))]
        }
    }

    private var configurationMembers: [(String, JSONValue)] {
        let dataDirectory = configuration.dataDirectory.map { $0 + "/version-2" } ?? ""
        let logDirectory =
            (configuration.dataLogDirectory ?? configuration.dataDirectory).map { $0 + "/version-2" } ?? ""
        var members: [(String, JSONValue)] = [("client_port", .number(port > 0 ? port : -1))]
        if securePort > 0 { members.append(("secure_client_port", .number(securePort))) }
        return members + [
            ("data_dir", .string(dataDirectory)),
            ("data_log_dir", .string(logDirectory)),
            ("tick_time", .number(configuration.tickTime)),
            ("max_client_cnxns", .number(configuration.maxClientConnections)),
            ("min_session_timeout", .number(configuration.effectiveMinSessionTimeout)),
            ("max_session_timeout", .number(configuration.effectiveMaxSessionTimeout)),
            ("server_id", 0),
            ("client_port_listen_backlog", .number(configuration.listenBacklog)),
        ]
    }

    /// Apache's `getConnectionInfo`: the brief form in `stats`, the full one in `connections`.
    private func connectionLists(brief: Bool) -> [(String, JSONValue)] {
        func info(_ connection: Connection) -> JSONValue {
            let stats = connection.statistics
            var members: [(String, JSONValue)] = [
                ("remote_socket_address", .string(connection.remote)),
                ("interest_ops", .number(connection.sessionID == nil ? 0 : 1)),
                ("outstanding_requests", .number(connection.queued)),
                ("packets_received", .number(stats.packetsReceived)),
                ("packets_sent", .number(stats.packetsSent)),
            ]
            if !brief {
                members += [
                    ("session_id", .number(connection.sessionID ?? 0)),
                    ("last_operation", .string(stats.lastOperation)),
                    ("established", .number(stats.established)),
                    ("session_timeout", .number(connection.timeout)),
                    ("last_cxid", .number(stats.lastXid)),
                    ("last_zxid", .number(stats.lastZxid)),
                    ("last_response_time", .number(stats.lastResponseTime)),
                    ("last_latency", .number(stats.lastLatency)),
                    ("min_latency", .number(stats.latency.minimum)),
                    ("avg_latency", .number(stats.latency.averageWhole)),
                    ("max_latency", .number(stats.latency.maximum)),
                ]
            }
            return .object(members)
        }
        return [
            ("connections", .array(connections.filter { !$0.isSecure }.map(info))),
            ("secure_connections", .array(connections.filter(\.isSecure).map(info))),
        ]
    }

    private var dumpMembers: [(String, JSONValue)] {
        let buckets = Dictionary(grouping: sessions, by: \.expiresAt).sorted { $0.key < $1.key }
        return [
            (
                "expiry_time_to_session_ids",
                .object(buckets.map { ("\($0.key)", .array($0.value.map(\.id).sorted().map { .integer($0) })) })
            ),
            ("session_id_to_ephemeral_paths", .object(ephemerals.map { ("\($0.0)", .strings($0.1)) })),
        ]
    }

    /// Apache writes the zxid in hexadecimal without `0x`, and `ffffffffffffffff` and -1 when there is none.
    private var lastSnapshotMembers: [(String, JSONValue)] {
        let zxid = lastSnapshot.map(\.zxid) ?? -1
        return [
            ("zxid", .string(String(UInt64(bitPattern: zxid), radix: 16))),
            ("timestamp", .number(lastSnapshot?.timestampSeconds ?? -1)),
        ]
    }

    private var serverStatsMembers: [(String, JSONValue)] {
        let latency = statistics.latency
        let responses: JSONValue = .object([
            ("last_buffer_size", .number(statistics.lastResponseSize)),
            ("min_buffer_size", .number(statistics.minimumResponseSize)),
            ("max_buffer_size", .number(statistics.maximumResponseSize)),
        ])
        let serverStats: JSONValue = .object([
            ("packets_sent", .number(statistics.packetsSent)),
            ("packets_received", .number(statistics.packetsReceived)),
            // Apache counts fsyncs slower than `fsync.warningthresholdms`; zkserver has no such threshold.
            ("fsync_threshold_exceed_count", 0),
            ("client_response_stats", responses),
            ("data_dir_size", .number(dataDirectorySize)),
            ("log_dir_size", .number(logDirectorySize)),
            ("provider_null", false),
            ("server_state", .string(mode)),
            ("last_processed_zxid", .number(lastZxid)),
            ("outstanding_requests", .number(outstandingRequests)),
            ("avg_latency", .double(latency.average)),
            ("max_latency", .number(latency.maximum)),
            ("min_latency", .number(latency.minimum)),
            ("num_alive_client_connections", .number(connections.count)),
            ("uptime", .number(uptimeMilliseconds)),
            ("auth_failed_count", .number(statistics.authFailures)),
            ("non_mtlsremote_conn_count", 0),
            ("non_mtlslocal_conn_count", 0),
        ])
        return [
            ("version", .string(version)),
            ("read_only", .bool(refusesWrites)),
            ("server_stats", serverStats),
            ("client_response", responses),
            ("node_count", .number(nodeCount)),
        ]
    }
}
