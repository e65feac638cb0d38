import Foundation
import NIOConcurrencyHelpers
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// What the writers know about each path: the last state the server acknowledged, and the state the one write
/// in flight (if any) would leave. After a crash the server must hold one of the two: an acknowledged write is
/// never lost, and nothing appears that was never written.
final class AcknowledgedWrites: @unchecked Sendable {
    enum NodeState: Equatable, CustomStringConvertible {
        case absent
        case present(version: Int32, data: [UInt8])

        var description: String {
            switch self {
            case .absent: "absent"
            case .present(let version, let data): "v\(version) \(data.count)B"
            }
        }
    }

    private struct Entry {
        var acknowledged: NodeState
        var inFlight: NodeState?
    }

    private let lock = NIOLock()
    private var entries: [String: Entry] = [:]
    private var acknowledged = 0
    private var unresolved = 0
    /// Read under the lock: writers acknowledge from other tasks meanwhile (a race ThreadSanitizer reported).
    var acknowledgedCount: Int { lock.withLock { acknowledged } }
    var unresolvedAtKill: Int { lock.withLock { unresolved } }

    func state(of path: String) -> NodeState { lock.withLock { entries[path]?.acknowledged ?? .absent } }

    func issue(_ path: String, expecting state: NodeState) {
        lock.withLock { entries[path, default: Entry(acknowledged: .absent)].inFlight = state }
    }

    func acknowledge(_ path: String) {
        lock.withLock {
            guard let next = entries[path]?.inFlight else { return }
            entries[path]!.acknowledged = next
            entries[path]!.inFlight = nil
            acknowledged += 1
        }
    }

    var paths: [String] { lock.withLock { Array(entries.keys) } }

    /// Checks the server's state of `path`; returns a problem or nil, and makes the observed state the new base.
    func verify(_ path: String, observed: NodeState) -> String? {
        lock.withLock {
            guard let entry = entries[path] else { return nil }
            if entry.inFlight != nil { unresolved += 1 }
            entries[path] = Entry(acknowledged: observed, inFlight: nil)
            let matches = observed == entry.acknowledged || observed == entry.inFlight
            // Created nodes get unique names: once gone for good they need no more checking.
            if matches && observed == .absent && path.contains("-c") { entries[path] = nil }
            if matches { return nil }
            return
                "\(path): server has \(observed), acknowledged \(entry.acknowledged), in flight \(String(describing: entry.inFlight))"
        }
    }
}

/// SIGKILLs a real zkserver at random moments under a pipelined multi-session writer, restarts it, and checks
/// that every acknowledged write survived with its data and version.
@Suite(.serialized) struct CrashTortureTests {
    static let sessions = 3
    static let workersPerSession = 24

    /// 50 cycles take under a minute; ZK_TORTURE_CYCLES=1000 about a quarter of an hour.
    @Test(.timeLimit(.minutes(30))) func noAcknowledgedWriteIsLostUnderSIGKILL() async throws {
        let environment = ProcessInfo.processInfo.environment
        let cycles = Int(environment["ZK_TORTURE_CYCLES"] ?? "") ?? 50
        let seed = UInt64(environment["ZK_TORTURE_SEED"] ?? "") ?? 20_261_121
        let directory = try TestEnvironment.temporaryDirectory("torture")
        let port = try TestEnvironment.freePort()
        // Small snapCount so that snapshots (and kills during them) happen many times.
        let configuration = ["dataDir=\(directory)/data", "tickTime=2000", "snapCount=700"]
        let model = AcknowledgedWrites()
        var random = SeededGenerator(seed: seed)
        var killedWithWritesInFlight = 0
        for cycle in 0..<cycles {
            let server = try ZKServerProcess(
                port: port, configuration: configuration, logFile: directory + "/server.log")
            let problems = try await model.verifyAll(address: server.address, cycle: cycle)
            #expect(
                problems.count == 0, "cycle \(cycle) (seed \(seed)):\n\(problems.prefix(10).joined(separator: "\n"))")
            if !problems.isEmpty {
                server.kill()
                break
            }
            let stop = NIOLockedValueBox(false)
            let clients = try await AcknowledgedWrites.connectWriters(address: server.address, sessions: Self.sessions)
            let writers = Task {
                await model.runWriters(
                    clients: clients, workersPerSession: Self.workersPerSession, cycle: cycle, seed: seed, stop: stop)
            }
            // The only wait of the test: the random moment of the kill.
            let delay = UInt64.random(in: 30...350, using: &random)
            try await Task.sleep(nanoseconds: delay * 1_000_000)
            let before = model.acknowledgedCount
            server.kill()
            stop.withLockedValue { $0 = true }
            await writers.value
            if model.acknowledgedCount > before { killedWithWritesInFlight += 1 }
        }
        let server = try ZKServerProcess(port: port, configuration: configuration, logFile: directory + "/server.log")
        let problems = try await model.verifyAll(address: server.address, cycle: cycles)
        #expect(problems.count == 0, "\(problems.prefix(10).joined(separator: "\n"))")
        server.stop()
        print(
            "crash torture: \(cycles) SIGKILL cycles, \(model.acknowledgedCount) acknowledged writes checked, "
                + "\(model.unresolvedAtKill) writes in flight at a kill, seed \(seed)")
        #expect(model.acknowledgedCount > cycles * 10, "the writers made progress")
        #expect(model.unresolvedAtKill > 0, "kills happened while writes were in flight")
        // Kept for a look when something failed.
        if problems.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// The load both torture tests put on the server: writers that know what was acknowledged, and the check.
extension AcknowledgedWrites {
    /// Reads every path the model knows and checks it.
    func verifyAll(address: String, cycle: Int) async throws -> [String] {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(4)
        let client = try await ZooKeeperClient.connect(address, configuration: configuration, timeout: .seconds(20))
        defer { Task { await client.close() } }
        if cycle == 0 { _ = try await client.create("/t", data: nil) }
        let paths = self.paths
        let observed = try await withThrowingTaskGroup(of: (String, AcknowledgedWrites.NodeState).self) { group in
            for path in paths {
                group.addTask {
                    do {
                        let (data, stat) = try await client.getData(path)
                        return (path, .present(version: stat.version, data: data ?? []))
                    } catch let error as ZooKeeperError where error.code == .noNode {
                        return (path, .absent)
                    }
                }
            }
            var results: [(String, AcknowledgedWrites.NodeState)] = []
            for try await result in group { results.append(result) }
            return results
        }
        return observed.compactMap { self.verify($0.0, observed: $0.1) }
    }

