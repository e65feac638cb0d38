import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A 3-node Apache ZooKeeper 3.8 ensemble, one member per host of a `NetworkLab`, each listening on its host's
/// address with ports 2181, 2888 and 3888.
final class LabEnsemble: @unchecked Sendable {
    let lab: NetworkLab
    let ensemble: ApacheZooKeeperEnsemble

    init(prefix: String, subnet: Int) throws {
        let lab = try NetworkLab(prefix: prefix, subnet: subnet, hostCount: 3)
        do {
            ensemble = try ApacheZooKeeperEnsemble(
                placements: (0..<3).map {
                    .init(host: lab.address(ofHost: $0), launcher: lab.launcher(host: $0))
                })
        } catch {
            lab.remove()
            throw error
        }
        self.lab = lab
    }

    /// Every member's address, for a connect string.
    var connectString: String { ensemble.connectString() }

    /// The host (0-based) of the member `client` is connected to.
    func hostIndex(of client: ZooKeeperClient) throws -> Int {
        guard let host = client.currentServer?.host,
            let index = (0..<3).first(where: { lab.address(ofHost: $0) == host })
        else { throw HarnessError("client is not connected to a member of the lab") }
        return index
    }

    /// The connect string of every member but host `index`.
    func connectString(excluding index: Int) -> String {
        ensemble.servers.enumerated().filter { $0.offset != index }.map(\.element.address).joined(separator: ",")
    }

    /// The hosts, followers first and the leader last: a client given this order (unshuffled) starts on a
    /// follower. A partition of the leader is another matter: the other members stop serving until they have
    /// elected a new leader (syncLimit × tickTime, then an election), which can exceed a short session timeout.
    func hostsFollowersFirst() -> [Int] {
        let modes = ensemble.servers.map { $0.mode() }
        return (0..<3).sorted { (modes[$0] == "leader" ? 1 : 0) < (modes[$1] == "leader" ? 1 : 0) }
    }

    /// A client given the members in `order`, unshuffled, so that it starts on `order[0]`.
    func client(order: [Int], sessionTimeout: Duration) async throws -> ZooKeeperClient {
        let connectString = order.map { ensemble.servers[$0].address }.joined(separator: ",")
        return try await NetworkFaults.client(connectString, sessionTimeout: sessionTimeout) { $0.shuffleHosts = false }
    }

    /// Stops the members, then removes the lab (so that no JVM is left inside a deleted namespace).
    func tearDown() {
        ensemble.stopAll(signal: SIGKILL)
        lab.remove()
    }
}

enum NetworkFaults {
    static func client(
        _ connectString: String, sessionTimeout: Duration,
        configure: (inout ZooKeeperClient.Configuration) -> Void = { _ in }
    ) async throws -> ZooKeeperClient {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = sessionTimeout
        configure(&configuration)
        return try await ZooKeeperClient.connect(connectString, configuration: configuration, timeout: .seconds(60))
    }

    /// A four-letter word asked of host `index`'s member from inside that host (where its faults do not apply);
    /// nil when it does not answer.
    static func fourLetterWord(_ word: String, in lab: NetworkLab, host index: Int) -> String? {
        let command = "echo \(word) | nc -q 2 \(lab.address(ofHost: index)) 2181"
        guard
            let run = try? Programs.run(
                NetworkLab.ip, ["netns", "exec", lab.hosts[index], "/bin/sh", "-c", command], timeout: 10),
            !run.output.isEmpty
        else { return nil }
        return run.output
    }

    /// Cuts this process (where the in-process client runs) off from every member, both ways; the members
    /// still see each other.
    static func isolateLocalClient(in lab: NetworkLab, hosts: Range<Int>) throws {
        for index in hosts {
            try lab.dropIncoming(host: index, from: lab.localAddress)
            try lab.dropOutgoing(host: index, to: lab.localAddress)
        }
    }
}

/// A kazoo client in a Python process: it connects to `hosts` in their order (unshuffled), creates an ephemeral,
/// and prints each state change with its session id (`STATE CONNECTED 0x…`, `STATE SUSPENDED 0x…`,
/// `STATE LOST 0x…`); it retries forever, as our client does, and runs until stopped.
final class KazooSessionPeer: @unchecked Sendable {
    let output: String
    private let process: ChildProcess

    init(hosts: String, sessionTimeout: Duration, ephemeral: String) throws {
        output = try TestEnvironment.temporaryDirectory("kazoo-session") + "/kazoo.out"
        let seconds = String(Double(sessionTimeout.components.seconds))
        process = try KazooPeer.start(script: Self.script, [hosts, seconds, ephemeral], output: output)
    }

    var lines: [String] { peerLines(output) }
    var errors: String { peerErrors(output) }

    /// The session id (`0x…`) once kazoo has connected and created its ephemeral; nil after a bound.
    func ready() async -> String? {
        guard await eventually(within: 60, { lines.contains { $0.hasPrefix("READY ") } }) else { return nil }
        return lines.first { $0.hasPrefix("READY ") }.map { String($0.dropFirst(6)) }
    }

    /// Whether kazoo reported `state` (bounded wait).
    func sawState(_ state: String) async -> Bool {
        await eventually(within: 30) { lines.contains { $0.hasPrefix("STATE \(state) ") } }
    }

