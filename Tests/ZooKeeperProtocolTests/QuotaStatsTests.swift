import Testing
import ZooKeeperProtocol

/// The quota text of `StatsTrack`, as zkCli writes it and the server rewrites it.
struct QuotaStatsTests {
    @Test func roundTripsTheTextZkCliWrites() throws {
        var stats = try #require(QuotaStats("count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"))
        #expect(stats.count == 10)
        #expect(stats.description == "count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=-1")
        stats.count = -1
        #expect(stats.description == "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1")
        #expect(QuotaStats("count=4,bytes=8")?.description == "count=4,bytes=8")
        #expect(QuotaStats("")?.description == "count=-1,bytes=-1")
        #expect(QuotaStats(data: Array("count=2,bytes=3".utf8))?.count == 2)
        #expect(QuotaStats(data: nil) == nil)
    }

    /// Where Java's parser throws, there is no value.
    @Test(arguments: ["count=x", "garbage", "count=", "count==", ",count=1", "count=1,bytes"])
    func refusesWhatJavaRefuses(text: String) {
        #expect(QuotaStats(text) == nil)
    }

    /// `key==` followed by more reads as -1, as `StringUtils.isEmpty(kv[1])` makes it.
    @Test func anEmptyValueBeforeAnotherEqualsSignIsMinusOne() {
        #expect(QuotaStats("count==5,bytes=1")?.count == -1)
        #expect(QuotaStats("count=1,,;bytes=2;")?.bytes == 2)
    }
}
