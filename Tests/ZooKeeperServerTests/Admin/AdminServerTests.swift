import Foundation
import NIOHTTP1
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperServer

/// The AdminServer as Zabbix's "ZooKeeper by HTTP" and curl read it: every command fetched from Apache 3.8's
/// Jetty AdminServer and from zkserver's, each server holding the same state, and the JSON shapes compared
/// command by command (the keys, and whether each value is a string, a whole number, a fraction, a boolean, null,
/// a list or an object; values differ).
@Suite(.serialized) struct AdminServerTests {
    /// Objects whose keys are data (session ids, paths, expiry times): their entries are compared by shape.
    static let keyedByData: Set<String> = [
        "dump.expiry_time_to_session_ids", "dump.session_id_to_ephemeral_paths", "watches.session_id_to_watched_paths",
        "watches_by_path.path_to_session_ids",
    ]

    /// Apache's commands that zkserver does not serve: an ensemble's, and `set_trace_mask` (no trace log).
    static let ensembleCommands: Set<String> = [
        "leader", "observers", "voting_view", "observer_connection_stat_reset", "set_trace_mask",
    ]

    /// Where `ours` has a different shape from `theirs`, one line each.
    static func shapeDifferences(_ ours: JSONValue, _ theirs: JSONValue, path: String) -> [String] {
        switch (ours, theirs) {
        case (.object(let ourMembers), .object(let theirMembers)):
            if keyedByData.contains(path) {
                guard let ourFirst = ourMembers.first?.1, let theirFirst = theirMembers.first?.1 else { return [] }
                return shapeDifferences(ourFirst, theirFirst, path: path + ".*")
            }
            let ourKeys = ourMembers.map(\.0)
            let theirKeys = theirMembers.map(\.0)
            var differences: [String] = []
            let missing = theirKeys.filter { !ourKeys.contains($0) }
            let extra = ourKeys.filter { !theirKeys.contains($0) }
            if !missing.isEmpty { differences.append("\(path): missing \(missing)") }
            if !extra.isEmpty { differences.append("\(path): not Apache's \(extra)") }
            for (key, value) in ourMembers {
                guard let theirs = theirMembers.first(where: { $0.0 == key })?.1 else { continue }
                differences += shapeDifferences(value, theirs, path: "\(path).\(key)")
            }
            return differences
        case (.array(let ourValues), .array(let theirValues)):
            guard let ourFirst = ourValues.first, let theirFirst = theirValues.first else { return [] }
            return shapeDifferences(ourFirst, theirFirst, path: path + "[]")
        case (.null, .null), (.bool, .bool), (.integer, .integer), (.double, .double), (.string, .string):
            return []
        default:
            return ["\(path): \(ours.text) where Apache has \(theirs.text)"]
        }
    }