    /// Whether kazoo reported CONNECTED after its last SUSPENDED (bounded wait).
    func connectedAgain() async -> Bool {
        await eventually(within: 60) {
            let states = lines.filter { $0.hasPrefix("STATE ") }
            guard let suspended = states.lastIndex(where: { $0.hasPrefix("STATE SUSPENDED ") }) else { return false }
            return states[suspended...].contains { $0.hasPrefix("STATE CONNECTED ") }
        }
    }

    func stop() { process.wait(timeout: 0) }

    private static let script = #"""
        import sys, time
        from kazoo.client import KazooClient

        hosts, timeout, ephemeral = sys.argv[1], float(sys.argv[2]), sys.argv[3]
        zk = KazooClient(hosts=hosts, timeout=timeout, randomize_hosts=False,
                         connection_retry=dict(max_tries=-1, max_delay=1))

        def say(line):
            print(line, flush=True)

        def session():
            return "0x%x" % (zk.client_id[0] if zk.client_id else 0)

        zk.add_listener(lambda state: say("STATE %s %s" % (state, session())))
        zk.start(timeout=60)
        zk.create(ephemeral, b"", ephemeral=True)
        say("READY " + session())
        while True:
            time.sleep(1)
        """#
}

/// A numbered sequence of writes made one after another while faults come and go, and what came back for each.
///
/// Each round creates a sequential node whose data is the round's number, then sets `/counter` to that number.
/// A call that fails with `connectionLoss` may or may not have been applied; every other outcome is definite.
/// The final state then tells whether a request was lost (an acknowledged number missing) or applied twice (a
/// number present on two nodes, or more counter versions than calls).
final class NumberedWrites: @unchecked Sendable {
    private let lock = NSLock()
    private var acknowledgedCreates: Set<Int> = []
    private var lostCreates: Set<Int> = []
    private var acknowledgedSets = 0
    private var lostSets = 0
    private var unexpected: [String] = []
    private var stopRequested = false
    private var task: Task<Void, Never>?
    let root: String

    init(root: String) { self.root = root }

    /// Creates `root` and `/counter` under it; then writes until `stop()` or `maximumRounds`.
    func start(_ client: ZooKeeperClient, maximumRounds: Int = 5_000) async throws {
        try await client.create(root)
        try await client.create(root + "/seq")
        try await client.create(root + "/counter", data: bytes("0"))
        task = Task {
            for round in 1...maximumRounds {
                if self.isStopRequested { return }
                await self.write(round, client)
            }
        }
    }

    private var isStopRequested: Bool {
        lock.withLock { stopRequested }
    }

    private func write(_ round: Int, _ client: ZooKeeperClient) async {
        do {
            try await client.create(root + "/seq/n-", data: bytes("\(round)"), mode: .persistentSequential)
            lock.withLock { _ = acknowledgedCreates.insert(round) }
        } catch  where error.code == .connectionLoss {
            lock.withLock { _ = lostCreates.insert(round) }
        } catch {
            lock.withLock { unexpected.append("create \(round): \(error)") }
        }
        do {
            try await client.setData(root + "/counter", data: bytes("\(round)"))
            lock.withLock { acknowledgedSets += 1 }
        } catch  where error.code == .connectionLoss {
            lock.withLock { lostSets += 1 }
        } catch {
            lock.withLock { unexpected.append("setData \(round): \(error)") }
        }
    }

    /// Acknowledged creates so far.
    var acknowledgedCount: Int { lock.withLock { acknowledgedCreates.count } }

    /// Waits (bounded) until `more` further creates are acknowledged.
    func waitForProgress(_ more: Int, within seconds: Double = 30) async -> Bool {
        let target = acknowledgedCount + more
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if acknowledgedCount >= target { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return acknowledgedCount >= target
    }

    /// Stops after the current round and waits for it.
    func stop() async {
        lock.withLock { stopRequested = true }
        await task?.value
    }

    /// Reads the final state through `reader` and records an issue for every request lost or applied twice.
    /// Returns (acknowledged, connection-loss) counts.
    @discardableResult
    func verify(with reader: ZooKeeperClient) async throws -> (acknowledged: Int, lost: Int) {
        let (acknowledged, lost, sets, lostSetCount, unexpected) = lock.withLock {
            (acknowledgedCreates, lostCreates, acknowledgedSets, lostSets, self.unexpected)
        }
        #expect(unexpected.isEmpty, "calls that failed other than by connection loss: \(unexpected)")
        var seen: [Int: Int] = [:]
        for child in try await reader.getChildren(root + "/seq") {
            let (data, _) = try await reader.getData(root + "/seq/" + child)
            let round = Int(String(decoding: data ?? [], as: UTF8.self)) ?? -1
            seen[round, default: 0] += 1
        }
        let applied = Set(seen.keys)
        #expect(seen.values.allSatisfy { $0 == 1 }, "a create applied twice: \(seen.filter { $0.value > 1 })")
        #expect(
            acknowledged.isSubset(of: applied), "acknowledged creates missing: \(acknowledged.subtracting(applied))")
        #expect(
            applied.isSubset(of: acknowledged.union(lost)),
            "creates present that were never acknowledged nor lost: \(applied.subtracting(acknowledged.union(lost)))")
        // Each applied setData bumps the version once.
        let counter = try await reader.exists(root + "/counter")
        let version = Int(counter?.version ?? -1)
        #expect(
            version >= sets && version <= sets + lostSetCount,
            "counter version \(version), \(sets) acknowledged, \(lostSetCount) lost")
        return (acknowledged.count, lost.count)
    }
}
