import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The built zkcli running a script on stdin, on a client host of its own (a namespace of a `NetworkLab`),
/// against a 3-node Apache ZooKeeper 3.8 ensemble whose members run on hosts of their own. The test feeds the
/// script a command at a time through a pipe, and breaks the network between commands: each command returns,
/// with its result or one clear error line, within its bound; the exit code is the README's.
// Building namespaces, veth pairs and firewall rules needs root (CAP_NET_ADMIN); elsewhere the suite is skipped.
@Suite(.serialized, .enabled(if: NetworkLab.isAvailable, "network fault tests need root, ip and iptables"))
struct ZKCliNetworkFaultTests {
    /// zkcli's `-timeout` (session timeout), in milliseconds.
    static let sessionTimeoutMilliseconds = 6000
    /// A command waits at most 5 s for a connection (zkcli's bound while disconnected), and one in flight on a
    /// dead connection fails once the read timeout (2/3 of the session timeout) passes; the bound adds both and
    /// some slack for a loaded machine.
    static let commandBound = 5.0 + 4.0 + 3.0

    /// zkcli with stdin on a pipe we write to, stdout and stderr in files.
    final class ScriptedShell {
        let process: ChildProcess
        let input: Int32
        let outputPath: String
        let errorPath: String
        private var stdoutSeen = 0
        private var stderrSeen = 0

        init(launcher: [String], arguments: [String], directory: String) throws {
            outputPath = directory + "/out"
            errorPath = directory + "/err"
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else { throw HarnessError("pipe failed") }
            _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
            do {
                process = try ChildProcess(
                    launcher[0], Array(launcher.dropFirst()) + [try Programs.zkcli] + arguments,
                    input: .descriptor(fds[0]), output: .file(outputPath), error: .file(errorPath))
            } catch {
                close(fds[0])
                close(fds[1])
                throw error
            }
            close(fds[0])
            input = fds[1]
        }

        var stdout: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

        /// Sends one command and waits (at most `bound` seconds) until it has returned: `returned` holds for
        /// what it added to stdout and stderr. Returns those additions and how long it took, or nil on timeout.
        func run(_ command: String, bound: Double, returned: (String, String) -> Bool) -> (
            stdout: String, stderr: String, took: Double
        )? {
            let line = Array((command + "\n").utf8)
            _ = line.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
            let start = Date()
            var added = ("", "")
            let done = TestEnvironment.waitUntil(timeout: bound) {
                added = (String(stdout.dropFirst(stdoutSeen)), String(stderr.dropFirst(stderrSeen)))
                return returned(added.0, added.1)
            }
            guard done else { return nil }
            stdoutSeen += added.0.count
            stderrSeen += added.1.count
            return (added.0, added.1, Date().timeIntervalSince(start))
        }

        /// Closes stdin (end of script) and waits for the exit code.
        func finish(timeout: Double) -> Int32? {
            close(input)
            guard process.wait(timeout: timeout) else { return nil }
            return process.exitCode
        }

        deinit {
            if process.isRunning {
                close(input)
                if !process.wait(timeout: 5) { kill(process.pid, SIGKILL) }
            }
        }
    }

    /// The member the client host has its connection to, from `ss` on the client host.
    static func connectedMember(_ setup: LabEnsemble) throws -> Int? {
        let sockets = try Programs.run(
            NetworkLab.ip, ["netns", "exec", setup.lab.clientNamespace, "ss", "-Htn", "state", "established"],
            timeout: 10
        ).output
        return (0..<3).first { sockets.contains(setup.lab.address(ofHost: $0) + ":2181") }
    }

