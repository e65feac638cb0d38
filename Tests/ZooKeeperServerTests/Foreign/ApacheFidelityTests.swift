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
}
