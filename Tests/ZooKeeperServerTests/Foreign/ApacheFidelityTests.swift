import Foundation
import Testing
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The same zkCli.sh session run against Apache ZooKeeper 3.8 and against the zkserver executable, both started
/// from a zoo.cfg with `enforceQuota=true` and a super digest: what zkCli prints must be the same.
@Suite(.serialized) struct ApacheFidelityTests {
    static let superDigest = "super:gG7s8t3oDEtIqF6DM9LlI/R+9Ss="  // super:super

    /// The two servers, each with a data directory, so that both can be restarted.
    final class Servers {
        let apache: ApacheZooKeeperStandalone
        let directory: String
        let port: Int
        var zkserver: ZKServerProcess

        init() throws {
            apache = try ApacheZooKeeperStandalone(
                extraConfig: ["enforceQuota=true"],
                systemProperties: [
                    "-Dzookeeper.DigestAuthenticationProvider.superDigest=\(ApacheFidelityTests.superDigest)"
                ])
            directory = try TestEnvironment.temporaryDirectory("fidelity")
            port = try TestEnvironment.freePort()
            zkserver = try Self.startZKServer(directory: directory, port: port)
        }

        static func startZKServer(directory: String, port: Int) throws -> ZKServerProcess {
            try ZKServerProcess(
                port: port,
                configuration: [
                    "dataDir=\(directory)/data", "tickTime=2000", "enforceQuota=true",
                    "DigestAuthenticationProvider.superDigest=\(ApacheFidelityTests.superDigest)",
                ],
                logFile: directory + "/server.log")
        }

        /// Apache stops cleanly; zkserver is killed, so that it recovers from what it had made durable.
        func restart() throws {
            apache.stop()
            try apache.start()
            zkserver.kill()
            zkserver = try Self.startZKServer(directory: directory, port: port)
        }

