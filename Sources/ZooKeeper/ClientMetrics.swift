import CoreMetrics
import NIOConcurrencyHelpers
import ZooKeeperProtocol

/// What a client reports through swift-metrics (see the Metrics article for the names).
///
/// Made only when a metrics backend is there: with swift-metrics' no-op factory (nothing bootstrapped) the client
/// holds nil instead and skips even the clock readings of a request.
final class ClientMetrics: Sendable {
    static let prefix = "zookeeper_client_"
    static let requestDurationLabel = prefix + "request_duration"
    static let errorsLabel = prefix + "errors"
    static let connectionEventsLabel = prefix + "connection_events"
    static let reconnectsLabel = prefix + "reconnects"
    static let outstandingRequestsLabel = prefix + "outstanding_requests"

    private let factory: any MetricsFactory
    // Set in init, after the no-op check: the boxes' generic metadata is made at run time, which costs a client
    // without metrics (a one-shot `zkcli`) three scans of every protocol conformance record (BENCHMARKS.md).
    private let timers: NIOLockedValueBox<[OpCode: Timer]>
    private let errorCounters: NIOLockedValueBox<[ZooKeeperError.Code: Counter]>
    private let connectionEventCounters: NIOLockedValueBox<[ConnectionEvent: Counter]>
    private let reconnects: Counter
    private let outstandingRequests: Gauge

    /// nil for swift-metrics' no-op factory.
    init?(factory: any MetricsFactory) {
        if factory is NOOPMetricsHandler { return nil }
        self.factory = factory
        timers = NIOLockedValueBox([:])
        errorCounters = NIOLockedValueBox([:])
        connectionEventCounters = NIOLockedValueBox([:])
        reconnects = Counter(label: Self.reconnectsLabel, factory: factory)
        outstandingRequests = Gauge(label: Self.outstandingRequestsLabel, factory: factory)
    }

    /// A request of `opCode`, made at `start`, finished with `result`.
    func requestFinished<Success>(
        _ opCode: OpCode, since start: ContinuousClock.Instant, _ result: Result<Success, ZooKeeperError>
    ) {
        let duration = ContinuousClock.now - start
        let timer = timers.withLockedValue { timers in
            if let timer = timers[opCode] { return timer }
            let timer = Timer(
                label: Self.requestDurationLabel, dimensions: [("operation", opCode.description)], factory: factory)
            timers[opCode] = timer
            return timer
        }
        let (seconds, attoseconds) = duration.components
        timer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        if case .failure(let error) = result { errorCounter(error.code).increment() }
    }

    private func errorCounter(_ code: ZooKeeperError.Code) -> Counter {
        errorCounters.withLockedValue { counters in
            if let counter = counters[code] { return counter }
            let counter = Counter(label: Self.errorsLabel, dimensions: [("code", code.name)], factory: factory)
            counters[code] = counter
            return counter
        }
    }

    /// The connection changed (driver's event loop).
    func connectionChanged(_ event: ConnectionEvent) {
        let counter = connectionEventCounters.withLockedValue { counters in
            if let counter = counters[event] { return counter }
            let counter = Counter(
                label: Self.connectionEventsLabel, dimensions: [("event", event.description)], factory: factory)
            counters[event] = counter
            return counter
        }
        counter.increment()
        if event == .reconnected { reconnects.increment() }
    }

    /// Requests sent and not answered, plus those waiting for a connection.
    func outstandingRequestsChanged(to count: Int) {
        outstandingRequests.record(count)
    }
}
