import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Our client against a 3-node Apache ZooKeeper 3.8 ensemble whose members run on hosts of their own (network
/// namespaces on a bridge, see `NetworkLab`), while the network between them fails: partitions shorter and longer
/// than the session timeout, one-way partitions, a member that vanishes without a FIN, 2 % packet loss and
/// 100 ms of delay. The client runs in this test process, whose namespace is plugged into the lab's bridge;
/// faults are `iptables` rules (or a switch port taken down) inside the members' namespaces.
///
/// Waits are bounded by what the client promises: it notices a dead connection within its read timeout (2/3 of
/// the session timeout) and fails over before the session timeout. The figures printed are measurements for
/// the record, not assertions.
// Building namespaces, veth pairs and firewall rules needs root (CAP_NET_ADMIN); elsewhere the suite is skipped.
@Suite(.serialized, .enabled(if: NetworkLab.isAvailable, "network fault tests need root, ip and iptables"))
struct ClientNetworkFaultTests {
    static let sessionTimeout: Duration = .seconds(6)

    /// The client's member is cut off from everyone for less than the session timeout: the client moves to
    /// another member with the same session; its ephemeral and its watch survive; every numbered write made
    /// meanwhile was answered once, and none acknowledged was lost.
    @Test func partitionShorterThanTheSessionTimeoutKeepsTheSession() async throws {
        let setup = try LabEnsemble(prefix: "nfshort", subnet: 21)
        defer { setup.tearDown() }
        // The client starts on a follower (see `hostsFollowersFirst` for why not the leader).
        let client = try await setup.client(order: setup.hostsFollowersFirst(), sessionTimeout: Self.sessionTimeout)
        let events = EventRecorder(client.connectionEvents)
        #expect(await events.next(where: { $0 == .connected }) == .connected)
        let sessionID = client.sessionID
        let member = try setup.hostIndex(of: client)
        let mode = setup.ensemble.servers[member].mode() ?? "?"
        let observer = try await NetworkFaults.client(
            setup.connectString(excluding: member), sessionTimeout: .seconds(30))
        try await client.create("/eph", mode: .ephemeral)
        try await client.create("/watched", data: bytes("before"))
        let (_, _, changes) = try await client.getDataAndWatch("/watched")
        let watchEvents = EventRecorder(changes)
        let writes = NumberedWrites(root: "/short")
        try await writes.start(client)
        #expect(await writes.waitForProgress(20))

        try setup.lab.partition(host: member)
        let cut = ContinuousClock.now
        #expect(await events.next(within: Self.sessionTimeout) == .disconnected)
        let noticed = ContinuousClock.now - cut
        #expect(await events.next(within: Self.sessionTimeout) == .reconnected)
        let failedOver = ContinuousClock.now - cut
        try setup.lab.heal(host: member)
        #expect(client.sessionID == sessionID)
        #expect(try setup.hostIndex(of: client) != member)
        #expect(await writes.waitForProgress(20))
        await writes.stop()

        try await observer.setData("/watched", data: bytes("after"))
        // The watch's stream also carries the connection's state changes (type None), as Apache's watchers do.
        let change = await watchEvents.next(within: .seconds(15), where: { $0.type != .none })
        #expect(change?.type == .nodeDataChanged && change?.path == "/watched", "\(String(describing: change))")
        #expect(try await observer.exists("/eph")?.ephemeralOwner == sessionID)
        let (acknowledged, lost) = try await writes.verify(with: observer)
        print(
            "network faults (Apache, partition of a \(mode) < session timeout \(Self.sessionTimeout)): noticed after \(noticed), "
                + "resumed on another member after \(failedOver); \(acknowledged) creates acknowledged, \(lost) lost "
                + "in flight")
        await client.close()
        await observer.close()
    }

    /// The client is cut off from every member for longer than the session timeout: the ensemble expires the
    /// session and deletes its ephemeral. The client cannot know until a server tells it: it stays disconnected
    /// (its calls fail with `connectionLoss`), and reports `expired` when the network is back and a member
    /// answers its handshake so; every later call fails with `sessionExpired`. (Apache's client and kazoo do the
    /// same: neither expires a session on its own.)
    @Test func partitionLongerThanTheSessionTimeoutExpiresTheSession() async throws {
        let setup = try LabEnsemble(prefix: "nfexpire", subnet: 22)
        defer { setup.tearDown() }
        let client = try await NetworkFaults.client(setup.connectString, sessionTimeout: Self.sessionTimeout)
        let events = EventRecorder(client.connectionEvents)
        #expect(await events.next(where: { $0 == .connected }) == .connected)
        try await client.create("/eph", mode: .ephemeral)
        let sessionHex = "0x" + String(UInt64(bitPattern: client.sessionID), radix: 16)

        try NetworkFaults.isolateLocalClient(in: setup.lab, hosts: 0..<3)
        let cut = ContinuousClock.now
        #expect(await events.next(within: Self.sessionTimeout) == .disconnected)
        // The ensemble expires the session: its ephemeral leaves every member's tree (`dump`, asked from inside a
        // member's host, where the partition does not apply). Bounded wait.
        let expiredOnServer = TestEnvironment.waitUntil(timeout: 60) {
            guard let dump = NetworkFaults.fourLetterWord("dump", in: setup.lab, host: 0),
                dump.contains("Sessions with Ephemerals")
            else { return false }
            return !dump.contains(sessionHex)
        }
        #expect(expiredOnServer, "the ensemble still holds session \(sessionHex)")
        let serverExpiredAfter = ContinuousClock.now - cut
        // No server has told the client yet: it is still reconnecting, its calls fail with connectionLoss.
        #expect(client.state == .connecting)
        do {
            _ = try await client.exists("/eph")
            Issue.record("a call succeeded while the client was cut off")
        } catch {
            #expect(error.code == .connectionLoss)
        }
        #expect(!events.all.contains(.expired))

        for index in 0..<3 { try setup.lab.heal(host: index) }
        #expect(await events.next(within: .seconds(30), where: { $0 != .disconnected }) == .expired)
        let expiredAfter = ContinuousClock.now - cut
        #expect(client.state == .closed)
        do {
            try await client.create("/after", data: nil)
            Issue.record("a call on an expired session succeeded after the network came back")
        } catch {
            #expect(error.code == .sessionExpired)
        }
        // An observer connected after the partition (one from before would share the client's cut, and its
        // requests the risk of its own read timeout).
        let observer = try await NetworkFaults.client(setup.connectString, sessionTimeout: .seconds(30))
        #expect(try await observer.exists("/eph") == nil)
        print(
            "network faults (Apache, client isolated): the ensemble expired the session after \(serverExpiredAfter); "
                + "the client reported it after \(expiredAfter), once healed")
        await client.close()
        await observer.close()
    }

    /// The client is on the leader, and the leader is cut off from clients and peers for twice the session
    /// timeout. The followers notice only after syncLimit × tickTime (5 s), then elect a new leader, which gives
    /// every session a fresh timeout (Apache's SessionTrackerImpl re-tracks the sessions it loads): the session
    /// lives on although no server answered the client for longer than the session timeout. Our client keeps it,
    /// ephemeral and id, as kazoo does in the same steps in the same test; neither declares it expired on its own.
    @Test func leaderPartitionLongerThanTheSessionTimeoutKeepsTheSessionAsKazooDoes() async throws {
        let setup = try LabEnsemble(prefix: "nfleader", subnet: 27)
        defer { setup.tearDown() }
        let order = Array(setup.hostsFollowersFirst().reversed())
        let leader = order[0]
        #expect(setup.ensemble.servers[leader].mode() == "leader")
        let client = try await setup.client(order: order, sessionTimeout: Self.sessionTimeout)
        let events = EventRecorder(client.connectionEvents)
        #expect(await events.next(where: { $0 == .connected }) == .connected)
        #expect(try setup.hostIndex(of: client) == leader)
        let sessionID = client.sessionID
        try await client.create("/eph", mode: .ephemeral)
        let kazoo = try KazooSessionPeer(
            hosts: order.map { setup.ensemble.servers[$0].address }.joined(separator: ","),
            sessionTimeout: Self.sessionTimeout, ephemeral: "/kazoo-eph")
        defer { kazoo.stop() }
        let kazooSession = try #require(await kazoo.ready(), "\(kazoo.errors)")
        // Both on the leader: its `cons` lists both sessions.
        let cons = TestEnvironment.fourLetterWord("cons", port: 2181, host: setup.lab.address(ofHost: leader)) ?? ""
        #expect(cons.contains("sid=" + Self.hex(sessionID)) && cons.contains("sid=" + kazooSession), "\(cons)")

        try setup.lab.partition(host: leader)
        let cut = ContinuousClock.now
        #expect(await events.next(within: Self.sessionTimeout) == .disconnected)
        // Back once the followers have a new leader; never `expired`.
        let back = await events.next(within: .seconds(60), where: { $0 != .disconnected })
        #expect(back == .reconnected)
        let resumed = ContinuousClock.now - cut
        // The fault under test lasts twice the session timeout, whenever the client got back.
        try await Task.sleep(until: cut + Self.sessionTimeout * 2)
        try setup.lab.heal(host: leader)
        let healed = ContinuousClock.now - cut

        #expect(client.sessionID == sessionID)
        #expect(client.state == .connected)
        #expect(try setup.hostIndex(of: client) != leader)
        #expect(try await client.exists("/eph")?.ephemeralOwner == sessionID)
        #expect(await kazoo.sawState("SUSPENDED"), "\(kazoo.lines)")
        #expect(await kazoo.connectedAgain(), "\(kazoo.lines)")
        #expect(!kazoo.lines.contains { $0.hasPrefix("STATE LOST") }, "\(kazoo.lines)")
        #expect(
            try await client.exists("/kazoo-eph").map { Self.hex($0.ephemeralOwner) } == kazooSession,
            "kazoo's session lost its ephemeral")
        print(
            "network faults (Apache, leader partitioned \(healed), session timeout \(Self.sessionTimeout)): ours "
                + "resumed after \(resumed) with the same session; kazoo: \(kazoo.lines.joined(separator: " | "))")
        await client.close()
    }

    static func hex(_ sessionID: Int64) -> String { "0x" + String(UInt64(bitPattern: sessionID), radix: 16) }

    /// One-way partitions (client→server dropped; server→client dropped) and a member that vanishes without a
    /// FIN (its switch port down): each time the client notices within its read timeout, fails over to another
    /// member with the same session, and keeps writing.
    @Test func oneWayPartitionsAndHalfOpenConnectionsFailOver() async throws {
        let setup = try LabEnsemble(prefix: "nfoneway", subnet: 23)
        defer { setup.tearDown() }
        // Followers first, unshuffled: the member that vanishes is a follower (see `hostsFollowersFirst`); the
        // one-way partitions cut the client only, so they hit the next members, the leader included.
        let client = try await setup.client(order: setup.hostsFollowersFirst(), sessionTimeout: Self.sessionTimeout)
        let events = EventRecorder(client.connectionEvents)
        #expect(await events.next(where: { $0 == .connected }) == .connected)
        let sessionID = client.sessionID
        try await client.create("/eph", mode: .ephemeral)
        let writes = NumberedWrites(root: "/oneway")
        try await writes.start(client)
        #expect(await writes.waitForProgress(10))
        let lab = setup.lab
        let faults: [(String, (Int) throws -> Void)] = [
            ("server vanished without FIN", { try lab.unplug(host: $0) }),
            ("client→server dropped", { try lab.dropIncoming(host: $0, from: lab.localAddress) }),
            ("server→client dropped", { try lab.dropOutgoing(host: $0, to: lab.localAddress) }),
        ]
        var figures: [String] = []
        for (name, fault) in faults {
            let member = try setup.hostIndex(of: client)
            let mode = setup.ensemble.servers[member].mode() ?? "?"
            try fault(member)
            let cut = ContinuousClock.now
            // Read timeout: 2/3 of the session timeout; the bound adds 2 s of slack for a loaded machine.
            #expect(await events.next(within: Self.sessionTimeout * 2 / 3 + .seconds(2)) == .disconnected, "\(name)")
            let noticed = ContinuousClock.now - cut
            #expect(await events.next(within: Self.sessionTimeout) == .reconnected, "\(name)")
            let failedOver = ContinuousClock.now - cut
            try lab.heal(host: member)
            #expect(client.sessionID == sessionID, "\(name)")
            #expect(try setup.hostIndex(of: client) != member, "\(name)")
            #expect(await writes.waitForProgress(10), "\(name)")
            figures.append("\(name) (\(mode)): noticed after \(noticed), resumed after \(failedOver)")
            // The member whose port was down rejoins the quorum before the next round.
            #expect(setup.ensemble.waitForQuorum(timeout: 60), "\(name)")
        }
        await writes.stop()
        let observer = try await NetworkFaults.client(setup.connectString, sessionTimeout: .seconds(30))
        #expect(try await observer.exists("/eph")?.ephemeralOwner == sessionID)
        try await writes.verify(with: observer)
        print("network faults (Apache, session timeout \(Self.sessionTimeout)): " + figures.joined(separator: "; "))
        await client.close()
        await observer.close()
    }

    /// A bounded workload (concurrent creates, sets and reads) completes, every call correct, with 2 % of the
    /// packets in and out of every member dropped, and then with 100 ms added each way on every client
    /// connection (by `DelayRelay`, a delaying TCP relay in this process: the kernel here has no netem).
    @Test func lossAndDelayLeaveEveryCallCorrect() async throws {
        let setup = try LabEnsemble(prefix: "nfloss", subnet: 24)
        defer { setup.tearDown() }
        for index in 0..<3 { try setup.lab.dropRandomly(host: index, probability: 0.02) }
        let lossy = try await NetworkFaults.client(setup.connectString, sessionTimeout: Self.sessionTimeout)
        let lossTime = try await Self.workload(lossy, root: "/loss")
        let lossSession = lossy.sessionID
        await lossy.close()
        for index in 0..<3 { try setup.lab.heal(host: index) }

        let relays = try setup.ensemble.servers.map { try DelayRelay(to: $0.host, port: $0.clientPort, delay: 0.1) }
        defer { relays.forEach { $0.stop() } }
        let slow = try await NetworkFaults.client(
            relays.map(\.address).joined(separator: ","), sessionTimeout: Self.sessionTimeout)
        let start = ContinuousClock.now
        _ = try await slow.exists("/")
        let roundTrip = ContinuousClock.now - start
        #expect(roundTrip >= .milliseconds(200), "a round trip through the relay took \(roundTrip)")
        let delayTime = try await Self.workload(slow, root: "/delay")
        #expect(lossSession != slow.sessionID)
        await slow.close()
        print(
            "network faults (Apache): workload of \(Self.tasks * Self.rounds * 3) calls took \(lossTime) under 2 % "
                + "loss, \(delayTime) with 100 ms each way (one round trip \(roundTrip))")
    }

    static let tasks = 6
    static let rounds = 15

    /// `tasks` concurrent tasks, each creating, setting and reading back its own nodes; every call must
    /// succeed with the right result. Returns how long it took.
    static func workload(_ client: ZooKeeperClient, root: String) async throws -> Duration {
        try await client.create(root)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for round in 0..<rounds {
                        let path = "\(root)/t\(task)-\(round)"
                        #expect(try await client.create(path, data: bytes("a")) == path)
                        let stat = try await client.setData(path, data: bytes("b\(round)"), version: 0)
                        #expect(stat.version == 1)
                        let (data, _) = try await client.getData(path)
                        #expect(data == bytes("b\(round)"))
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        #expect(try await client.getChildren(root).count == tasks * rounds)
        return elapsed
    }
}
