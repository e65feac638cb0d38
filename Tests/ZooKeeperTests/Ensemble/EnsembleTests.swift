import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Sessions against a real 3-node Apache ZooKeeper 3.8 ensemble on 127.0.0.1, with members killed and
/// restarted under the client. Time bounds here are generous upper limits on waits, never speed assertions.
@Suite(.serialized) struct EnsembleTests {
    static func client(
        _ connectString: String, timeout: Duration = .seconds(30),
        configure: (inout ZooKeeperClient.Configuration) -> Void = { _ in }
    ) async throws -> ZooKeeperClient {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = timeout
        configure(&configuration)
        return try await ZooKeeperClient.connect(connectString, configuration: configuration, timeout: .seconds(60))
    }

    /// Kills (SIGKILL) the member `client` is connected to, and returns it.
    static func killCurrentServer(of client: ZooKeeperClient, in ensemble: ApacheZooKeeperEnsemble) throws
        -> ApacheZooKeeperServer
    {
        guard let port = client.currentServer?.port, let server = ensemble.server(port: port) else {
            throw HarnessError("client is not connected to a member")
        }
        server.stop(signal: SIGKILL)
        return server
    }

    @Test func sessionSurvivesTwentyKillsOfItsServer() async throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        let client = try await Self.client(ensemble.connectString())
        let observer = try await Self.client(ensemble.connectString())
        let events = EventRecorder(client.connectionEvents)
        #expect(await events.next() == .connecting)
        #expect(await events.next() == .connected)
        let sessionID = client.sessionID
        try await client.create("/eph", mode: .ephemeral)
        try await client.create("/counter", data: bytes("0"))

        // A writer keeps calling throughout; every call must come back, with a result or an error.
        let stop = ManagedAtomicFlag()
        let writer = Task {
            var completed = 0
            var value = 0
            while !stop.isSet && completed < 1_000_000 {
                do {
                    value += 1
                    try await client.setData("/counter", data: bytes("\(value)"))
                } catch let error as ZooKeeperError {
                    // In flight when the server died: lost, reported, never hanging.
                    #expect(error.code == .connectionLoss, "\(error)")
                } catch {
                    Issue.record("unexpected \(error)")
                }
                completed += 1
            }
            return completed
        }

