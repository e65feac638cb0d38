import Synchronization
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// `Configuration.defaultEventHandler`: the default watcher's events, synchronously and in server order.
struct DefaultEventHandlerTests {
    @Test func anEventSentBeforeAReplyIsHandledBeforeTheCallerResumes() async throws {
        let seen = Mutex<[WatchedEvent]>([])
        var configuration = ZooKeeperClient.Configuration()
        configuration.defaultEventHandler = { event in seen.withLock { $0.append(event) } }
        let client = try await ZooKeeperClient.connect(
            try SharedTestServers.connectString(.apache), configuration: configuration)
        let root = SharedTestServers.uniqueRoot("handler")
        try await client.create(root, data: [1])
        _ = try await client.getData(root, watch: true)
        // The server sends the notification of our own write before the write's reply.
        try await client.setData(root, data: [2])
        let events = seen.withLock { $0 }
        #expect(events.contains(WatchedEvent(type: .none, state: .syncConnected, path: nil)))
        #expect(events.last == WatchedEvent(type: .nodeDataChanged, state: .syncConnected, path: root))
        try await client.delete(root)
        await client.close()
    }
}
