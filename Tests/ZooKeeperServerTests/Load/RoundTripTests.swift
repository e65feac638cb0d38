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
}