    /// Apache with its AdminServer, and zkserver with its own, each with a client holding an ephemeral node and
    /// two watches.
    func withBothAdminServers(_ body: (_ apache: Int, _ zkserver: Int) async throws -> Void) async throws {
        let apache = try ApacheZooKeeperStandalone(adminServer: true)
        defer { apache.stop() }
        var configuration = ZooKeeperServerForTests.configuration()
        var admin = ServerConfiguration.AdminServerSettings()
        admin.address = "127.0.0.1"
        admin.port = 0
        configuration.adminServer = admin
        let server = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        var clients: [ZooKeeperClient] = []
        do {
            for connectString in [apache.address, server.connectString] {
                let client = try await ZooKeeperClient.connect(connectString)
                _ = try await client.create("/administered", data: [1, 2], mode: .ephemeral)
                _ = try await client.exists("/administered", watch: true)
                _ = try await client.getData("/zookeeper", watch: true)
                clients.append(client)
            }
            try await body(try #require(apache.adminPort), try #require(server.adminPort))
        } catch {
            for client in clients { await client.close() }
            await server.shutdown()
            throw error
        }
        for client in clients { await client.close() }
        await server.shutdown()
    }

    func fetch(_ path: String, _ port: Int, method: String = "GET") throws -> HTTPReply {
        try #require(TestEnvironment.httpGet(path, port: port, method: method), "no HTTP answer to \(path)")
    }

    func json(_ path: String, _ port: Int) throws -> JSONValue {
        let reply = try fetch(path, port)
        #expect(reply.status == 200, "\(path): \(reply.status)")
        #expect(reply.headers["content-type"]?.hasPrefix("application/json") == true, "\(path): \(reply.headers)")
        return try JSONValue(parsing: reply.body)
    }

    @Test(.timeLimit(.minutes(3))) func everyCommandHasApachesShapeByEveryName() async throws {
        try await withBothAdminServers { apache, zkserver in
            for command in AdminCommand.allCases {
                for name in command.names {
                    let theirs = try json("/commands/\(name)", apache)
                    let ours = try json("/commands/\(name)", zkserver)
                    #expect(ours["command"] == .string(command.rawValue), "\(name)")
                    #expect(ours["error"] == .null, "\(name)")
                    #expect(theirs["command"] == .string(command.rawValue), "Apache's \(name)")
                    switch command {
                    case .environment:
                        // Apache's keys that mean something outside a JVM (docs/monitoring.md).
                        let theirKeys = (theirs.objectValue ?? []).map(\.0).filter { !$0.hasPrefix("java.") }
                        #expect((ours.objectValue ?? []).map(\.0) == theirKeys, "\(name)")
                        #expect((ours.objectValue ?? []).allSatisfy { $0.0 == "error" || $0.1.stringValue != nil })
                    case .systemProperties:
                        let theirKeys = Set((theirs.objectValue ?? []).map(\.0))
                        let ourKeys = Set((ours.objectValue ?? []).map(\.0))
                        #expect(
                            ourKeys.isSubset(of: theirKeys.union(["user.timezone"])),
                            "\(ourKeys.subtracting(theirKeys))")
                        #expect(ourKeys.contains("os.name") && ourKeys.contains("user.dir"))
                        #expect((ours.objectValue ?? []).allSatisfy { $0.0 == "error" || $0.1.stringValue != nil })
                    case .monitor:
                        // The keys mntr has (MonitoringWordsTests compares them with Apache's), typed alike.
                        let theirMembers = theirs.objectValue ?? []
                        for (key, value) in ours.objectValue ?? [] {
                            let apacheValue = try #require(theirMembers.first { $0.0 == key }?.1, "monitor.\(key)")
                            #expect(Self.shapeDifferences(value, apacheValue, path: "monitor.\(key)").isEmpty)
                        }
                    case .configuration, .connectionStatReset, .connections, .dirs, .dump, .getTraceMask, .hash,
                        .initialConfiguration, .isReadOnly, .lastSnapshot, .ruok, .serverStats, .statReset, .stats,
                        .watchSummary, .watches, .watchesByPath, .zabstate:
                        let differences = Self.shapeDifferences(ours, theirs, path: command.rawValue)
                        #expect(differences.isEmpty, "\(name): \(differences)")
                    }
                }
            }
        }
    }

    /// The lists that the shape comparison would pass when empty hold entries on both servers.
    @Test(.timeLimit(.minutes(3))) func listsHoldTheClientOnBothServers() async throws {
        try await withBothAdminServers { apache, zkserver in
            for port in [apache, zkserver] {
                func count(_ command: String, _ key: String) throws -> Int? {
                    let value = try json("/commands/\(command)", port)[key]
                    return value?.arrayValue?.count ?? value?.objectValue?.count
                }
                #expect(try count("connections", "connections") == 1)
                #expect(try count("stat", "connections") == 1)
                #expect(try count("wchc", "session_id_to_watched_paths") == 1)
                #expect(try count("wchp", "path_to_session_ids") == 2)
                #expect(try count("dump", "session_id_to_ephemeral_paths") == 1)
                let summary = try json("/commands/wchs", port)
                #expect(summary["num_total_watches"] == 2)
                let readOnly = try json("/commands/isro", port)
                #expect(readOnly["read_only"] == false)
            }
        }
    }

