import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// The recipes across a lost connection that keeps its session: a standalone Apache server frozen (SIGSTOP)
/// until the clients give the connection up, then let go on (SIGCONT) well within the session timeout.
@Suite(.timeLimit(.minutes(5))) struct RecipeReconnectTests {
    @Test func recipesSuspendAndComeBackWhenTheConnectionReturns() async throws {
        let server = try ApacheZooKeeperStandalone()
        defer {
            server.server.send(SIGCONT)
            server.stop()
        }
        // Clients drop a silent connection after two thirds of the session timeout (about 27 s here, with 40 s
        // the most a default Apache server grants), and the server, frozen that long, still has 13 s before it
        // would expire the sessions.
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(40)
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

        server.server.send(SIGSTOP)
        #expect(await lockEvents.next(within: .seconds(60)) == .suspended)
        server.server.send(SIGCONT)
        #expect(await leadership.next(within: .seconds(30)) == false)
        #expect(await cacheEvents.next(within: .seconds(60)) == .suspended)
        try await writer.setData("/tree/a", data: bytes("2"))
        try await writer.create("/tree/b", data: bytes("new"))

        #expect(await lockEvents.next(within: .seconds(30)) == .reconnected)
        #expect(await lock.isAcquired)
        #expect(try await writer.lockContenders("/lock").first?.sessionID == client.sessionID)
        #expect(await leadership.next(within: .seconds(30)) == true)
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

    /// A holder cut off for longer than its session timeout counts the lock as lost while still cut off, as
    /// Curator does, without waiting for a server to say the session expired; the others then get the lock.
    @Test func aHolderSuspendedForASessionTimeoutLosesTheLock() async throws {
        let server = try SharedTestServers.connectString(.apache)
        let relay = try DelayRelay(toFirstServerOf: server, delay: 0)
        defer { relay.stop() }
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(4)
        let holder = try await ZooKeeperClient.connect(relay.address, configuration: configuration)
        let other = try await ZooKeeperClient.connect(server)
        let path = SharedTestServers.uniqueRoot("lock")
        let lock = DistributedLock(client: holder, path: path)
        let events = EventRecorder(lock.events)
        try await lock.acquire()
        #expect(await events.next().map { if case .acquired = $0 { true } else { false } } == true)

        relay.stop()
        #expect(await events.next(within: .seconds(30)) == .suspended)
        #expect(await events.next(within: .seconds(30)) == .lost)
        #expect(await lock.isAcquired == false)
        #expect(holder.state != .connected, "lost while still cut off")

        let rival = DistributedLock(client: other, path: path)
        #expect(try await rival.acquire(timeout: .seconds(60)))
        try await rival.release()
        await holder.close()
        await other.close()
    }
}
