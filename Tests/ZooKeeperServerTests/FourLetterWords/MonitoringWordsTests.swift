import Foundation
import Testing
import ZooKeeper
import ZooKeeperServer
import ZooKeeperTestSupport

/// The four-letter words as monitoring tools read them (the seed's `cons | grep -v 127.0.0.1 | wc -l`,
/// zookeeper_exporter, Telegraf, Datadog), asked of Apache 3.8 and zkserver side by side, each holding the same
/// state: one client with an ephemeral node and two watches.
@Suite(.serialized) struct MonitoringWordsTests {
    /// Apache 3.8's `mntr` keys that zkserver leaves out, each group with its reason (docs/monitoring.md).
    static let keysLeftOut: Set<String> = quorumKeys.union(javaPipelineKeys)

    /// An ensemble's: proposals, elections, learners, quorum authentication.
    static let quorumKeys: Set<String> = Set(
        [
            "proposal_count", "looking_count", "learner_proposal_received_count", "learner_commit_received_count",
            "ensemble_auth_success", "ensemble_auth_fail", "ensemble_auth_skip", "diff_count",
            "quit_leading_due_to_disloyal_voter", "commit_count", "revalidate_count", "connection_revalidate_count",
            "skip_learner_request_to_next_processor_count", "stale_replies", "request_commit_queued",
        ]
    ).union(
        summaries(
            "leader_unavailable_time", "follower_sync_time", "observer_sync_time", "election_time",
            "learner_request_processor_queue_size", "inflight_diff_count", "inflight_snap_count", "unavailable_time",
            "proposal_process_time")
    ).union(
        summariesWithPercentiles(
            "om_commit_process_time_ms", "om_proposal_process_time_ms", "commit_propagation_latency",
            "proposal_ack_creation_latency", "proposal_latency", "propagation_latency", "quorum_ack_latency",
            "local_write_committed_time_ms", "server_write_committed_time_ms"))

    /// The inside of Apache's Java request pipeline (prep, sync, commit and final processors, the response cache,
    /// the optimized watch manager, Netty buffers, the request throttle, JVM pauses).
    static let javaPipelineKeys: Set<String> = Set(
        [
            "outstanding_changes_removed", "outstanding_changes_queued", "prep_processor_request_queued",
            "sync_processor_request_queued", "requests_not_forwarded_to_commit_processor",
            "response_packet_cache_hits", "response_packet_cache_misses", "response_packet_get_children_cache_hits",
            "response_packet_get_children_cache_misses", "dead_watchers_queued", "dead_watchers_cleared",
            "add_dead_watcher_stall_time", "watch_bytes",
        ]
    ).union(
        summaries(
            "write_commit_proc_req_queued", "read_commit_proc_req_queued", "session_queues_drained",
            "sync_processor_queue_size", "prep_processor_queue_size", "reads_issued_from_session_queue",
            "reads_after_write_in_session_queue", "requests_in_session_queue", "write_commit_proc_issued",
            "prep_process_time", "pending_session_queue_size", "time_waiting_empty_pool_in_commit_processor_read_ms",
            "commit_process_time", "commit_commit_proc_req_queued", "write_batch_time_in_commit_processor",
            "read_commit_proc_issued", "concurrent_request_processing_in_commit_processor", "sync_process_time",
            "netty_queued_buffer_capacity", "socket_closing_time", "connection_token_deficit")
    ).union(
        summariesWithPercentiles(
            "prep_processor_queue_time_ms", "read_commitproc_time_ms", "write_commitproc_time_ms",
            "read_final_proc_time_ms", "write_final_proc_time_ms", "sync_processor_queue_time_ms",
            "sync_processor_queue_flush_time_ms", "sync_processor_queue_and_flush_time_ms",
            "dead_watchers_cleaner_latency", "close_session_prep_time", "request_throttle_queue_time_ms",
            "jvm_pause_time_ms"))

    /// The keys of Apache's summaries: avg, min, max, cnt and sum.
    static func summaries(_ names: String...) -> Set<String> {
        Set(names.flatMap { name in ["avg", "min", "max", "cnt", "sum"].map { "\($0)_\(name)" } })
    }

    /// The keys of Apache's summaries with percentiles: avg, min, max, cnt, sum, p50, p95, p99 and p999.
    static func summariesWithPercentiles(_ names: String...) -> Set<String> {
        Set(
            names.flatMap { name in
                ["avg", "min", "max", "cnt", "sum", "p50", "p95", "p99", "p999"].map { "\($0)_\(name)" }
            })
    }

