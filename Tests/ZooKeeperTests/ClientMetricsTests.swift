import MetricsTestKit
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The client's swift-metrics, read from a test factory given to the client (the global `MetricsSystem` is
/// never bootstrapped here), against Apache ZooKeeper 3.8.
@Suite struct ClientMetricsTests {
    static let duration = "zookeeper_client_request_duration"
    static let errors = "zookeeper_client_errors"
    static let connectionEvents = "zookeeper_client_connection_events"
    static let reconnects = "zookeeper_client_reconnects"
    static let outstanding = "zookeeper_client_outstanding_requests"

    @Test func requestsAreTimedByOperationAndErrorsCountedByCode() async throws {
        let metrics = TestMetrics()
        let client = try await connectedClient(.apache) { $0.metricsFactory = metrics }
        try await withRoot(client) { root in
            try await client.create(root + "/a", data: bytes("1"))
            _ = try await client.getData(root + "/a")
            await expectError(.noNode) { try await client.getData(root + "/missing") }
            await expectError(.nodeExists) { try await client.create(root + "/a") }

            let getData = try metrics.expectTimer(Self.duration, [("operation", "getData")])
            #expect(getData.values.count == 2)
            #expect(getData.values.allSatisfy { $0 > 0 })
            // withRoot's create and the two of the body.
            #expect(try metrics.expectTimer(Self.duration, [("operation", "create")]).values.count == 3)
            #expect(try metrics.expectCounter(Self.errors, [("code", "NONODE")]).totalValue == 1)
            #expect(try metrics.expectCounter(Self.errors, [("code", "NODEEXISTS")]).totalValue == 1)
            #expect(metrics.counterTotal(label: Self.errors) == 2)
        }
        await client.close()
    }

    @Test func outstandingRequestsRiseWithABurstAndFallBackToZero() async throws {
        let metrics = TestMetrics()
        let client = try await connectedClient(.apache) { $0.metricsFactory = metrics }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 { group.addTask { _ = try await client.getChildren("/") } }
            try await group.waitForAll()
        }
        // Hops onto the client's event loop and back without a request: the gauge update that followed the last
        // reply has been made by then.
        try await client.waitUntilConnected(timeout: .seconds(10))
        let gauge = try metrics.expectGauge(Self.outstanding)
        #expect((gauge.values.max() ?? 0) >= 2)
        #expect(gauge.values.allSatisfy { $0 >= 0 && $0 <= 50 })
        #expect(gauge.lastValue == 0)
        await client.close()
    }

    @Test func connectionChangesAndReconnectsAreCounted() async throws {
        let server = try ApacheZooKeeperStandalone()
        defer { server.stop() }
        let metrics = TestMetrics()
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(20)
        configuration.metricsFactory = metrics
        let client = try await ZooKeeperClient.connect(server.address, configuration: configuration)
        let states = EventRecorder(client.connectionEvents)
        #expect(await states.next() == .connecting)
        #expect(await states.next() == .connected)
        #expect(try metrics.expectCounter(Self.reconnects).totalValue == 0)
        server.stop(signal: SIGKILL)
        #expect(await states.next(within: .seconds(20)) == .disconnected)
        try server.start()
        #expect(await states.next(within: .seconds(30)) == .reconnected)
        await client.close()
        #expect(await states.next() == .closed)

        #expect(try metrics.expectCounter(Self.reconnects).totalValue == 1)
        for event in ["connecting", "connected", "disconnected", "reconnected", "closed"] {
            #expect(try metrics.expectCounter(Self.connectionEvents, [("event", event)]).totalValue == 1)
        }
    }
}
