#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Time as the core sees it. Injected so that tests drive session expiry and TTLs without sleeping.
protocol ServerClock: Sendable {
    /// Milliseconds since the Unix epoch: ctime, mtime, TTL ages, session-id seeds.
    func wallMilliseconds() -> Int64
    /// Milliseconds from an arbitrary origin that never jumps: session deadlines and latencies.
    func monotonicMilliseconds() -> Int64
}

/// The system clocks.
struct SystemClock: ServerClock {
    init() {}

    func wallMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    func monotonicMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