        deinit {
            zkserver.kill()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// The lines zkCli prints as results (stdout) and errors (stderr), without the JVM's and the client's logs.
    struct Transcript: Equatable, CustomStringConvertible {
        var output: [String]
        var errors: [String]
        var description: String {
            "stdout:\n" + output.joined(separator: "\n") + "\nstderr:\n" + errors.joined(separator: "\n")
        }
    }

    func zkCli(_ server: String, _ commands: [String]) throws -> Transcript {
        let run = try Programs.apacheCli(server: server, input: commands.joined(separator: "\n") + "\nquit\n")
        let noise = ["SLF4J", "WATCHER::", "WatchedEvent", "Connecting to", "Welcome to", "JLine"]
        func results(_ text: String) -> [String] {
            text.split(separator: "\n").map(String.init).filter { line in
                !line.isEmpty && !noise.contains { line.hasPrefix($0) } && !line.hasPrefix("\tat ")
            }
        }
        return Transcript(output: results(run.output), errors: results(run.error))
    }

    /// Runs `commands` against both servers and expects the same transcript; returns it.
    @discardableResult
    func same(_ servers: Servers, _ commands: [String]) throws -> Transcript {
        let apache = try zkCli(servers.apache.address, commands)
        let ours = try zkCli(servers.zkserver.address, commands)
        #expect(ours == apache, "zkserver:\n\(ours)\n\nApache 3.8:\n\(apache)")
        return apache
    }

    @Test(.timeLimit(.minutes(5))) func quotaStatisticsLimitsAndIdentitiesMatchApache() throws {
        let zkCliPath = ApacheZooKeeperInstallation.zkCli
        guard FileManager.default.isExecutableFile(atPath: zkCliPath) else {
            throw HarnessError("\(zkCliPath) is missing; install it with: apt-get install zookeeper zookeeper-bin")
        }
        let servers = try Servers()

        // Statistics: the subtree as it is when the quota is set, then every create, setData and delete.
        var transcript = try same(
            servers,
            [
                "create /q a", "create /q/b bb", "setquota -n 10 /q", "listquota /q",
                "create /q/c ccc", "create /q/c/d", "listquota /q",
                "set /q/c cccccc", "delete /q/b", "listquota /q",
                "get /zookeeper/quota/q/zookeeper_stats",
            ])
        #expect(transcript.output.contains("Output stat for /q count=2,bytes=3"), "\(transcript)")
        #expect(transcript.output.contains("Output stat for /q count=4,bytes=6"), "\(transcript)")
        #expect(transcript.output.contains("Output stat for /q count=3,bytes=7"), "\(transcript)")

        // Hard limits (enforceQuota=true): count, then bytes; soft limits only warn in the shell.
        transcript = try same(
            servers,
            [
                "create /n", "setquota -N 3 /n", "create /n/1", "create /n/2", "create /n/3", "listquota /n",
                "create /r", "setquota -B 5 /r", "create /r/a 123", "set /r/a 123456", "create /r/b 12",
                "create /r/c 1", "create /r/d", "listquota /r",
                "setquota -n 1 /r", "create /r/e 123456789", "delquota -B /r", "create /r/f 123456789",
                "listquota /r", "delquota /n", "create /n/4", "listquota /n",
            ])
        #expect(transcript.errors.filter { $0.hasPrefix("Quota has exceeded") }.count == 4, "\(transcript)")
        #expect(transcript.output.contains("Output stat for /n count=3,bytes=0"), "\(transcript)")

        // Identities in Apache's order, with one addauth, several, and the super user. zkCli.sh runs its first
        // command at once, connected or not, and an addauth made before the connection is sent again at connect,
        // in reverse order (ClientCnxn.primeConnection puts each at the front of the queue): so the server's
        // insertion order, and with it the hash order, would depend on when the connection came. An `ls` first
        // waits for it.
        transcript = try same(servers, ["ls /zookeeper", "addauth digest alice:secret", "whoami"])
        #expect(transcript.output.suffix(2) == ["digest: alice", "ip: 127.0.0.1"], "\(transcript)")
        let many = (1...14).map { "addauth digest user\($0):pw" }
        transcript = try same(servers, ["ls /zookeeper"] + many + ["whoami"])
        #expect(transcript.output.count == 17, "\(transcript)")
        try same(servers, ["ls /zookeeper", "addauth digest super:super", "whoami", "create /auth x auth::cdrwa", "getAcl /auth"])

        // After a restart (Apache stopped, zkserver SIGKILLed), the statistics are those of the tree, and follow on.
        try servers.restart()
        transcript = try same(servers, ["listquota /q", "listquota /r", "create /q/after 12", "listquota /q"])
        #expect(transcript.output.contains("Output stat for /q count=3,bytes=7"), "\(transcript)")
        #expect(transcript.output.contains("Output stat for /q count=4,bytes=9"), "\(transcript)")
    }

    /// The fields of each `stat` zkCli printed, in order (zxids as numbers; ctime and mtime left out).
    func stats(_ transcript: Transcript) -> [[String: Int64]] {
        let fields = [
            "cZxid", "mZxid", "pZxid", "cversion", "dataVersion", "aclVersion", "ephemeralOwner", "dataLength",
            "numChildren",
        ]
        var result: [[String: Int64]] = []
        for line in transcript.output {
            let parts = line.split(separator: " = ", maxSplits: 1).map(String.init)
            guard parts.count == 2, fields.contains(parts[0]) else { continue }
            if parts[0] == "cZxid" || result.isEmpty { result.append([:]) }
            let value = parts[1].hasPrefix("0x") ? Int64(parts[1].dropFirst(2), radix: 16) : Int64(parts[1])
            result[result.count - 1][parts[0]] = value
        }
        return result
    }

    /// A session that ends (zkCli quits) takes its ephemerals, and its close moves their parent's pzxid; after a
    /// restart (zkserver SIGKILLed, so it replays the close from its log) they stay gone and the parent's stat is
    /// as before. Zxids are compared as offsets from the parent's czxid, the same on both servers.
    @Test(.timeLimit(.minutes(5))) func aClosedSessionsEphemeralsStayGoneAfterARestartAndTheParentsStatIsApaches()
        throws
    {
        let zkCliPath = ApacheZooKeeperInstallation.zkCli
        guard FileManager.default.isExecutableFile(atPath: zkCliPath) else {
            throw HarnessError("\(zkCliPath) is missing; install it with: apt-get install zookeeper zookeeper-bin")
        }
        let servers = try Servers()
        try same(servers, ["create /fid", "create /fid/k", "create -e /fid/e1", "create -e /fid/e2", "create -e /e3"])
        let check = ["stat /fid", "ls /fid", "ls /", "create /after", "stat /after"]
        var relative: [String: [String: Int64]] = [:]
        for (name, address) in [("Apache", servers.apache.address), ("zkserver", servers.zkserver.address)] {
            let transcript = try zkCli(address, check)
            #expect(transcript.output.contains("[k]"), "\(name): \(transcript)")
            #expect(transcript.output.contains("[fid, zookeeper]"), "\(name): \(transcript)")
            let found = stats(transcript)
            guard found.count == 2, let parent = found.first, let czxid = parent["cZxid"] else {
                Issue.record("\(name): \(transcript)")
                continue
            }
            relative[name] = [
                "pZxid": (parent["pZxid"] ?? -1) - czxid, "cversion": parent["cversion"] ?? -1,
                "numChildren": parent["numChildren"] ?? -1, "after": (found[1]["cZxid"] ?? -1) - czxid,
            ]
        }
        #expect(relative["zkserver"] == relative["Apache"], "\(relative)")
        #expect(relative["zkserver"]?["pZxid"] == 5, "the close, five transactions after /fid's create, moves it")

        try servers.restart()
        let after = try same(servers, ["ls /fid", "ls /"])
        #expect(after.output.contains("[k]") && after.output.contains("[after, fid, zookeeper]"), "\(after)")
        let ours = try #require(stats(try zkCli(servers.zkserver.address, ["stat /fid"])).first)
        let apache = try #require(stats(try zkCli(servers.apache.address, ["stat /fid"])).first)
        for stat in [ours, apache] {
            #expect((stat["pZxid"] ?? -1) - (stat["cZxid"] ?? 0) == 5, "\(stat)")
            #expect(stat["cversion"] == relative["Apache"]?["cversion"], "\(stat)")
            #expect(stat["numChildren"] == 1, "\(stat)")
        }
    }

    /// `stat` of each of `paths` through zkCli, zxids as offsets from the node's czxid (nil when zkCli printed none).
    func relativeStats(_ address: String, _ paths: [String]) throws -> [String: [String: Int64]]? {
        let found = stats(try zkCli(address, paths.map { "stat " + $0 }))
        guard found.count == paths.count else { return nil }
        var result: [String: [String: Int64]] = [:]
        for (path, stat) in zip(paths, found) {
            let czxid = stat["cZxid"] ?? 0
            result[path] = [
                "pZxid": (stat["pZxid"] ?? -1) - czxid, "mZxid": (stat["mZxid"] ?? -1) - czxid,
                "cversion": stat["cversion"] ?? -1, "numChildren": stat["numChildren"] ?? -1,
            ]
        }
        return result
    }

    /// A kazoo client that vanishes without closing its session: the server expires it and deletes its ephemerals
    /// (zkserver logs that as a closeSession naming them). The parents' stats are Apache's, and stay so after a
    /// restart (zkserver SIGKILLed, so it replays the expiry from its log).
    @Test(.timeLimit(.minutes(5))) func anExpiredSessionsEphemeralsStayGoneAfterARestartAndTheParentsStatIsApaches()
        throws
    {
        let zkCliPath = ApacheZooKeeperInstallation.zkCli
        guard FileManager.default.isExecutableFile(atPath: zkCliPath) else {
            throw HarnessError("\(zkCliPath) is missing; install it with: apt-get install zookeeper zookeeper-bin")
        }
        try requireTool(
            check: ["/usr/bin/env", "python3", "-c", "import kazoo"],
            install: "pip install kazoo (and python3 from apt-get install python3)")
        let servers = try Servers()
        let directory = try TestEnvironment.temporaryDirectory("expiry")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = directory + "/expire.py"
        try expiryScript.write(toFile: script, atomically: true, encoding: .utf8)
        let parents = ["/exp", "/exp2"]
        var before: [String: [String: [String: Int64]]] = [:]
        for (name, address) in [("Apache", servers.apache.address), ("zkserver", servers.zkserver.address)] {
            let result = try runTool("/usr/bin/env", ["python3", script, address], timeout: 120)
            #expect(result.status == 0 && result.output.contains("EXPIRED"), "\(name):\n\(result.output)")
            before[name] = try relativeStats(address, parents)
        }
        #expect(before["zkserver"] != nil && before["zkserver"] == before["Apache"], "\(before)")

        try servers.restart()
        let listing = try same(servers, ["ls /exp", "ls /exp2"])
        #expect(listing.output == ["[k]", "[]"], "\(listing)")
        #expect(try relativeStats(servers.zkserver.address, parents) == before["Apache"])
        #expect(try relativeStats(servers.apache.address, parents) == before["Apache"])
    }
}

/// Creates /exp (with a child) and /exp2, then runs a client that makes ephemerals under both with a 4 s session
/// and SIGKILLs itself (no closeSession); waits (bounded) until the server has expired it and deleted them.
private let expiryScript = #"""
    import os, subprocess, sys, threading
    from kazoo.client import KazooClient

    OWNER = """
    import os, sys
    from kazoo.client import KazooClient
    zk = KazooClient(hosts=sys.argv[1], timeout=4.0)
    zk.start(20)
    for path in ["/exp/e1", "/exp/e2", "/exp2/e"]:
        zk.create(path, ephemeral=True)
    print("CREATED", flush=True)
    os.kill(os.getpid(), 9)
    """

    hosts = sys.argv[1]
    keeper = KazooClient(hosts=hosts, timeout=30.0)
    keeper.start(20)
    for path in ["/exp", "/exp/k", "/exp2"]:
        keeper.create(path)
    owner = subprocess.run([sys.executable, "-c", OWNER, hosts], capture_output=True, text=True, timeout=60)
    if "CREATED" not in owner.stdout:
        print("FAIL the owner did not create its ephemerals:", owner.stdout, owner.stderr)
        sys.exit(1)
    for path in ["/exp/e1", "/exp/e2", "/exp2/e"]:
        gone = threading.Event()
        if keeper.exists(path, watch=lambda event: gone.set()) is not None and not gone.wait(60):
            print("FAIL", path, "still there a minute later")
            sys.exit(1)
    keeper.stop()
    keeper.close()
    print("EXPIRED")
    """#