    /// Keys whose values follow from the requests alone, so that both servers must give the same numbers: the
    /// watch-firing summaries, the per-namespace byte counts and the quota gauges.
    static func isDeterministic(_ key: String) -> Bool {
        key.hasSuffix("_per_namespace") || key.contains("_node_") && key.hasSuffix("_watch_count")
    }

    /// Runs `body` with the client ports of Apache and zkserver, each with the same state.
    func withBothServers(_ body: (_ apache: Int, _ zkserver: Int) async throws -> Void) async throws {
        let apache = try ApacheZooKeeperStandalone()
        defer { apache.stop() }
        try await withZKServer { server in
            var clients: [ZooKeeperClient] = []
            for connectString in [apache.address, server.connectString] {
                let client = try await ZooKeeperClient.connect(connectString)
                _ = try await client.create("/monitored", data: [1, 2], mode: .ephemeral)
                _ = try await client.exists("/monitored", watch: true)
                _ = try await client.getData("/zookeeper", watch: true)
                clients.append(client)
            }
            try await body(apache.port, server.port)
            for client in clients { await client.close() }
        }
    }

    /// The same requests on either server: each kind of watch fires once, a few namespaces are read and written,
    /// and `/quoted` gets a quota as zkCli.sh's `setquota` sets one.
    func exerciseWatchesNamespacesAndQuotas(_ connectString: String) async throws {
        let client = try await ZooKeeperClient.connect(connectString)
        _ = try await client.getChildren("/", watch: true)
        _ = try await client.create("/ns1", data: Array("abc".utf8))  // NodeChildrenChanged of /: one watcher
        _ = try await client.exists("/ns1", watch: true)
        _ = try await client.getData("/ns1", watch: true)
        _ = try await client.setData("/monitored", data: [9])  // NodeDataChanged: the first client's exists watch
        _ = try await client.setData("/ns1", data: [1])  // NodeDataChanged: this client's data watch
        _ = try await client.getChildren("/ns1", watch: true)
        _ = try await client.exists("/ns1", watch: true)
        try await client.delete("/ns1")  // NodeDeleted: once on the data table, once on the child table
        _ = try await client.exists("/ns2", watch: true)
        _ = try await client.create("/ns2", data: nil)  // NodeCreated
        _ = try await client.create("/quoted", data: nil)
        _ = try await client.create("/quoted/a", data: [1, 2, 3])
        _ = try await client.create("/zookeeper/quota/quoted", data: nil)
        _ = try await client.create(
            "/zookeeper/quota/quoted/zookeeper_limits", data: Array("count=5,bytes=100;countHardLimit=9".utf8))
        _ = try await client.create("/zookeeper/quota/quoted/zookeeper_stats", data: Array("count=0,bytes=0".utf8))
        await client.close()
    }

    func word(_ word: String, _ port: Int) throws -> String {
        try #require(TestEnvironment.fourLetterWord(word, port: port))
    }

