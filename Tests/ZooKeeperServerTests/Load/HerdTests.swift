import Foundation
import Testing
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A herd of sessions from several processes through zkserver restarts, as `zkbench herd` drives it (the
/// full-size run, 10,000 sessions and a million watches, is benchmark/compare.py's `herd` section).
@Suite(.serialized) struct HerdTests {
    /// Runs `zkbench herd` against a zkserver of its own (started and restarted by the tool, in the tool's
    /// process group, so nothing outlives the test) and returns its JSON lines.
    private func herd(_ arguments: [String], stop: String) throws -> [[String: Any]] {
        let directory = try TestEnvironment.temporaryDirectory("herd")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try TestEnvironment.freePort()
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try [
            "tickTime=2000", "dataDir=\(directory)/data", "clientPort=\(port)", "clientPortAddress=127.0.0.1",
            "maxClientCnxns=0", "4lw.commands.whitelist=*",
        ].joined(separator: "\n").write(toFile: directory + "/zoo.cfg", atomically: true, encoding: .utf8)
        let output = directory + "/herd.out"
        let process = try ManagedProcess(
            executable: try Programs.zkbench,
            arguments: [
                "herd", "--server", "127.0.0.1:\(port)", "--stop", stop, "--wait-limit", "120",
                "--server-directory", directory, "--server-log", directory + "/server.log",
            ] + arguments + ["--", try ZKServerProcess.executable(), "zoo.cfg"],
            workingDirectory: directory, logFile: output, processGroup: true)
        defer { process.stop(signal: SIGKILL) }
        #expect(process.waitForExit(timeout: 600), "zkbench herd did not finish")
        let lines = process.log().split(separator: "\n").filter { $0.hasPrefix("{") }
        let objects = lines.compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
        if objects.last?["phase"] as? String != "summary" {
            let server = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
            Issue.record("no summary from zkbench herd:\n\(process.log().suffix(3000))\n\(server.suffix(2000))")
        }
        return objects
    }

    private func phase(_ name: String, _ objects: [[String: Any]]) -> [[String: Any]] {
        objects.filter { $0["phase"] as? String == name }
    }

    @Test(.timeLimit(.minutes(10)), arguments: ["kill", "term"])
    func everySessionResumesAfterEachRestart(stop: String) throws {
        let sessions = 500
        let watches = 20
        let objects = try herd(
            ["--sessions", "\(sessions)", "--processes", "2", "--watches", "\(watches)", "--rounds", "3"], stop: stop)

        let setup = try #require(phase("setup", objects).first)
        #expect(setup["sessions"] as? Int == sessions)
        #expect(setup["watches"] as? Int == sessions * watches)

        let rounds = phase("round", objects)
        #expect(rounds.count == 3)
        for round in rounds {
            // Same session id, not expired, its ephemeral still there and still its own.
            #expect(round["resumed"] as? Int == sessions, "\(round)")
            #expect(round["expired"] as? Int == 0, "\(round)")
            #expect(round["ephemerals"] as? Int == sessions, "\(round)")
        }
        // The watches set before the first restart were carried through all three: one change of each shared
        // node fires every one of them.
        let fire = try #require(phase("fire", objects).first)
        #expect(fire["received"] as? Int == sessions * watches)

        // No descriptor leaks from round to round: the server holds one per session, as after the first restart.
        let first = try #require(rounds.first?["fds"] as? Int)
        let last = try #require(rounds.last?["fds"] as? Int)
        #expect(first >= sessions)
        #expect(abs(last - first) <= first / 20, "fds \(first) after round 1, \(last) after round 3")
        #expect(phase("summary", objects).first?["ok"] as? Bool == true)
    }

    /// A zkserver of the test's own, on a fresh data directory.
    private func startServer(_ name: String) throws -> (ZKServerProcess, String) {
        let directory = try TestEnvironment.temporaryDirectory(name)
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        let server = try ZKServerProcess(
            port: try TestEnvironment.freePort(), configuration: ["tickTime=2000", "dataDir=\(directory)/data"],
            logFile: directory + "/server.log")
        return (server, directory)
    }

    /// `zkbench fire`: the close of one session that owns 300 ephemerals fires every exists watch of 3 other
    /// sessions on them, and the tool reads the server's RSS around the watches.
    @Test(.timeLimit(.minutes(3))) func oneCloseFiresEveryWatchOnTheOwnersEphemerals() throws {
        let (server, directory) = try startServer("fire")
        defer {
            server.kill()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let run = try Programs.run(
            try Programs.zkbench,
            [
                "fire", "--server", server.address, "--nodes", "300", "--watchers", "3", "--window", "50",
                "--server-pid", "\(server.process.pid)",
            ], timeout: 120)
        #expect(run.exitCode == 0, "\(run.error)")
        let line = try #require(run.output.split(separator: "\n").last { $0.hasPrefix("{") })
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(result["watches"] as? Int == 900)
        #expect(result["received"] as? Int == 900)
        #expect((result["rss_kib_before"] as? Int ?? 0) > 0)
        // The tool cleans up after itself: its root is gone.
        let check = try Programs.run(try Programs.zkcli, ["-server", server.address, "stat", "/zkbench-fire"])
        #expect(check.error.contains("Node does not exist"), "\(check.output)\(check.error)")
    }

    /// `zkbench phases --phases create sync-children` times the listing of --count children of --root.
    @Test(.timeLimit(.minutes(3))) func childrenPhaseListsTheCreatedChildren() throws {
        let (server, directory) = try startServer("children")
        defer {
            server.kill()
            try? FileManager.default.removeItem(atPath: directory)
        }
        let run = try Programs.run(
            try Programs.zkbench,
            [
                "phases", "--server", server.address, "--root", "/kids", "--phases", "create", "sync-children",
                "--count", "2000", "--sync-count", "20", "--keep",
            ], timeout: 120)
        #expect(run.exitCode == 0, "\(run.error)")
        #expect(run.output.contains("sync-children: 20 ops"), "\(run.output)")
        #expect(!run.output.contains("errors"), "\(run.output)")
        let count = try Programs.run(try Programs.zkcli, ["-server", server.address, "getAllChildrenNumber", "/kids"])
        #expect(count.output.trimmingCharacters(in: .whitespacesAndNewlines) == "2000", "\(count.error)")
    }

    @Test func herdRefusesAMissingServerCommand() throws {
        let run = try Programs.run(try Programs.zkbench, ["herd", "--sessions", "10"], timeout: 30)
        #expect(run.exitCode != 0)
        #expect(run.error.contains("herd needs the server's command after --"))
    }
}
