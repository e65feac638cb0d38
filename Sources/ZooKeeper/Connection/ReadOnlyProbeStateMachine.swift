import NIOCore

/// While a session sits on a read-only server, asks the other servers now and then whether one of them
/// serves writes again: first after 100 ms, then twice as long each time, at most once a minute (as Apache's
/// client does).
struct ReadOnlyProbeStateMachine: Sendable {
    static let firstInterval = TimeAmount.milliseconds(100)
    static let longestInterval = TimeAmount.seconds(60)

    private(set) var nextProbe: NIODeadline
    private var interval: TimeAmount

    init(connectedAt now: NIODeadline) {
        interval = Self.firstInterval
        nextProbe = now + interval
    }

    /// Whether it is time to probe; when it is, the next probe waits twice as long.
    mutating func tick(now: NIODeadline) -> Bool {
        guard now >= nextProbe else { return false }
        interval = min(interval * 2, Self.longestInterval)
        nextProbe = now + interval
        return true
    }
}
