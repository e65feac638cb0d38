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
}