        var reconnectTimes: [Duration] = []
        for cycle in 1...20 {
            let killed = try Self.killCurrentServer(of: client, in: ensemble)
            let started = ContinuousClock.now
            #expect(await events.next(within: .seconds(60)) == .disconnected, "cycle \(cycle)")
            #expect(await events.next(within: .seconds(60)) == .reconnected, "cycle \(cycle)")
            reconnectTimes.append(ContinuousClock.now - started)
            #expect(client.sessionID == sessionID)
            #expect(client.currentServer?.port != killed.clientPort)
            #expect(try await observer.exists("/eph")?.ephemeralOwner == sessionID, "cycle \(cycle)")
            try ensemble.restart(killed)
            #expect(ensemble.waitForQuorum(timeout: 60), "cycle \(cycle)")
        }
        stop.set()
        let calls = await writer.value
        #expect(calls > 20)
        #expect(try await client.exists("/eph")?.ephemeralOwner == sessionID)
        let sorted = reconnectTimes.sorted()
        print(
            "ensemble failover: reconnect after SIGKILL median \(sorted[sorted.count / 2]), max \(sorted.last!), "
                + "\(calls) calls made meanwhile")
        await client.close()
        #expect(try await observer.exists("/eph") == nil)
        await observer.close()
    }

    /// A change made while the client is cut off reaches each one-shot watch once, after the reconnect.
    @Test func oneShotWatchesFireOnceForChangesMadeWhileReconnecting() async throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        // The watcher talks to one member only, so it cannot reconnect until that member is back.
        let lone = ensemble.servers[0]
        let watcher = try await Self.client(lone.address)
        let writer = try await Self.client(ensemble.servers[1].address + "," + ensemble.servers[2].address)
        try await writer.create("/data", data: bytes("1"))
        try await writer.create("/parent")

        let (_, _, dataStream) = try await watcher.getDataAndWatch("/data")
        let (_, existStream) = try await watcher.existsAndWatch("/born")
        let (_, _, childStream) = try await watcher.getChildrenAndWatch("/parent")
        let dataEvents = EventRecorder(dataStream)
        let existEvents = EventRecorder(existStream)
        let childEvents = EventRecorder(childStream)
        let states = EventRecorder(watcher.connectionEvents)
        _ = await states.next()  // connecting
        _ = await states.next()  // connected

        lone.stop(signal: SIGKILL)
        #expect(await states.next(within: .seconds(30)) == .disconnected)
        try await writer.setData("/data", data: bytes("2"))
        try await writer.create("/born")
        try await writer.create("/parent/kid")
        try ensemble.restart(lone)
        #expect(await states.next(within: .seconds(90)) == .reconnected)

        // Each stream sees Disconnected, SyncConnected, then its one event, then ends.
        let data = await dataEvents.next(where: { $0.type != .none })
        #expect(data?.type == .nodeDataChanged)
        #expect(data?.path == "/data")
        #expect(await dataEvents.next() == nil)
        let born = await existEvents.next(where: { $0.type != .none })
        #expect(born?.type == .nodeCreated)
        #expect(born?.path == "/born")
        #expect(await existEvents.next() == nil)
        let kid = await childEvents.next(where: { $0.type != .none })
        #expect(kid?.type == .nodeChildrenChanged)
        #expect(kid?.path == "/parent")
        #expect(await childEvents.next() == nil)
        await watcher.close()
        await writer.close()
    }

    @Test func persistentWatchesFireAfterAReconnect() async throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        let watcher = try await Self.client(ensemble.connectString())
        let writer = try await Self.client(ensemble.connectString())
        try await writer.create("/p")
        try await writer.create("/tree")
        let persistent = EventRecorder(try await watcher.watch("/p", mode: .persistent))
        let recursive = EventRecorder(try await watcher.watch("/tree", mode: .persistentRecursive))
        let states = EventRecorder(watcher.connectionEvents)
        _ = await states.next()
        _ = await states.next()

        let killed = try Self.killCurrentServer(of: watcher, in: ensemble)
        #expect(await states.next(within: .seconds(30)) == .disconnected)
        #expect(await states.next(within: .seconds(60)) == .reconnected)
        try await writer.setData("/p", data: bytes("after"))
        try await writer.create("/tree/a")
        try await writer.create("/tree/a/b")
        try await writer.setData("/tree/a/b", data: bytes("x"))

        let persistentEvents = await Self.nodeEvents(persistent, count: 1)
        #expect(persistentEvents == ["NodeDataChanged /p"])
        let recursiveEvents = await Self.nodeEvents(recursive, count: 3)
        #expect(recursiveEvents == ["NodeCreated /tree/a", "NodeCreated /tree/a/b", "NodeDataChanged /tree/a/b"])
        // Once per change: a marker change comes next, nothing repeated before it.
        try await writer.setData("/p", data: bytes("marker"))
        #expect(await Self.nodeEvents(persistent, count: 1) == ["NodeDataChanged /p"])
        try ensemble.restart(killed)
        await watcher.close()
        await writer.close()
    }

    @Sendable static func manyName(_ index: Int) -> String {
        "/many/a-rather-long-node-name-to-make-the-watch-list-big-\(index)"
    }

    static func nodeEvents(_ recorder: EventRecorder<WatchedEvent>, count: Int) async -> [String] {
        var result: [String] = []
        while result.count < count, let event = await recorder.next(where: { $0.type != .none }) {
            result.append("\(event.type) \(event.path ?? "")")
        }
        return result
    }

    @Test func thirtyThousandWatchesSurviveAReconnect() async throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        let lone = ensemble.servers[0]
        let watcher = try await Self.client(lone.address, timeout: .seconds(60))
        let writer = try await Self.client(ensemble.servers[1].address + "," + ensemble.servers[2].address)
        try await writer.create("/many")
        let count = 30_000
        let name = Self.manyName
        // Exist watches on nodes that do not exist yet: 30,000 paths, ~1.9 MB of path text.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask { _ = try await watcher.exists(name(index), watch: true) }
            }
            try await group.waitForAll()
        }
        let events = EventRecorder(watcher.events)
        let states = EventRecorder(watcher.connectionEvents)
        _ = await states.next()
        _ = await states.next()

        lone.stop(signal: SIGKILL)
        #expect(await states.next(within: .seconds(30)) == .disconnected)
        try ensemble.restart(lone)
        #expect(await states.next(within: .seconds(90)) == .reconnected)
        #expect(lone.isServing())
        // The batches went out before any request; one round trip proves the server has taken them all.
        _ = try await watcher.exists("/")
        // The server took all the batches: it reports the watches, and they fire.
        let watching = TestEnvironment.fourLetterWord("wchs", port: lone.clientPort) ?? ""
        #expect(watching.contains("watching \(count) paths"), "\(watching)")
        for index in [0, count / 2, count - 1] {
            try await writer.create(name(index))
        }
        var created: Set<String> = []
        while created.count < 3, let event = await events.next(where: { $0.type == .nodeCreated }) {
            created.insert(event.path ?? "")
        }
        #expect(created == [name(0), name(count / 2), name(count - 1)])
        await watcher.close()
        await writer.close()
    }

    @Test func digestAuthIsResentAfterFailover() async throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        let client = try await Self.client(ensemble.connectString())
        try await client.addDigestAuth(user: "user1", password: "12345")
        try await client.create("/secret", data: bytes("s"), acl: ACL.creatorAll)
        let states = EventRecorder(client.connectionEvents)
        _ = await states.next()
        _ = await states.next()
        for _ in 0..<2 {
            let killed = try Self.killCurrentServer(of: client, in: ensemble)
            #expect(await states.next(within: .seconds(30)) == .disconnected)
            #expect(await states.next(within: .seconds(60)) == .reconnected)
            #expect(try await client.getData("/secret").data == bytes("s"))
            #expect(try await client.whoAmI().contains(ClientInfo(authScheme: "digest", user: "user1")))
            try ensemble.restart(killed)
            #expect(ensemble.waitForQuorum(timeout: 60))
        }
        await client.close()
    }

    @Test func chrootHoldsAcrossFailover() async throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        let root = try await Self.client(ensemble.connectString())
        try await root.create("/app")
        let client = try await Self.client(ensemble.connectString(chroot: "/app"))
        let events = EventRecorder(client.events)
        let states = EventRecorder(client.connectionEvents)
        _ = await states.next()
        _ = await states.next()
        try await client.create("/x")
        _ = try await client.getData("/x", watch: true)
        let killed = try Self.killCurrentServer(of: client, in: ensemble)
        #expect(await states.next(within: .seconds(30)) == .disconnected)
        #expect(await states.next(within: .seconds(60)) == .reconnected)
        #expect(try await client.create("/y", mode: .persistentSequential) == "/y0000000001")
        #expect(Set(try await client.getChildren("/")) == ["x", "y0000000001"])
        #expect(try await root.exists("/app/y0000000001") != nil)
        try await root.setData("/app/x", data: bytes("changed"))
        let event = await events.next(where: { $0.type != .none })
        #expect(event?.path == "/x")
        try ensemble.restart(killed)
        await client.close()
        await root.close()
    }

    /// Every member is down for longer than the session timeout. Only a server can expire a session, and none
    /// is up: the client stays disconnected (a call fails with connectionLoss after its bound), never `expired`.
    /// The ensemble comes back and its new leader gives every session it recovered a fresh timeout (Apache's
    /// SessionTrackerImpl re-tracks the sessions it loads): the client resumes the same session, its ephemeral
    /// and its watch, as Apache's client and kazoo do.
    @Test func everyMemberDownLongerThanTheTimeoutIsNotExpiry() async throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        let client = try await Self.client(ensemble.connectString(), timeout: .seconds(8))
        let sessionID = client.sessionID
        try await client.create("/eph", mode: .ephemeral)
        let (_, _, stream) = try await client.getDataAndWatch("/eph")
        let watch = EventRecorder(stream)
        let states = EventRecorder(client.connectionEvents)
        #expect(await states.next(where: { $0 == .connected }) == .connected)
        ensemble.stopAll(signal: SIGKILL)
        #expect(await states.next(within: .seconds(30)) == .disconnected)
        // Waits for a connection as long as the session timeout, then fails: the members are down longer.
        do {
            _ = try await client.getData("/eph")
            Issue.record("a call succeeded with every member down")
        } catch {
            #expect(error.code == .connectionLoss)
        }
        #expect(client.state == .connecting)
        #expect(!states.all.contains(.expired))

        for server in ensemble.servers { try ensemble.restart(server) }
        #expect(ensemble.waitForQuorum(timeout: 90))
        #expect(await states.next(within: .seconds(60), where: { $0 != .disconnected }) == .reconnected)
        #expect(client.sessionID == sessionID)
        #expect(try await client.exists("/eph")?.ephemeralOwner == sessionID)
        let observer = try await Self.client(ensemble.connectString())
        try await observer.setData("/eph", data: bytes("changed"))
        let change = await watch.next(within: .seconds(15), where: { $0.type != .none })
        #expect(change?.type == .nodeDataChanged && change?.path == "/eph", "\(String(describing: change))")
        await observer.close()
        await client.close()
    }

    /// Apache's read-only server serves clients that connect while the quorum is lost (it refuses to renew a
    /// session created on a read-write server). Such a client reads, cannot write, and moves to a read-write
    /// server (with a new session, as Apache's client does) once the quorum is back.
    @Test func readOnlyModeWithoutAQuorumAndBack() async throws {
        let ensemble = try ApacheZooKeeperEnsemble(readOnlyMode: true)
        let setup = try await Self.client(ensemble.connectString())
        try await setup.create("/ro", data: bytes("readable"))
        await setup.close()
        let survivor = ensemble.servers[0]
        ensemble.servers[1].stop(signal: SIGKILL)
        ensemble.servers[2].stop(signal: SIGKILL)
        #expect(TestEnvironment.waitUntil(timeout: 60) { survivor.mode() == "read-only" })

        let client = try ZooKeeperClient(
            connectString: ensemble.connectString(),
            configuration: {
                var configuration = ZooKeeperClient.Configuration()
                configuration.canBeReadOnly = true
                configuration.sessionTimeout = .seconds(30)
                return configuration
            }())
        let states = EventRecorder(client.connectionEvents)
        #expect(await states.next() == .connecting)
        #expect(await states.next(within: .seconds(60)) == .connectedReadOnly)
        #expect(client.state == .connectedReadOnly)
        #expect(client.currentServer?.port == survivor.clientPort)
        #expect(try await client.getData("/ro").data == bytes("readable"))
        #expect(try await client.getChildren("/").contains("ro"))
        do {
            try await client.create("/nope")
            Issue.record("a write succeeded on a read-only server")
        } catch {
            #expect(error.code == .notReadOnly)
        }
        // A client that does not accept read-only servers gets nowhere meanwhile.
        var strictConfiguration = ZooKeeperClient.Configuration()
        strictConfiguration.sessionTimeout = .seconds(4)
        let strict = try ZooKeeperClient(connectString: survivor.address, configuration: strictConfiguration)
        do {
            try await strict.waitUntilConnected(timeout: .seconds(2))
            Issue.record("a read-write client connected to a read-only server")
        } catch {
            #expect(error.code == .connectionLoss)
        }
        await strict.close()

        try ensemble.restart(ensemble.servers[1])
        try ensemble.restart(ensemble.servers[2])
        #expect(ensemble.waitForQuorum(timeout: 90))
        // The client finds a read-write server by itself (it asks `isro` of the others).
        #expect(await states.next(within: .seconds(120), where: { $0 == .connected }) == .connected)
        #expect(client.state == .connected)
        try await client.create("/now-writable")
        #expect(try await client.exists("/now-writable") != nil)
        await client.close()
    }
}

/// A flag set by one task and read by another.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}
