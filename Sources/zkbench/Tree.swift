import ArgumentParser
import ZooKeeper

/// Builds a big tree fast, for measuring what walks it (the shells' `ls -R`, `tree`, `find`, `export`...) without
/// building it through the shell being measured: pipelined creates, level by level, over several sessions.
struct TreeBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree",
        abstract: "Create a tree of znodes with pipelined creates, level by level.",
        discussion: """
            Creates --root, then --fanout A B C... levels below it: A children of the root, B below each of them,
            and so on (10 100 100: 101,010 znodes below the root). Znodes of the last level are named leaf-N, the
            others dL-N (L their level, from 1); each holds --value-size bytes. Prints one JSON object: the znodes
            created and the seconds it took. Exits 1 if the root exists or a create fails.
            """)

    @Option(name: .long, help: "Connect string of the server.")
    var server = "127.0.0.1:2181"

    @Option(name: .long, help: "Root of the tree (must not exist).")
    var root = "/zkbench-tree"

    @Option(name: .long, parsing: .upToNextOption, help: "Children per znode, level by level.")
    var fanout: [Int] = [10, 100, 100]

    @Option(name: .long, help: "Bytes of data per znode.")
    var valueSize = 20

    @Option(name: .long, help: "Sessions the creates are spread over.")
    var sessions = 4

    @Option(name: .long, help: "Creates in flight per session.")
    var window = 500

    func validate() throws {
        guard !fanout.isEmpty, fanout.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--fanout needs one or more positive counts")
        }
        guard sessions > 0, window > 0, valueSize >= 0 else {
            throw ValidationError("--sessions and --window must be positive, --value-size not negative")
        }
    }

    mutating func run() async throws {
        var clients: [ZooKeeperClient] = []
        for _ in 0..<sessions { clients.append(try await ZooKeeperClient.connect(server)) }
        let start = ContinuousClock.now
        try await clients[0].create(root)
        let value = [UInt8](repeating: 0x7A, count: valueSize)
        var created = 1
        for level in fanout.indices {
            let count = fanout[0...level].reduce(1, *)
            let errors = await createLevel(level, count: count, clients: clients, value: value)
            guard errors == 0 else {
                throw ValidationError("\(errors) of the \(count) creates of level \(level + 1) failed")
            }
            created += count
        }
        let seconds = (ContinuousClock.now - start).seconds
        print("{\"phase\":\"tree\",\"znodes\":\(created),\"seconds\":\(seconds)}")
        for client in clients { await client.close() }
    }

    /// Creates the `count` znodes of one level, `window` at a time per session; returns how many failed.
    func createLevel(_ level: Int, count: Int, clients: [ZooKeeperClient], value: [UInt8]) async -> Int {
        await pipelined(count: count, clients: clients, window: window) { client, index in
            try await client.create(path(level: level, index: index), data: value)
        }
    }

    /// The path of the `index`th znode of `level` (0 for the root's children), its ancestors' indexes being the
    /// mixed-radix digits of `index`.
    func path(level: Int, index: Int) -> String {
        var names: [String] = []
        var rest = index
        for depth in stride(from: level, through: 0, by: -1) {
            let digit = rest % fanout[depth]
            rest /= fanout[depth]
            names.append(depth == fanout.count - 1 ? "leaf-\(digit)" : "d\(depth + 1)-\(digit)")
        }
        return root + "/" + names.reversed().joined(separator: "/")
    }
}

/// Runs `call` for the indexes 0..<count, `window` calls in flight per session, each worker taking the next index;
/// returns how many calls threw.
func pipelined(
    count: Int, clients: [ZooKeeperClient], window: Int,
    _ call: @escaping @Sendable (ZooKeeperClient, Int) async throws -> Void
) async -> Int {
    let next = Counter(0)
    return await withTaskGroup(of: Int.self) { group in
        for client in clients {
            for _ in 0..<window {
                group.addTask {
                    var errors = 0
                    while let index = next.take(below: count) {
                        do {
                            try await call(client, index)
                        } catch {
                            errors += 1
                        }
                    }
                    return errors
                }
            }
        }
        return await group.reduce(0, +)
    }
}
