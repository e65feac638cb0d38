import DequeModule

/// A distribution of observations (milliseconds) as Apache's Prometheus summaries report one: a count and a sum
/// over the server's life, and quantiles over the recent observations only.
///
/// Apache's provider keeps its quantiles in a sliding window (the Prometheus Java client's summary: the last
/// ten minutes); so does this, holding at most `capacity` of the newest observations of the window, from which
/// the quantiles are exact.
struct QuantileSummary {
    /// How long an observation counts towards the quantiles.
    static let windowMilliseconds: Int64 = 10 * 60 * 1000
    static let capacity = 10_000

    /// Observations since the server started.
    private(set) var count: Int64 = 0
    /// Their total.
    private(set) var sum: Int64 = 0
    /// (monotonic ms, value), oldest first.
    private var recent = Deque<(time: Int64, value: Int64)>()

    mutating func observe(_ value: Int64, at time: Int64) {
        count += 1
        sum += value
        recent.append((time, value))
        if recent.count > Self.capacity { recent.removeFirst() }
        dropExpired(now: time)
    }

    /// The `q` quantile (0...1) of the observations of the last window, by nearest rank; NaN when the window is
    /// empty, as Apache reports a summary with nothing observed.
    func quantiles(_ qs: [Double], now: Int64) -> [Double] {
        let values = recent.filter { now - $0.time < Self.windowMilliseconds }.map(\.value).sorted()
        guard !values.isEmpty else { return qs.map { _ in .nan } }
        return qs.map { q in
            let rank = Int((q * Double(values.count)).rounded(.up))
            return Double(values[min(max(rank, 1), values.count) - 1])
        }
    }

    private mutating func dropExpired(now: Int64) {
        while let first = recent.first, now - first.time >= Self.windowMilliseconds { recent.removeFirst() }
    }
}
