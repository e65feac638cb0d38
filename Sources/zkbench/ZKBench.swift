import ArgumentParser
import ZooKeeper

#if canImport(Glibc)
    import Glibc
#endif

/// A load generator for any ZooKeeper server: per-operation phases (the default) and herds of sessions.
@main
struct ZKBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zkbench",
        abstract: "Load generator for a ZooKeeper server.",
        subcommands: [
            PhasesCommand.self, RoundTripCommand.self, HerdCommand.self, HerdWorkerCommand.self, TreeBuildCommand.self,
            WatchFireCommand.self,
        ],
        defaultSubcommand: PhasesCommand.self)
}

/// Synchronous latency and pipelined throughput per operation.
struct PhasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phases",
        abstract: "Measure a ZooKeeper server: latency of synchronous calls and pipelined throughput.",
        discussion: """
            Phases run in the order given, each on its own node set under --root (created and removed by the tool):
            create, set, get, exists and delete work on --count nodes; mixed runs 10% create, 40% set, 40% get,
            10% delete over the same nodes; children lists the children of --root (`create sync-children` times the
            list of --count children). `sync-` before a phase measures one call at a time on one session
            (latency percentiles) instead of the pipelined throughput of --sessions x --window calls in flight.
            """)

    @Option(name: .long, help: "Connect string of the server under test.")
    var server = "127.0.0.1:2181"

    @Option(
        name: .long, parsing: .upToNextOption, help: "Phases, e.g. sync-create sync-get create set get delete mixed.")
    var phases: [String] = ["sync-create", "sync-set", "sync-get", "sync-delete", "create", "set", "get", "delete"]

    @Option(name: .long, help: "Nodes per pipelined phase.")
    var count = 50_000

    @Option(name: .long, help: "Calls per synchronous phase.")
    var syncCount = 3_000

    @Option(name: .long, help: "Bytes of data per node.")
    var valueSize = 100

    @Option(name: .long, help: "Sessions for pipelined phases.")
    var sessions = 4

    @Option(name: .long, help: "Calls in flight per session in pipelined phases.")
    var window = 500

    @Option(name: .long, help: "Parent of the benchmark's nodes (removed at the end).")
    var root = "/zkbench"

    @Option(
        name: .customLong("client-configuration"),
        help: "A ZooKeeper client properties file, as zkCli.sh's (TLS keys, jute.maxbuffer).")
    var clientConfiguration: String?

    @Flag(name: .long, help: "One JSON object per phase instead of text.")
    var json = false

    @Flag(name: .long, help: "Leave the nodes in place at the end (to measure a loaded server).")
    var keep = false

    mutating func run() async throws {
        let value = [UInt8](repeating: 0x61, count: valueSize)
        var clients: [ZooKeeperClient] = []
        for _ in 0..<max(1, sessions) {
            var configuration = ZooKeeperClient.Configuration()
            try ClientProperties.load(file: clientConfiguration).apply(to: &configuration)
            clients.append(try await ZooKeeperClient.connect(server, configuration: configuration))
        }
        let admin = clients[0]
        try await removeTree(admin, root)
        try await admin.create(root)
        for phase in phases {
            let result: PhaseResult
            if phase.hasPrefix("sync-") {
                let operation = try Operation(String(phase.dropFirst(5)))
                result = try await synchronousPhase(operation, client: admin, value: value)
            } else {
                let operation = try Operation(phase)
                result = try await pipelinedPhase(operation, clients: clients, value: value)
            }
            print(json ? result.json : result.text)
        }
        if !keep { try await removeTree(admin, root) }
        for client in clients { await client.close() }
    }

    enum Operation: String {
        case create, set, get, exists, delete, mixed, children

        init(_ name: String) throws {
            guard let operation = Operation(rawValue: name) else {
                throw ValidationError("unknown phase \(name): use create, set, get, exists, delete, mixed or children")
            }
            self = operation
        }
    }

    struct PhaseResult {
        var phase: String
        var operations: Int
        var errors: Int
        var seconds: Double
        var latencies: [Double]  // milliseconds, sorted; empty for pipelined phases

        var throughput: Double { Double(operations) / seconds }
        func percentile(_ q: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]
        }
        var text: String {
            var line = "\(phase): \(operations) ops in \(format(seconds)) s = \(Int(throughput)) ops/s"
            if !latencies.isEmpty { line += ", p50 \(format(percentile(0.5))) ms, p99 \(format(percentile(0.99))) ms" }
            if errors > 0 { line += ", \(errors) errors" }
            return line
        }
        var json: String {
            "{\"phase\":\"\(phase)\",\"ops\":\(operations),\"errors\":\(errors),\"seconds\":\(seconds),"
                + "\"ops_per_sec\":\(throughput),\"p50_ms\":\(percentile(0.5)),\"p99_ms\":\(percentile(0.99))}"
        }
        func format(_ value: Double) -> String {
            let scaled = (value * 1000).rounded() / 1000
            return "\(scaled)"
        }
    }

    func path(_ index: Int) -> String { "\(root)/n\(index)" }

    func call(_ operation: Operation, _ client: ZooKeeperClient, _ index: Int, _ value: [UInt8]) async -> Bool {
        do {
            switch operation {
            case .create: try await client.create(path(index), data: value)
            case .set: try await client.setData(path(index), data: value)
            case .get: _ = try await client.getData(path(index))
            case .exists: _ = try await client.exists(path(index))
            case .delete: try await client.delete(path(index))
            case .children: _ = try await client.getChildren(root)
            case .mixed:
                // 10% create+delete of a fresh node, 40% set, 40% get over the nodes that exist.
                switch index % 10 {
                case 0: try await client.create(path(count + index), data: value)
                case 1: try await client.delete(path(count + index - 1))
                case 2...5: try await client.setData(path(index % count), data: value)
                default: _ = try await client.getData(path(index % count))
                }
            }
            return true
        } catch {
            return false
        }
    }

    func synchronousPhase(_ operation: Operation, client: ZooKeeperClient, value: [UInt8]) async throws -> PhaseResult {
        var errors = 0
        var index = 0
        let timing = await timeSynchronousCalls(syncCount) {
            if !(await call(operation, client, index, value)) { errors += 1 }
            index += 1
        }
        return PhaseResult(
            phase: "sync-\(operation.rawValue)", operations: syncCount, errors: errors, seconds: timing.seconds,
            latencies: timing.latencies)
    }

    func pipelinedPhase(_ operation: Operation, clients: [ZooKeeperClient], value: [UInt8]) async throws -> PhaseResult
    {
        let total = operation == .mixed ? count : count
        let perSession = (total + clients.count - 1) / clients.count
        let window = self.window
        let start = ContinuousClock.now
        let errors = await withTaskGroup(of: Int.self) { group in
            for (sessionIndex, client) in clients.enumerated() {
                let first = sessionIndex * perSession
                let last = min(total, first + perSession)
                // `window` workers per session, each taking the next index: at most `window` calls in flight.
                let next = Counter(first)
                for _ in 0..<window {
                    group.addTask {
                        var errors = 0
                        while let index = next.take(below: last) {
                            if !(await self.call(operation, client, index, value)) { errors += 1 }
                        }
                        return errors
                    }
                }
            }
            return await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        return PhaseResult(
            phase: operation.rawValue, operations: total, errors: errors, seconds: elapsed.seconds, latencies: [])
    }
}

/// Hands out increasing integers to concurrent workers.
final class Counter: @unchecked Sendable {
    private var value: Int
    private var lock = pthread_mutex_t()

    init(_ start: Int) {
        value = start
        pthread_mutex_init(&lock, nil)
    }

    func take(below limit: Int) -> Int? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard value < limit else { return nil }
        defer { value += 1 }
        return value
    }
}

func removeTree(_ client: ZooKeeperClient, _ path: String) async throws {
    guard let children = try? await client.getChildren(path) else { return }
    try await withThrowingTaskGroup(of: Void.self) { group in
        for child in children {
            group.addTask { try await removeTree(client, ZooKeeperPath.join(path, child)) }
        }
        try await group.waitForAll()
    }
    do {
        try await client.delete(path)
    } catch {
        if error.code != .noNode { throw error }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
