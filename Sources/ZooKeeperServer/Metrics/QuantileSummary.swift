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
    /// The recent observations, oldest first, in a ring that grows to `capacity` and no further. A full window of
    /// the server-wide summaries is 4,096 observations, as many as Apache's default metrics provider samples for
    /// its percentiles (`ResettableUniformReservoir`): each is packed in 8 bytes (its time as ms after `timeBase`
    /// in the high half, its value in the low half), 32 KB a summary.
    private var ring = ContiguousArray<UInt64>()
    /// Where the oldest observation is in `ring`, and how many it holds.
    private var oldest = 0
    private var recentCount = 0
    /// The time the packed offsets count from: the oldest kept observation's, or earlier.
    private var timeBase: Int64 = 0

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    mutating func observe(_ value: Int64, at time: Int64) {
        if countSinceRestart == 0 || value < minimum { minimum = value }
        if countSinceRestart == 0 || value > maximum { maximum = value }
        count += 1
        sum += value
        guard capacity > 0 else { return }
        dropExpired(now: time)
        keepRepresentable(time)
        if recentCount == capacity {
            dropOldest()
        } else if recentCount == ring.count {
            grow()
        }
        ring[slot(of: recentCount)] = pack(time: time, value: value)
        recentCount += 1
    }

    /// The `q` quantile (0...1) of the observations of the last window, by nearest rank; NaN when the window is
    /// empty, as Apache reports a summary with nothing observed.
    /// With `sinceRestart`, only the observations since `srst` count (`mntr`'s percentiles).
    func quantiles(_ qs: [Double], now: Int64, sinceRestart: Bool = false) -> [Double] {
        let start = sinceRestart ? restartTime : .min
        var values: [Int64] = []
        values.reserveCapacity(recentCount)
        for index in 0..<recentCount {
            let (time, value) = observation(at: index)
            if now - time < Self.windowMilliseconds && time >= start { values.append(value) }
        }
        values.sort()
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

    /// The `index`th kept observation, oldest first. Values are kept as 32-bit integers: the summaries observe
    /// milliseconds, counts and byte sizes of one request, all far inside that range.
    private func observation(at index: Int) -> (time: Int64, value: Int64) {
        let packed = ring[slot(of: index)]
        return (timeBase + Int64(packed >> 32), Int64(Int32(bitPattern: UInt32(truncatingIfNeeded: packed))))
    }

    private func slot(of index: Int) -> Int {
        let slot = oldest + index
        return slot >= ring.count ? slot - ring.count : slot
    }

    private func pack(time: Int64, value: Int64) -> UInt64 {
        UInt64(time - timeBase) << 32 | UInt64(UInt32(bitPattern: Int32(clamping: value)))
    }

    private mutating func dropOldest() {
        oldest += 1
        if oldest == ring.count { oldest = 0 }
        recentCount -= 1
    }

    private mutating func dropExpired(now: Int64) {
        while recentCount > 0, now - observation(at: 0).time >= Self.windowMilliseconds { dropOldest() }
    }

    /// Moves `timeBase` so that `time` and every kept observation have an offset in 32 bits. The clock is monotonic
    /// and the kept observations are within the last window (`dropExpired` ran), so the oldest one's time always
    /// serves; a clock that went backwards by more than 49 days would leave no observation to keep.
    private mutating func keepRepresentable(_ time: Int64) {
        guard recentCount > 0 else {
            timeBase = time
            return
        }
        let offset = time - timeBase
        if offset >= 0 && offset <= Int64(UInt32.max) { return }
        let newBase = min(time, observation(at: 0).time)
        let newest = max(time, observation(at: recentCount - 1).time)
        guard newest - newBase <= Int64(UInt32.max) else {
            recentCount = 0
            timeBase = time
            return
        }
        let kept = (0..<recentCount).map { observation(at: $0) }
        timeBase = newBase
        for (index, observation) in kept.enumerated() {
            ring[slot(of: index)] = pack(time: observation.time, value: observation.value)
        }
    }

    /// Room for more observations: double, up to `capacity`, with the oldest first again.
    private mutating func grow() {
        let size = Swift.min(capacity, Swift.max(16, ring.count * 2))
        var grown = ContiguousArray<UInt64>()
        grown.reserveCapacity(size)
        for index in 0..<recentCount { grown.append(ring[slot(of: index)]) }
        grown.append(contentsOf: repeatElement(0, count: size - recentCount))
        ring = grown
        oldest = 0
    }
}
