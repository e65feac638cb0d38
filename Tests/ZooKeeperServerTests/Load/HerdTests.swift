import Foundation
import Testing
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A herd of sessions from several processes through zkserver restarts, as `zkbench herd` drives it (the
/// full-size run, 10,000 sessions and a million watches, is benchmark/compare.py's `herd` section).
@Suite(.serialized) struct HerdTests {
    /// The built `zkbench`, beside zkserver.
    private func zkbench() throws -> String {
        let path = URL(fileURLWithPath: try ZKServerProcess.executable()).deletingLastPathComponent()
            .appendingPathComponent("zkbench").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError("zkbench is not built next to zkserver; run swift build first")
        }
        return path
    }

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
            executable: try zkbench(),
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

    @Test func herdRefusesAMissingServerCommand() throws {
        let run = try Programs.run(try zkbench(), ["herd", "--sessions", "10"], timeout: 30)
        #expect(run.exitCode != 0)
        #expect(run.error.contains("herd needs the server's command after --"))
    }
}
