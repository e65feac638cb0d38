import Foundation
import Testing
import ZooKeeperTestSupport

/// Exit codes and output of one-shot commands and piped scripts, through the zkcli executable.
@Suite(.serialized)
struct ExitCodeTests {
    @Test func oneShotPrintsOnlyItsResult() throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = SharedTestServers.uniqueRoot("oneshot")
        #expect(try Programs.zkcli(server: server, ["create", root, "value"]).exitCode == 0)
        let get = try Programs.zkcli(server: server, ["get", root])
        #expect(get.output == "value\n")
        #expect(get.error.isEmpty)
        #expect(get.exitCode == 0)
        let missing = try Programs.zkcli(server: server, ["get", root + "/missing"])
        #expect(missing.output.isEmpty)
        #expect(missing.error == "Node does not exist: \(root)/missing\n")
        #expect(missing.exitCode == 1)
        let unknown = try Programs.zkcli(server: server, ["frobnicate"])
        #expect(unknown.exitCode == 127)
        #expect(unknown.error.hasSuffix("Command not found: Command not found frobnicate\n"))
        _ = try Programs.zkcli(server: server, ["delete", root])
    }

    @Test func aFailureInTheMiddleOfAScriptIsNotHidden() throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = SharedTestServers.uniqueRoot("script")
        let script = "create \(root)\nget \(root)/missing\ncreate \(root)/after\nls \(root)\n"
        let run = try Programs.zkcli(server: server, input: script)
        #expect(run.exitCode == 1)
        #expect(run.output == "null\n[after]\n".replacingOccurrences(of: "null\n", with: ""))
        #expect(run.error == "Created \(root)\nNode does not exist: \(root)/missing\nCreated \(root)/after\n")
        // zkCli.sh reports only the last line (0 here).
        let unknownInTheMiddle = try Programs.zkcli(server: server, input: "nosuch\nls \(root)\n")
        #expect(unknownInTheMiddle.exitCode == 127)
        let allGood = try Programs.zkcli(server: server, input: "ls \(root)\nstat \(root)\n")
        #expect(allGood.exitCode == 0)
        _ = try Programs.zkcli(server: server, ["deleteall", root])
    }

    @Test func stopOnErrorEndsTheScriptAtTheFirstFailure() throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = SharedTestServers.uniqueRoot("stop")
        let script = "create \(root)\nset -v 99 \(root) x\ncreate \(root)/after\n"
        let run = try Programs.zkcli(server: server, ["--stop-on-error"], input: script)
        #expect(run.exitCode == 1)
        #expect(run.error == "Created \(root)\nversion No is not valid : \(root)\n")
        #expect(try Programs.zkcli(server: server, ["stat", root + "/after"]).exitCode == 1)
        _ = try Programs.zkcli(server: server, ["deleteall", root])
    }

    @Test func quitKeepsTheScriptsStatus() throws {
        let server = try SharedTestServers.connectString(.apache)
        let run = try Programs.zkcli(server: server, input: "get /nonexistent-quit\nquit\nls /\n")
        #expect(run.exitCode == 1)
        #expect(run.output.isEmpty)
    }

    @Test func theEndOfAScriptClosesTheSession() throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = SharedTestServers.uniqueRoot("eof")
        let run = try Programs.zkcli(server: server, input: "create \(root)\ncreate -e \(root)/eph\n")
        #expect(run.exitCode == 0)
        // The ephemeral went with its session at once (zkCli.sh leaves it until the session times out).
        let stat = try Programs.zkcli(server: server, ["ls", root])
        #expect(stat.output == "[]\n")
        _ = try Programs.zkcli(server: server, ["deleteall", root])
    }

    @Test func aDeadServerFailsCleanly() throws {
        let port = try TestEnvironment.freePort()
        let waiting = try Programs.zkcli(
            server: "127.0.0.1:\(port)", ["-timeout", "1000", "-waitforconnection", "ls", "/"])
        #expect(waiting.exitCode == 1)
        #expect(waiting.error.hasPrefix("Unable to connect to 127.0.0.1:\(port): "))
        let plain = try Programs.zkcli(server: "127.0.0.1:\(port)", ["ls", "/"])
        #expect(plain.exitCode == 1)
        #expect(plain.error == "KeeperErrorCode = ConnectionLoss for /\n")
        #expect(!plain.error.contains("Exception"))
    }

    @Test func badInvocations() throws {
        let bad = try Programs.run(try Programs.zkcli, ["-server", "127.0.0.1:1:2:3", "ls", "/"])
        #expect(bad.exitCode == 1)
        #expect(bad.error.contains("Invalid connect string"))
        let missingConfiguration = try Programs.run(
            try Programs.zkcli, ["-client-configuration", "/nonexistent/zk.properties", "ls", "/"])
        #expect(missingConfiguration.exitCode == 2)
        let directory = try TestEnvironment.temporaryDirectory("zkcli-config")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "zookeeper.client.secure=true\nzookeeper.ssl.trustStore.location=\(directory)/none.jks\n".write(
            toFile: directory + "/tls", atomically: true, encoding: .utf8)
        let tls = try Programs.run(try Programs.zkcli, ["-client-configuration", directory + "/tls", "ls", "/"])
        #expect(tls.exitCode == 2)
        #expect(tls.error == "zkcli: zookeeper.ssl.trustStore.location: \(directory)/none.jks: no such file\n")
        // A packet limit from the file applies: a 100-byte limit refuses a 200-byte value before sending it.
        try "# limits\njute.maxbuffer = 100\n".write(toFile: directory + "/small", atomically: true, encoding: .utf8)
        let server = try SharedTestServers.connectString(.apache)
        let big = String(repeating: "x", count: 200)
        let path = SharedTestServers.uniqueRoot("too-big")
        let limited = try Programs.zkcli(
            server: server, ["-client-configuration", directory + "/small", "create", path, big])
        #expect(limited.exitCode == 1)
        #expect(!limited.error.hasPrefix("Created"))
        _ = try Programs.zkcli(server: server, ["delete", path])
        // zkCli.sh ignores unknown options and crashes on a non-numeric timeout; these are usage errors here.
        for arguments in [["-x", "ls", "/"], ["-timeout", "abc", "ls", "/"], ["-server"]] {
            let run = try Programs.run(try Programs.zkcli, arguments)
            #expect(run.exitCode == 64)
            #expect(run.error.hasPrefix("Error: "))
        }
        let help = try Programs.run(try Programs.zkcli, ["--help"])
        #expect(help.exitCode == 0)
        #expect(help.output.contains("-server"))
        #expect(help.output.contains("--stop-on-error"))
    }
}