    @Test(.timeLimit(.minutes(3))) func unknownCommandsListAndOtherPathsAnswerAsApache() async throws {
        try await withBothAdminServers { apache, zkserver in
            for name in ["nope", "RUOK", "ruok/extra", "leaderz"] {
                let theirs = try fetch("/commands/\(name)", apache)
                let ours = try fetch("/commands/\(name)", zkserver)
                #expect(ours.status == theirs.status && ours.status == 200, "\(name)")
                #expect(try JSONValue(parsing: ours.body) == JSONValue(parsing: theirs.body), "\(name): \(ours.body)")
            }
            // The list links every command zkserver serves; Apache's also has an ensemble's.
            func linked(_ body: String) -> [String] {
                body.components(separatedBy: "<a href=\"/commands/").dropFirst().map {
                    String($0.prefix { $0 != "\"" })
                }
            }
            for path in ["/commands", "/commands/"] {
                let theirs = linked(try fetch(path, apache).body)
                let ours = linked(try fetch(path, zkserver).body)
                #expect(ours == theirs.filter { !Self.ensembleCommands.contains($0) }, "\(path): \(ours)")
                #expect(Set(theirs).isSuperset(of: Self.ensembleCommands))
            }
            #expect(try fetch("/", apache).status == 404 && fetch("/", zkserver).status == 404)
            #expect(try fetch("/commands/ruok", apache, method: "POST").status == 405)
            #expect(try fetch("/commands/ruok", zkserver, method: "POST").status == 405)
        }
    }

    /// What resets, resets: `stat_reset` the server's counters, `connection_stat_reset` the connections'.
    @Test(.timeLimit(.minutes(1))) func resetsResetAndHaveNoOtherEffect() async throws {
        try await withZKServer { server in
            let client = try await ZooKeeperClient.connect(server.connectString)
            _ = try await client.exists("/")
            let before = try await server.adminCommand("srvr")
            #expect((before["server_stats"]?["packets_received"]?.integerValue ?? 0) >= 2)
            #expect(try await server.adminCommand("srst") == .object([("command", "stat_reset"), ("error", nil)]))
            let after = try await server.adminCommand("server_stats")
            #expect(after["server_stats"]?["packets_received"] == 0)
            #expect(after["client_response"]?["last_buffer_size"] == -1)
            let connection = try await server.adminCommand("cons")["connections"]?.arrayValue?.first
            #expect((connection?["packets_received"]?.integerValue ?? 0) >= 2)
            _ = try await server.adminCommand("crst")
            let reset = try await server.adminCommand("cons")["connections"]?.arrayValue?.first
            #expect(reset?["packets_received"] == 0 && reset?["last_operation"] == "NA")
            await client.close()
        }
    }

