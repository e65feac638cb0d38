import Foundation
import Testing
import ZooKeeperTestSupport

/// `zkbench round-trip`: the round trip through zkbench's own client that benchmark/compare.py sets the servers'
/// synchronous latencies against.
@Suite struct RoundTripTests {
    /// Every call is answered by the responder (so each latency is a whole round trip, not a failure), and the
    /// result comes in the format of a synchronous phase, as compare.py reads it.
    @Test(.timeLimit(.minutes(2))) func everyCallIsAnsweredAndReported() throws {
        let run = try Programs.run(try Programs.zkbench, ["round-trip", "--count", "300", "--json"], timeout: 60)
        #expect(run.exitCode == 0, "\(run.error)")
        let object = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
        #expect(object?["phase"] as? String == "round-trip")
        #expect(object?["ops"] as? Int == 300)
        #expect(object?["errors"] as? Int == 0)
        let p50 = object?["p50_ms"] as? Double ?? 0
        let p99 = object?["p99_ms"] as? Double ?? 0
        #expect(p50 > 0 && p50 <= p99)

        let text = try Programs.run(try Programs.zkbench, ["round-trip", "--count", "50"], timeout: 60)
        #expect(text.output.hasPrefix("round-trip: 50 ops in "))
        #expect(text.output.contains(" ms, p99 "))
        #expect(!text.output.contains("errors"))
    }

    /// With `--sync-directory` each reply waits for a record written and fdatasynced in that directory: the phase is
    /// reported as `write-floor`, the file is gone afterwards, and a directory that cannot hold it is one clear error.
    @Test(.timeLimit(.minutes(2))) func theWriteFloorSyncsInTheDirectoryAndCleansUp() throws {
        let directory = try TestEnvironment.temporaryDirectory("zkbench-write-floor")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try Programs.run(
            try Programs.zkbench, ["round-trip", "--count", "200", "--sync-directory", directory, "--json"],
            timeout: 60)
        #expect(run.exitCode == 0, "\(run.error)")
        let object = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
        #expect(object?["phase"] as? String == "write-floor")
        #expect(object?["ops"] as? Int == 200)
        #expect(object?["errors"] as? Int == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)

        let missing = directory + "/no-such-directory"
        let refused = try Programs.run(
            try Programs.zkbench, ["round-trip", "--count", "10", "--sync-directory", missing], timeout: 60)
        #expect(refused.exitCode != 0)
        #expect(refused.error.contains("cannot create \(missing)/write-floor-"), "\(refused.error)")
    }

    /// With `--responder-cpu` the responder's thread runs on that CPU only while the rest of zkbench stays where the
    /// system put it (compare.py places a server and the floor's responder alike); a CPU number out of range, or one
    /// the process may not run on, is refused with one line.
    @Test(.timeLimit(.minutes(2))) func theResponderRunsOnTheCPUItIsGiven() throws {
        let allowed = try Self.allowedCPUs(of: "/proc/self/status")
        let cpu = try #require(allowed.last)
        let zkbench = try ChildProcess(
            try Programs.zkbench, ["round-trip", "--count", "2000000", "--responder-cpu", String(cpu)])
        defer {
            kill(zkbench.pid, SIGKILL)
            zkbench.wait(timeout: 10)
        }
        // The responder thread is the one that sends the replies: pinned, and busy answering.
        var lists: [[Int]] = []
        let pinned = TestEnvironment.waitUntil(timeout: 30) {
            lists = Self.threadCPULists(of: zkbench.pid)
            return lists.contains([cpu])
        }
        #expect(pinned, "thread CPU lists: \(lists)")
        if allowed.count > 1 {
            #expect(lists.contains(allowed), "the other threads keep every CPU: \(lists)")
        }

        let refused = try Programs.run(
            try Programs.zkbench, ["round-trip", "--count", "10", "--responder-cpu", "100000"], timeout: 60)
        #expect(refused.exitCode != 0)
        #expect(refused.error.contains("--responder-cpu must be a CPU number from 0 to"), "\(refused.error)")

        // A CPU number that this process may not run on (past the last allowed one) ends the run with one line.
        let absent = (allowed.max() ?? 0) + 1
        let unplaced = try Programs.run(
            try Programs.zkbench, ["round-trip", "--count", "10", "--responder-cpu", String(absent)], timeout: 60)
        #expect(unplaced.exitCode != 0)
        #expect(
            unplaced.error.contains("cannot run the responder on CPU \(absent)"), "\(unplaced.error)")
        #expect(unplaced.error.split(separator: "\n").count == 1, "\(unplaced.error)")
    }

    /// The CPUs of a `Cpus_allowed_list` line ("0-1,4").
    private static func allowedCPUs(of statusPath: String) throws -> [Int] {
        let text = try String(contentsOfFile: statusPath, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else {
            return []
        }
        var cpus: [Int] = []
        for range in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
            .split(separator: ",")
        {
            let bounds = range.split(separator: "-").compactMap { Int($0) }
            guard let first = bounds.first else { continue }
            cpus += Array(first...(bounds.last ?? first))
        }
        return cpus
    }

    private static func threadCPULists(of pid: pid_t) -> [[Int]] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.compactMap { try? allowedCPUs(of: "/proc/\(pid)/task/\($0)/status") }
    }
}
