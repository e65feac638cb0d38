import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The recipes across a lost connection that keeps its session: a standalone Apache server killed and restarted
/// on its data directory.
@Suite(.timeLimit(.minutes(5))) struct RecipeReconnectTests {
    @Test func recipesSuspendAndComeBackWhenTheConnectionReturns() async throws {
        // A long session timeout: on a busy machine the JVM's restart can take longer than the default bound of
        // 40 seconds, after which the clients would rightly declare their sessions expired.
        let server = try ApacheZooKeeperStandalone(extraConfig: ["maxSessionTimeout=120000"])
        defer { server.stop() }
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(120)
        // The recipes' client comes back later than the writer, so the writer's change is usually made while
        // the cache is not connected, and only its resynchronization can see it.
        var slow = configuration
        slow.maximumReconnectDelay = .seconds(3)
        let client = try await ZooKeeperClient.connect(server.address, configuration: slow)
        let writer = try await ZooKeeperClient.connect(server.address, configuration: configuration)
        defer {
            Task {
                await client.close()
                await writer.close()
            }
        }
        try await writer.create("/tree")
        try await writer.create("/tree/a", data: bytes("1"))

        let lock = DistributedLock(client: client, path: "/lock")
        let lockEvents = EventRecorder(lock.events)
        try await lock.acquire()
        #expect(await lockEvents.next().map { if case .acquired = $0 { true } else { false } } == true)
        let latch = LeaderLatch(client: client, path: "/election", id: "swift")
        let leadership = EventRecorder(latch.leadershipChanges)
        try await latch.start()
        #expect(await leadership.next() == true)
        let cache = TreeCache(client: client, path: "/tree")
        let cacheEvents = EventRecorder(cache.events)
        try await cache.start()
        #expect(await cacheEvents.next(where: { $0 == .initialized }) == .initialized)

        server.stop(signal: SIGKILL)
        #expect(await lockEvents.next(within: .seconds(30)) == .suspended)
        #expect(await leadership.next(within: .seconds(30)) == false)
        #expect(await cacheEvents.next(within: .seconds(30)) == .suspended)
        try server.start()
        try await writer.setData("/tree/a", data: bytes("2"))
        try await writer.create("/tree/b", data: bytes("new"))

        #expect(await lockEvents.next(within: .seconds(120)) == .reconnected)
        #expect(await lock.isAcquired)
        #expect(try await writer.lockContenders("/lock").first?.sessionID == client.sessionID)
        #expect(await leadership.next(within: .seconds(120)) == true)
        #expect(await latch.hasLeadership)
        let caughtUp = await eventually {
            let a = await cache.node(at: "/tree/a")
            let b = await cache.node(at: "/tree/b")
            return a?.data == bytes("2") && b?.data == bytes("new")
        }
        #expect(caughtUp)
        #expect(await cacheEvents.next(where: { $0 == .resynchronized }) == .resynchronized)
        try await lock.release()
        await latch.close()
        await cache.close()
    }
}
