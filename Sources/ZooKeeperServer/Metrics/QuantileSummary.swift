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
    /// The observations kept for the quantiles, at most.
    let capacity: Int

    /// Observations since the server started.
    private(set) var count: Int64 = 0
    /// Their total.
    private(set) var sum: Int64 = 0
    /// `mntr`'s figures start again at `srst`, as Apache's metrics do, while the Prometheus count and sum only
    /// grow: the count, sum and time when they last started, and the smallest and largest since.
    private var restartCount: Int64 = 0
    private var restartSum: Int64 = 0
    private var restartTime: Int64 = .min
    private(set) var minimum: Int64 = 0
    private(set) var maximum: Int64 = 0
    var countSinceRestart: Int64 { count - restartCount }
    var sumSinceRestart: Int64 { sum - restartSum }
    /// (monotonic ms, value), oldest first.
    private var recent = Deque<(time: Int64, value: Int64)>()

    init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    mutating func observe(_ value: Int64, at time: Int64) {
        if countSinceRestart == 0 || value < minimum { minimum = value }
        if countSinceRestart == 0 || value > maximum { maximum = value }
        count += 1
        sum += value
        recent.append((time, value))
        if recent.count > capacity { recent.removeFirst() }
        dropExpired(now: time)
    }

    /// The `q` quantile (0...1) of the observations of the last window, by nearest rank; NaN when the window is
    /// empty, as Apache reports a summary with nothing observed.
    /// With `sinceRestart`, only the observations since `srst` count (`mntr`'s percentiles).
    func quantiles(_ qs: [Double], now: Int64, sinceRestart: Bool = false) -> [Double] {
        let start = sinceRestart ? restartTime : .min
        let values = recent.filter { now - $0.time < Self.windowMilliseconds && $0.time >= start }.map(\.value)
            .sorted()
        guard !values.isEmpty else { return qs.map { _ in .nan } }
        return qs.map { q in
            let rank = Int((q * Double(values.count)).rounded(.up))
            return Double(values[min(max(rank, 1), values.count) - 1])
        }
    }

    /// `srst`: `mntr`'s figures of the summary start again at `time`.
    mutating func restartMonitorFigures(at time: Int64) {
        restartCount = count
        restartSum = sum
        restartTime = time
        minimum = 0
        maximum = 0
    }

    private mutating func dropExpired(now: Int64) {
        while let first = recent.first, now - first.time >= Self.windowMilliseconds { recent.removeFirst() }
    }
}