    /// The writers' sessions, connected before the kill timer starts.
    static func connectWriters(address: String, sessions: Int = 3) async throws -> [ZooKeeperClient] {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(4)
        configuration.requestTimeoutWhileDisconnected = .milliseconds(1)
        var clients: [ZooKeeperClient] = []
        for _ in 0..<sessions {
            clients.append(
                try await ZooKeeperClient.connect(address, configuration: configuration, timeout: .seconds(20)))
        }
        return clients
    }

    /// Several sessions, each with many workers; a worker keeps one write in flight on paths only it touches:
    /// setData on its own node, creates of new nodes, and deletes of nodes it created.
    func runWriters(
        clients: [ZooKeeperClient], workersPerSession: Int = 24, cycle: Int, seed: UInt64,
        stop: NIOLockedValueBox<Bool>
    ) async {
        await withTaskGroup(of: Void.self) { group in
            for (sessionIndex, client) in clients.enumerated() {
                for worker in 0..<workersPerSession {
                    group.addTask {
                        var random = SeededGenerator(
                            seed: seed ^ UInt64(cycle << 20 | sessionIndex << 10 | worker) &* 0x9E37_79B9)
                        await self.write(
                            client: client, owner: "s\(sessionIndex)w\(worker)", cycle: cycle,
                            random: &random, stop: stop)
                    }
                }
            }
        }
        for client in clients { await client.close() }
    }

    /// How many of the nodes `owner` created may still exist.
    func createdAlive(owner: String) -> Int {
        paths.filter { $0.hasPrefix("/t/\(owner)-c") && state(of: $0) != .absent }.count
    }

    func write(
        client: ZooKeeperClient, owner: String, cycle: Int,
        random: inout SeededGenerator, stop: NIOLockedValueBox<Bool>
    ) async {
        let fixed = "/t/\(owner)"
        var serial = 0
        while !stop.withLockedValue({ $0 }) {
            let data = (0..<Int.random(in: 0...120, using: &random)).map { _ in
                UInt8.random(in: 0...255, using: &random)
            }
            let choice = Int.random(in: 0..<100, using: &random)
            do throws(ZooKeeperError) {
                switch (state(of: fixed), choice) {
                case (.absent, _):
                    issue(fixed, expecting: .present(version: 0, data: data))
                    _ = try await client.create(fixed, data: data)
                    acknowledge(fixed)
                case (.present(let version, _), 0..<65):
                    issue(fixed, expecting: .present(version: version &+ 1, data: data))
                    let stat = try await client.setData(fixed, data: data)
                    guard stat.version == version &+ 1 else {
                        Issue.record("\(fixed): version \(stat.version) after \(version)")
                        return
                    }
                    acknowledge(fixed)
                case (.present, 65..<88) where createdAlive(owner: owner) < 4:
                    serial += 1
                    let path = "/t/\(owner)-c\(cycle)-\(serial)"
                    issue(path, expecting: .present(version: 0, data: data))
                    _ = try await client.create(path, data: data)
                    acknowledge(path)
                default:
                    // Delete one of this worker's created nodes that exists for sure.
                    guard
                        let victim = paths.first(where: {
                            $0.hasPrefix("/t/\(owner)-c") && state(of: $0) != .absent
                        })
                    else { continue }
                    issue(victim, expecting: .absent)
                    try await client.delete(victim)
                    acknowledge(victim)
                }
            } catch {
                // The server was killed: the write in flight is unresolved, to be checked after the restart.
                if error.code != .connectionLoss && error.code != .sessionExpired
                    && error.code != .operationTimeout && error.code != .clientClosed
                {
                    Issue.record("\(owner): unexpected \(error)")
                }
                return
            }
        }
    }
}
