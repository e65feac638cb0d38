import ArgumentParser
import Foundation
import ZooKeeper

/// Many watches fired by one change: one session owns --nodes ephemeral znodes, --watchers sessions each set an
/// exists watch on every one of them, then the owner closes its session; that single transaction (closeSession)
/// deletes every ephemeral and fires every watch.
struct WatchFireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fire",
        abstract: "Set watches on the ephemerals of one session, close it, and time the events.",
        discussion: """
            Creates --root and --nodes ephemeral znodes below it from one owner session, has each of --watchers
            sessions set an exists watch on every one (--nodes x --watchers watches), then closes the owner's
            session and waits until every watch has delivered its NodeDeleted event. With --server-pid, the
            server's RSS (/proc/PID/status VmRSS) is read before and after the watches are set. Prints one JSON
            object: the watches, the seconds to set them, the seconds from the close to the last event, the RSS
            figures. Exits 1 if a create or a watch failed or an event did not arrive within --wait-limit.
            """)

    @Option(name: .long, help: "Connect string of the server.")
    var server = "127.0.0.1:2181"

    @Option(name: .long, help: "Ephemeral znodes of the owner session.")
    var nodes = 10_000

    @Option(name: .long, help: "Sessions that each watch every ephemeral.")
    var watchers = 1

    @Option(name: .long, help: "Calls in flight per session.")
    var window = 500

    @Option(name: .long, help: "Parent of the ephemerals (must not exist; removed at the end).")
    var root = "/zkbench-fire"

    @Option(name: .long, help: "The server's process id, to read its RSS before and after the watches (0: not read).")
    var serverPID: Int32 = 0

    @Option(name: .long, help: "Bound, in seconds, on the wait for the events.")
    var waitLimit = 300

    func validate() throws {
        guard nodes > 0, watchers > 0, window > 0, waitLimit > 0, serverPID >= 0 else {
            throw ValidationError("--nodes, --watchers, --window and --wait-limit must be positive")
        }
    }

    mutating func run() async throws {
        raiseOpenFileLimit()
        let owner = try await ZooKeeperClient.connect(server)
        let deleted = EventCounter()
        var settings = ZooKeeperClient.Configuration()
        settings.defaultEventHandler = { event in
            if event.type == .nodeDeleted { deleted.increment() }
        }
        let configuration = settings
        var watcherClients: [ZooKeeperClient] = []
        for _ in 0..<watchers {
            watcherClients.append(try await ZooKeeperClient.connect(server, configuration: configuration))
        }
        let root = self.root
        try await owner.create(root)
        let createErrors = await pipelined(count: nodes, clients: [owner], window: window) { client, index in
            try await client.create("\(root)/e\(index)", mode: .ephemeral)
        }
        guard createErrors == 0 else { throw ValidationError("\(createErrors) of \(nodes) creates failed") }
        let before = serverPID > 0 ? ServerProcess.usage(pid: serverPID).rssKiB : 0

        let setStart = ContinuousClock.now
        let nodes = self.nodes
        let watching = watcherClients
        let watchErrors = await pipelined(count: nodes * watchers, clients: watching, window: window) {
            _, index in
            // Each watcher session watches every node once: index / nodes picks the session.
            let stat = try await watching[index / nodes].exists("\(root)/e\(index % nodes)", watch: true)
            guard stat != nil else { throw ValidationError("\(root)/e\(index % nodes) is missing") }
        }
        let setSeconds = (ContinuousClock.now - setStart).seconds
        guard watchErrors == 0 else { throw ValidationError("\(watchErrors) of \(nodes * watchers) watches failed") }
        let after = serverPID > 0 ? ServerProcess.usage(pid: serverPID).rssKiB : 0

        let expected = nodes * watchers
        let fireStart = ContinuousClock.now
        await owner.close()
        let deadline = fireStart + .seconds(waitLimit)
        while deleted.value < expected, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        let fireSeconds = (ContinuousClock.now - fireStart).seconds
        let received = deleted.value
        printLine([
            "phase": .text("fire"), "nodes": .integer(nodes), "watches": .integer(expected),
            "received": .integer(received), "set_seconds": .number(setSeconds), "fire_seconds": .number(fireSeconds),
            "rss_kib_before": .integer(before), "rss_kib_after": .integer(after),
            "rss_bytes_per_watch": .number(Double(after - before) * 1024 / Double(expected)),
        ])
        try? await removeTree(watcherClients[0], root)
        for client in watcherClients { await client.close() }
        if received != expected { throw ExitCode(1) }
    }
}

/// Events counted from any thread.
final class EventCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
