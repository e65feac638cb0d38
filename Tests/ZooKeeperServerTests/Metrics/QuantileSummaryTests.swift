import Testing

@testable import ZooKeeperServer

/// The distributions behind Apache's summaries: count and sum over the server's life, quantiles over the window.
struct QuantileSummaryTests {
    @Test func quantilesAreNearestRankOfTheObservations() {
        var summary = QuantileSummary()
        for value in 1...100 { summary.observe(Int64(value), at: 1_000) }
        #expect(summary.quantiles([0.5, 0.9, 0.99, 1], now: 1_000) == [50, 90, 99, 100])
        #expect(summary.count == 100)
        #expect(summary.sum == 5050)
    }

    @Test func anEmptyWindowHasNoQuantiles() {
        let summary = QuantileSummary()
        #expect(summary.quantiles([0.5], now: 0).allSatisfy { $0.isNaN })
    }

    @Test func oldObservationsLeaveTheQuantilesButNotTheTotals() {
        var summary = QuantileSummary()
        summary.observe(900, at: 0)
        summary.observe(1, at: QuantileSummary.windowMilliseconds - 1)
        #expect(summary.quantiles([1], now: QuantileSummary.windowMilliseconds - 1) == [900])
        #expect(summary.quantiles([1], now: QuantileSummary.windowMilliseconds) == [1])
        #expect(summary.quantiles([1], now: 3 * QuantileSummary.windowMilliseconds).allSatisfy { $0.isNaN })
        #expect(summary.count == 2 && summary.sum == 901)
    }

    @Test func onlyTheNewestObservationsUpToTheCapacityCount() {
        var summary = QuantileSummary(capacity: 40)
        for value in 1...100 { summary.observe(Int64(value), at: 5_000 + Int64(value)) }
        #expect(summary.quantiles([0, 0.5, 1], now: 5_100) == [61, 80, 100])
        #expect(summary.count == 100 && summary.sum == 5050)
    }

    @Test func observationsOverMonthsKeepTheirTimesAndValuesExact() {
        // One every five minutes for 52 days: the times go past 2^32 ms from the first while the window holds two.
        var summary = QuantileSummary()
        let step: Int64 = 300_000
        for index in Int64(0)...15_000 { summary.observe(index % 2 == 0 ? index : -index, at: index * step) }
        #expect(summary.quantiles([0, 1], now: 15_000 * step) == [-14_999, 15_000])
        #expect(summary.quantiles([0, 1], now: 15_001 * step) == [15_000, 15_000])
        #expect(summary.count == 15_001)
    }
}
