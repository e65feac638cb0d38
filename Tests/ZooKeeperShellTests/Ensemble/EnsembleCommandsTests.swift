import Foundation
import Testing
import ZooKeeperTestSupport

/// 4lw and ensemble through the zkcli executable, against standalone servers and a 3-node Apache ensemble.
@Suite(.serialized)
struct EnsembleCommandsTests {
    @Test(arguments: TestServerKind.allCases) func fourLetterWordsOfTheConnectedServer(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let ruok = try Programs.zkcli(server: server, ["4lw", "ruok"])
        #expect(ruok.exitCode == 0)
        #expect(ruok.output == "imok\n")
        let srvr = try Programs.zkcli(server: server, ["-o", "json", "4lw", "srvr"])
        let object = try JSONSerialization.jsonObject(with: Data(srvr.output.utf8)) as? [String: Any]
        #expect(object?["server"] as? String == server)
        #expect((object?["answer"] as? String)?.contains("Mode: standalone") == true)
        // Every member, one of them not running.
        let dead = try TestEnvironment.freePort()
        let all = try Programs.zkcli(server: "\(server),127.0.0.1:\(dead)", ["4lw", "--all", "ruok"])
        #expect(all.exitCode == 1)
        #expect(all.output.hasPrefix("== \(server) ==\nimok\n"))
        #expect(all.error.hasSuffix("1 server did not answer\n"))
        let bad = try Programs.zkcli(server: server, ["4lw", "kill"])
        #expect(bad.exitCode == 1)
        #expect(bad.error.hasPrefix("4lw: kill is not one of conf, cons, dump"))
        let standalone = try Programs.zkcli(server: server, ["ensemble"])
        #expect(standalone.exitCode == 0)
        #expect(standalone.output.split(separator: "\n").last?.hasPrefix("\(server)  standalone  0x") == true)
    }

    @Test func anEnsembleWithOneLeaderThenAMemberDown() throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        #expect(ensemble.waitForQuorum(timeout: 60))
        let connect = ensemble.connectString()
        #expect(try Programs.zkcli(server: connect, ["create", "/ensemble-test", "x"]).exitCode == 0)
        let healthy = try Programs.zkcli(server: connect, ["-o", "json", "ensemble"])
        #expect(healthy.exitCode == 0, "\(healthy.error)")
        let members = healthy.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(members.count == 3)
        #expect(members.compactMap { $0["mode"] as? String }.sorted() == ["follower", "follower", "leader"])
        // Behind the leader by a number of transactions (the leader by none).
        #expect(members.allSatisfy { ($0["lag"] as? Int ?? -1) >= 0 })
        #expect(members.first { $0["mode"] as? String == "leader" }?["lag"] as? Int == 0)
        // A follower stops: it is down, and the status says so.
        let follower = ensemble.servers.first { $0.mode() == "follower" }!
        follower.stop(signal: SIGKILL)
        let degraded = try Programs.zkcli(server: connect, ["ensemble"])
        #expect(degraded.exitCode == 1)
        #expect(degraded.output.contains("\(follower.host):\(follower.clientPort)  down"))
        #expect(degraded.error == "1 member down\n")
    }
}