    /// `mntr` as zookeeper_exporter and Telegraf's zookeeper input read it: one `key<TAB>value` a line.
    func monitorValues(_ port: Int) throws -> [(key: String, value: String)] {
        try word("mntr", port).split(separator: "\n").map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            try #require(fields.count == 2, "not key<TAB>value: \(line)")
            return (String(fields[0]), String(fields[1]))
        }
    }

    @Test(.timeLimit(.minutes(2))) func consListsTheConnectionThatAsksAsApacheDoes() async throws {
        try await withBothServers { apache, zkserver in
            let asking = try Regex(#"^ /127\.0\.0\.1:[0-9]+\[0\]\(queued=0,recved=1,sent=0\)$"#)
            let client = try Regex(#"^ /127\.0\.0\.1:[0-9]+\[1\]\(queued=0,recved=[0-9]+,sent=[0-9]+,sid=0x"#)
            var seedCounts: [Int] = []
            for port in [apache, zkserver] {
                let cons = try word("cons", port)
                let lines = cons.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.filter { $0.wholeMatch(of: asking) != nil }.count == 1, "\(cons)")
                #expect(lines.filter { $0.prefixMatch(of: client) != nil }.count == 1, "\(cons)")
                #expect(cons.hasSuffix(")\n\n"), "\(cons)")
                // The seed's `echo cons | nc … | grep -v 127.0.0.1 | wc -l`.
                seedCounts.append(lines.dropLast().filter { !$0.contains("127.0.0.1") }.count)
                let stat = try word("stat", port)
                #expect(stat.split(separator: "\n").contains { $0.wholeMatch(of: asking) != nil }, "\(stat)")
            }
            #expect(seedCounts[0] == seedCounts[1])
        }
    }

    @Test(.timeLimit(.minutes(2))) func mntrHasApachesKeysThatApplyTypedAlike() async throws {
        try await withBothServers { apache, zkserver in
            for port in [apache, zkserver] { try await exerciseWatchesNamespacesAndQuotas("127.0.0.1:\(port)") }
            let apacheValues = try monitorValues(apache)
            let ours = try monitorValues(zkserver)
            let expected = apacheValues.map { String($0.key.dropFirst(3)) }.filter { !Self.keysLeftOut.contains($0) }
            // Apache prints its server's own keys first, in a fixed order, then its metrics in hash order.
            let ourKeys = ours.map { String($0.key.dropFirst(3)) }
            #expect(
                Set(ourKeys) == Set(expected),
                "missing \(Set(expected).subtracting(ourKeys)), not Apache's \(Set(ourKeys).subtracting(expected))")
            #expect(ourKeys.count == Set(ourKeys).count)
            #expect(ourKeys.prefix(26) == expected.prefix(26))
            // Every key left out is one Apache has (the lists name real keys).
            let apacheKeys = Set(apacheValues.map { String($0.key.dropFirst(3)) })
            #expect(Self.keysLeftOut.subtracting(apacheKeys).isEmpty, "\(Self.keysLeftOut.subtracting(apacheKeys))")
            // A whole number where Apache writes one, a fraction where Apache writes one.
            let apacheByKey = Dictionary(apacheValues.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            for (key, value) in ours where key != "zk_version" && key != "zk_server_state" {
                let theirs = try #require(apacheByKey[key])
                #expect(Int64(value) != nil || Double(value) != nil, "\(key)=\(value)")
                #expect(value.contains(".") == theirs.contains("."), "\(key): \(value) vs Apache's \(theirs)")
                if Self.isDeterministic(key) { #expect(value == theirs, "\(key): \(value) vs Apache's \(theirs)") }
            }
            // Each family was exercised: the values compared above are not all zeros.
            for key in [
                "zk_cnt_node_created_watch_count", "zk_cnt_node_deleted_watch_count", "zk_cnt_node_changed_watch_count",
                "zk_cnt_node_children_watch_count", "zk_cnt_ns1_write_per_namespace", "zk_cnt_ns1_read_per_namespace",
                "zk_quoted_quota_count_limit_per_namespace", "zk_quoted_quota_bytes_usage_per_namespace",
            ] {
                #expect(apacheByKey[key].map { $0 != "0" } == true, "Apache's \(key): \(apacheByKey[key] ?? "none")")
            }
        }
    }

    /// A restart from the data directory: both servers replay the same log (no snapshot was due), report one
    /// recovery and the transactions it replayed, and count the replayed creates among the namespace's writes.
    @Test(.timeLimit(.minutes(3))) func aRestartReportsItsReplayAsApache() async throws {
        let apache = try ApacheZooKeeperStandalone()
        defer { apache.stop() }
        let directory = try TestEnvironment.temporaryDirectory("mntr-restart")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = ZooKeeperServerForTests.configuration()
        configuration.dataDirectory = directory
        var zkserver = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        for connectString in [apache.address, zkserver.connectString] {
            let client = try await ZooKeeperClient.connect(connectString)
            for path in ["/replayed", "/replayed/a", "/replayed/b"] { _ = try await client.create(path, data: [7]) }
            await client.close()
        }
        apache.stop()
        try apache.start()
        await zkserver.shutdown()
        zkserver = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        let apacheValues = Dictionary(try monitorValues(apache.port).map { ($0.key, $0.value) }) { a, _ in a }
        let ours = Dictionary(try monitorValues(zkserver.port).map { ($0.key, $0.value) }) { a, _ in a }
        await zkserver.shutdown()
        for key in ["zk_cnt_dbinittime", "zk_cnt_startup_snap_load_time", "zk_cnt_startup_txns_loaded"] {
            #expect(apacheValues[key] == "1", "Apache's \(key)")
            #expect(ours[key] == "1", "\(key)")
        }
        // createSession, three creates, closeSession.
        #expect(apacheValues["zk_sum_startup_txns_loaded"] == "5")
        #expect(ours["zk_sum_startup_txns_loaded"] == apacheValues["zk_sum_startup_txns_loaded"])
        for key in ["zk_cnt_replayed_write_per_namespace", "zk_sum_replayed_write_per_namespace"] {
            #expect(
                ours[key] != nil && ours[key] == apacheValues[key],
                "\(key): \(ours[key] ?? "none") vs Apache's \(apacheValues[key] ?? "none")")
        }
    }

    @Test(.timeLimit(.minutes(2))) func enviHasApachesKeysOutsideTheJVM() async throws {
        try await withBothServers { apache, zkserver in
            func entries(_ port: Int) throws -> [(String, String)] {
                let lines = try word("envi", port).split(separator: "\n")
                #expect(lines.first == "Environment:")
                return lines.dropFirst().map { line in
                    let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                }
            }
            let apacheKeys = try entries(apache).map(\.0)
            let ours = try entries(zkserver)
            #expect(ours.map(\.0) == apacheKeys.filter { !$0.hasPrefix("java.") })
            let values = Dictionary(ours, uniquingKeysWith: { a, _ in a })
            func megabytes(_ key: String) throws -> Int {
                let text = try #require(values[key])
                #expect(text.hasSuffix("MB"), "\(key)=\(text)")
                return try #require(Int(text.dropLast(2)), "\(key)=\(text)")
            }
            let total = try megabytes("os.memory.total")
            let maximum = try megabytes("os.memory.max")
            let free = try megabytes("os.memory.free")
            // Each is rounded down to whole megabytes on its own.
            #expect(total > 0 && maximum >= total && abs(free - (maximum - total)) <= 1)
            let apacheArch = try entries(apache).first { $0.0 == "os.arch" }?.1
            #expect(values["os.arch"] == apacheArch)
        }
    }

    /// `srst` starts the summaries again on both servers (the client's reads were counted before).
    @Test(.timeLimit(.minutes(2))) func srstRestartsTheSummariesAsApache() async throws {
        try await withBothServers { apache, zkserver in
            for port in [apache, zkserver] {
                func value(_ key: String) throws -> String? {
                    try monitorValues(port).first { $0.key == key }?.value
                }
                func number(_ key: String) throws -> Int { Int(try value(key) ?? "") ?? -1 }
                let reads = try number("zk_cnt_readlatency")
                let updates = try number("zk_cnt_updatelatency")
                #expect(reads >= 2 && updates >= 1, "port \(port): \(reads) reads, \(updates) updates")
                #expect(try word("srst", port) == "Server stats reset.\n")
                #expect(try value("zk_cnt_readlatency") == "0", "port \(port)")
                #expect(try value("zk_avg_updatelatency") == "0.0", "port \(port)")
                #expect(try value("zk_p99_readlatency") == "0", "port \(port)")
            }
        }
    }

    /// What zookeeper_exporter (neither pip nor Debian packages one) and Telegraf's zookeeper input do with
    /// `mntr`: split each line at the tab, drop `zk_`, keep `version` and `server_state` as labels, and parse
    /// every other value as a number (an integer, else a float), failing on anything else.
    @Test(.timeLimit(.minutes(1))) func mntrParsesAsTheExportersParseIt() async throws {
        try await withZKServer { server in
            let client = try await ZooKeeperClient.connect(server.connectString)
            _ = try await client.create("/exported", data: [1], mode: .persistent)
            var metrics: [String: Double] = [:]
            var labels: [String: String] = [:]
            for (key, value) in try monitorValues(server.port) {
                #expect(key.hasPrefix("zk_"), "\(key)")
                let name = String(key.dropFirst(3))
                if name == "version" || name == "server_state" {
                    labels[name] = value
                } else if let number = Int64(value).map(Double.init) ?? Double(value) {
                    metrics[name] = number
                } else {
                    Issue.record("\(key) has a value that is not a number: '\(value)'")
                }
            }
            #expect(labels["server_state"] == "standalone")
            #expect(metrics["znode_count"] == 6)
            #expect((metrics["packets_received"] ?? 0) >= 2)
            #expect((metrics["connection_request_count"] ?? 0) >= 2)
            #expect((metrics["response_bytes"] ?? 0) > 0)
            await client.close()
        }
    }
}