    /// The comparison the Apache test relies on sees a changed type, a missing or extra key, and a difference
    /// inside lists and data-keyed objects.
    @Test func theShapeComparisonSeesDifferences() throws {
        let apache = try JSONValue(
            parsing: #"{"a": 1, "b": 1.5, "c": [{"x": "s"}], "d": null}"#)
        #expect(Self.shapeDifferences(apache, apache, path: "t").isEmpty)
        let changed = [
            #"{"a": 1.0, "b": 1.5, "c": [{"x": "s"}], "d": null}"#, #"{"a": 1, "b": 1.5, "c": [{"x": 1}], "d": null}"#,
            #"{"a": 1, "b": 1.5, "c": [{"x": "s"}]}"#, #"{"a": 1, "b": 1.5, "c": [{"x": "s"}], "d": null, "e": 2}"#,
            #"{"a": "1", "b": 1.5, "c": [{"x": "s"}], "d": null}"#,
        ]
        for text in changed {
            #expect(!Self.shapeDifferences(try JSONValue(parsing: text), apache, path: "t").isEmpty, "\(text)")
        }
        let ours = try JSONValue(parsing: #"{"session_id_to_watched_paths": {"1": [2]}}"#)
        let theirs = try JSONValue(parsing: #"{"session_id_to_watched_paths": {"7": ["/a"]}}"#)
        #expect(!Self.shapeDifferences(ours, theirs, path: "watches").isEmpty)
    }

    @Test func routes() {
        func route(_ method: HTTPMethod, _ target: String, _ url: String = "/commands") -> AdminHTTP.Route {
            AdminHTTP.route(HTTPRequest(method: method, target: target), commandURL: url)
        }
        #expect(route(.GET, "/commands") == .list && route(.GET, "/commands/") == .list)
        #expect(route(.GET, "/commands/mntr?x=1") == .command("mntr"))
        #expect(route(.GET, "/commands/a%2Fb") == .command("a/b"))
        #expect(route(.GET, "/admin/ruok", "/admin") == .command("ruok"))
        #expect(route(.GET, "/commandsX") == .notFound && route(.GET, "/") == .notFound)
        #expect(route(.POST, "/commands/ruok") == .methodNotAllowed)
        #expect(route(.HEAD, "/commands/ruok") == .command("ruok"))
        #expect(AdminCommand(name: "mntr") == .monitor && AdminCommand(name: "MNTR") == nil)
        let names = AdminCommand.allCases.flatMap(\.names)
        #expect(Set(names).count == names.count)
    }

    /// zoo.cfg turns the AdminServer on unless told otherwise, with Apache's defaults.
    @Test func zooCfgKeys() throws {
        let defaults = try ZooCfg.parse("tickTime=2000\n").configuration.adminServer
        #expect(defaults == ServerConfiguration.AdminServerSettings())
        #expect(defaults?.port == 8080 && defaults?.address == "0.0.0.0" && defaults?.commandURL == "/commands")
        #expect(defaults?.idleTimeoutMilliseconds == 30_000)
        #expect(try ZooCfg.parse("admin.enableServer=false\n").configuration.adminServer == nil)
        let set = try ZooCfg.parse(
            "admin.serverAddress=127.0.0.1\nadmin.serverPort=9090\nadmin.commandURL=/admin\nadmin.idleTimeout=500\n"
        ).configuration.adminServer
        #expect(set?.address == "127.0.0.1" && set?.port == 9090 && set?.commandURL == "/admin")
        #expect(set?.idleTimeoutMilliseconds == 500)
        #expect(throws: ZooCfg.Failure.self) { try ZooCfg.parse("admin.serverPort=70000\n") }
        #expect(throws: ZooCfg.Failure.self) { try ZooCfg.parse("admin.commandURL=commands\n") }
        #expect(ServerConfiguration().adminServer == nil)
        #expect(try ZooCfg.parse("tickTime=2000\n").configuration.initialConfigurationText == "tickTime=2000\n")
    }

    /// The executable with a zoo.cfg: the AdminServer answers at the configured address, port and command URL,
    /// and a second zkserver asking for the same port does not start (one line, exit 2), as Apache exits.
    @Test(.timeLimit(.minutes(1))) func theExecutableServesWhatZooCfgSays() throws {
        let directory = try TestEnvironment.temporaryDirectory("zkserver-admin")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ports = try TestEnvironment.freePorts(3)
        let admin = [
            "tickTime=2000", "admin.serverAddress=127.0.0.1", "admin.serverPort=\(ports[1])", "admin.commandURL=/zk",
        ]
        let server = try ZKServerProcess(port: ports[0], configuration: admin, logFile: directory + "/first.log")
        defer { server.stop() }
        let ruok = try #require(TestEnvironment.httpGet("/zk/ruok", port: ports[1]))
        #expect(
            ruok.status == 200
                && (try? JSONValue(parsing: ruok.body)) == .object([("command", "ruok"), ("error", nil)]))
        let configuration = try #require(TestEnvironment.httpGet("/zk/conf", port: ports[1]))
        #expect((try? JSONValue(parsing: configuration.body))?["client_port"] == .integer(Int64(ports[0])))
        #expect(TestEnvironment.httpGet("/commands/ruok", port: ports[1])?.status == 404)

        let second = directory + "/second.cfg"
        try (admin + ["clientPort=\(ports[2])", "clientPortAddress=127.0.0.1"]).joined(separator: "\n")
            .write(toFile: second, atomically: true, encoding: .utf8)
        let run = try Programs.run(try ZKServerProcess.executable(), [second, "--in-memory"], timeout: 30)
        #expect(run.exitCode == 2)
        let lines = run.error.split(separator: "\n")
        #expect(
            lines.contains {
                $0.hasPrefix("zkserver: cannot start: cannot start the AdminServer on 127.0.0.1:\(ports[1])")
            },
            "\(run.error)")
    }

    /// A port already taken stops the start with one clear error, as Apache exits when its AdminServer cannot
    /// start; the client port is released again.
    @Test(.timeLimit(.minutes(1))) func aTakenPortStopsTheStart() async throws {
        var configuration = ZooKeeperServerForTests.configuration()
        var admin = ServerConfiguration.AdminServerSettings()
        admin.address = "127.0.0.1"
        admin.port = 0
        configuration.adminServer = admin
        let first = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        configuration.adminServer?.port = try #require(first.adminPort)
        do {
            let second = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
            Issue.record("started on a taken port")
            await second.shutdown()
        } catch let error as AdminServerError {
            #expect(error.description.hasPrefix("cannot start the AdminServer on 127.0.0.1:\(first.adminPort ?? 0)"))
        }
        await first.shutdown()
    }
}