    @Test func everyCommandReturnsWithinItsBoundUnderPartitions() async throws {
        let setup = try LabEnsemble(prefix: "nfcli", subnet: 25)
        defer { setup.tearDown() }
        let directory = try TestEnvironment.temporaryDirectory("zkcli-netfaults")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shell = try ScriptedShell(
            launcher: setup.lab.launcher(host: nil),
            arguments: [
                "-server", setup.connectString, "-timeout", "\(Self.sessionTimeoutMilliseconds)", "-waitforconnection",
            ],
            directory: directory)
        // Like zkCli.sh, zkcli prints `Created` on stderr and `Not connected` on stdout.
        let created = shell.run("create /cli zero", bound: 60) { _, err in err.contains("Created /cli") }
        #expect(created != nil, "stdout: \(shell.stdout) stderr: \(shell.stderr)")
        let member = try #require(try Self.connectedMember(setup))

        // zkcli's member is cut off from zkcli's host, both ways (the quorum is untouched, whichever member it
        // is); zkcli moves to another member with the same session.
        try setup.lab.dropIncoming(host: member, from: setup.lab.clientAddress)
        try setup.lab.dropOutgoing(host: member, to: setup.lab.clientAddress)
        var figures: [String] = []
        var failures = 0
        let script: [(command: String, path: String, success: String)] = [
            ("create /cli/p1 one", "/cli/p1", "Created /cli/p1"),
            ("get /cli/p1", "/cli/p1", "one"),
            ("create /cli/p2 two", "/cli/p2", "Created /cli/p2"),
            ("get /cli/p2", "/cli/p2", "two"),
        ]
        for step in script {
            let result = shell.run(step.command, bound: Self.commandBound) { out, err in
                (out + err).contains(step.success) || err.contains(step.path) || out.contains("Not connected")
            }
            guard let result else {
                Issue.record("`\(step.command)` did not return within \(Self.commandBound) s; stderr: \(shell.stderr)")
                break
            }
            if !(result.stdout + result.stderr).contains(step.success) {
                failures += 1
                // A clear error: one line that names the failure.
                #expect(
                    result.stderr.contains("ConnectionLoss") || result.stdout.contains("Not connected")
                        || result.stderr.contains("Node does not exist"),
                    "\(step.command): \(result.stdout) \(result.stderr)")
            }
            figures.append("\(step.command) \(String(format: "%.1f", result.took)) s")
        }
        try setup.lab.heal(host: member)
        // Commands after the failover succeed.
        let afterwards = shell.run("create /cli/p3 three", bound: Self.commandBound) { out, err in
            err.contains("/cli/p3") || out.contains("Not connected")
        }
        #expect(afterwards?.stderr.contains("Created /cli/p3") == true, "stderr: \(shell.stderr)")

        // zkcli's host cut off from every member: a command fails with a clear error within its bound.
        for index in 0..<3 {
            try setup.lab.dropIncoming(host: index, from: setup.lab.clientAddress)
            try setup.lab.dropOutgoing(host: index, to: setup.lab.clientAddress)
        }
        let isolated = shell.run("get /cli", bound: Self.commandBound) { out, err in
            err.contains("/cli") || out.contains("Not connected")
        }
        #expect(isolated != nil, "`get /cli` did not return while isolated; stderr: \(shell.stderr)")
        if let isolated {
            #expect(
                isolated.stderr.contains("ConnectionLoss") || isolated.stdout.contains("Not connected"),
                "\(isolated.stdout) \(isolated.stderr)")
            figures.append(String(format: "get /cli while isolated: error after %.1f s", isolated.took))
        }
        for index in 0..<3 { try setup.lab.heal(host: index) }

        // A command failed, so the script's exit code is 1 (the last failure's), as the README says.
        let exitCode = shell.finish(timeout: 30)
        #expect(exitCode == 1, "exit code \(String(describing: exitCode)); stderr: \(shell.stderr)")
        // Logs never reach stdout: it holds the results only (data read, and zkCli's `Not connected`).
        let expectedOutput = ["one", "two", "Not connected"]
        for line in shell.stdout.split(separator: "\n", omittingEmptySubsequences: true) {
            #expect(expectedOutput.contains(String(line)), "unexpected stdout line: \(line)")
        }
        // What zkcli reported created is there.
        let reader = try await NetworkFaults.client(setup.connectString, sessionTimeout: .seconds(30))
        for step in script where step.command.hasPrefix("create") && shell.stderr.contains(step.success) {
            #expect(try await reader.exists(step.path) != nil, "\(step.path)")
        }
        await reader.close()
        print(
            "network faults (zkcli, -timeout \(Self.sessionTimeoutMilliseconds)): " + figures.joined(separator: "; ")
                + "; \(failures) of \(script.count) commands failed during the partition")
    }
}
