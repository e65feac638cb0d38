import Foundation
import Testing
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// The shell's output as a stream of lines (stderr lines marked), so that a test waits for each line as it
/// is printed.
final class StreamedOutput: ShellOutput {
    let lines: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() {
        (lines, continuation) = AsyncStream.makeStream(of: String.self)
    }

    func write(_ text: String, to stream: ShellStream) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            continuation.yield((stream == .error ? "stderr: " : "") + line)
        }
    }
}

/// `watch`, in-process, with the changes made by kazoo (another client, another language).
@Suite(.serialized)
struct WatchCommandTests {
    /// Runs a kazoo script with `zk` connected to `server`.
    func kazoo(_ server: String, _ body: String) throws {
        let script =
            "from kazoo.client import KazooClient\nzk = KazooClient(hosts='\(server)')\nzk.start()\n"
            + body + "\nzk.stop()\n"
        let run = try Programs.run("/usr/bin/env", ["python3", "-c", script])
        #expect(run.exitCode == 0, "kazoo: \(run.error)")
    }

    @Test(arguments: TestServerKind.allCases) func changesAreStreamedUntilInterrupted(kind: TestServerKind) async throws
    {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("watch")
        var configuration = ShellConfiguration()
        configuration.server = server
        let output = StreamedOutput()
        let lines = EventRecorder(output.lines)
        let shell = try Shell(configuration: configuration, output: output)
        #expect(await shell.execute(line: "create \(root) one") == 0)
        #expect(await lines.next() == "stderr: Created \(root)")

        let watching = Task { await shell.execute(line: "watch -r -d \(root)") }
        #expect(await lines.next() == "stderr: Watching \(root) and its subtree; Ctrl-C stops.")
        // The deletion waits until the creation has been reported: `watch` reads the version after the event.
        try kazoo(server, "zk.set('\(root)', b'two')\nzk.create('\(root)/child', b'x')")
        var changes = [await lines.next(), await lines.next()].map { $0 ?? "" }
        try kazoo(server, "zk.delete('\(root)/child')")
        changes.append(await lines.next() ?? "")
        // `<ISO 8601 time> <event> <path> ...`
        let time = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /#
        #expect(changes.allSatisfy { $0.contains(time) }, "\(changes)")
        #expect(changes[0].hasSuffix(" NodeDataChanged \(root) version 1 (was 0)\ttwo"))
        #expect(changes[1].hasSuffix(" NodeCreated \(root)/child version 0\tx"))
        #expect(changes[2].hasSuffix(" NodeDeleted \(root)/child"))
        // Ctrl-C (the task cancelled) ends it.
        watching.cancel()
        #expect(await watching.value == 130)
        #expect(await lines.next() == "stderr: Interrupted")

        // As JSON; without -r a persistent watch on the znode itself (its children's changes as one event).
        let json = Task { await shell.execute(line: "watch -o json \(root)") }
        #expect(await lines.next() == "stderr: Watching \(root); Ctrl-C stops.")
        try kazoo(
            server, "zk.create('\(root)/child')\nzk.set('\(root)/child', b'not seen')\nzk.set('\(root)', b'three')")
        var objects: [[String: Any]] = []
        for _ in 0..<2 {
            let line = await lines.next() ?? ""
            objects.append(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:])
        }
        #expect(objects.map { $0["event"] as? String } == ["NodeChildrenChanged", "NodeDataChanged"])
        #expect(objects.map { $0["path"] as? String } == [root, root])
        #expect(objects[0]["version"] is NSNull)
        #expect(objects[1]["version"] as? Int == 2)
        #expect(objects[1]["previousVersion"] as? Int == 1)
        #expect((objects[1]["timeMs"] as? Int ?? 0) > 0)
        json.cancel()
        #expect(await json.value == 130)
        #expect(
            await lines.next()
                == "stderr: {\"error\":\"INTERRUPTED\",\"code\":null,\"path\":null,\"message\":\"Interrupted\"}")
        #expect(await shell.execute(line: "deleteall \(root)") == 0)
        await shell.close()
    }

    /// The link to the server goes down (the relay stops) while kazoo changes the subtree, then comes back on
    /// the same address: the session resumes and `watch` reports what changed meanwhile.
    @Test(arguments: TestServerKind.allCases) func changesWhileDisconnectedAreReportedAfterTheReconnect(
        kind: TestServerKind
    ) async throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("resync")
        var relay = try DelayRelay(toFirstServerOf: server, delay: 0)
        var configuration = ShellConfiguration()
        configuration.server = relay.address
        let output = StreamedOutput()
        let lines = EventRecorder(output.lines)
        let shell = try Shell(configuration: configuration, output: output)
        for child in ["", "/a", "/b"] {
            #expect(await shell.execute(line: "create \(root)\(child) x") == 0)
            #expect(await lines.next() == "stderr: Created \(root)\(child)")
        }

        let watching = Task { await shell.execute(line: "watch -r \(root)") }
        #expect(await lines.next() == "stderr: Watching \(root) and its subtree; Ctrl-C stops.")
        relay.stop()
        #expect(
            await lines.next() == "stderr: Disconnected; the changes made meanwhile follow when the connection is back."
        )
        try kazoo(server, "zk.set('\(root)/a', b'y')\nzk.delete('\(root)/b')\nzk.create('\(root)/c', b'z')")
        relay = try relay.reopened()
        var changes: [String] = []
        for _ in 0..<4 { changes.append(await lines.next() ?? "") }
        #expect(changes[0].hasSuffix(" NodeDataChanged \(root)/a version 1 (was 0) while disconnected"), "\(changes)")
        #expect(changes[1].hasSuffix(" NodeDeleted \(root)/b while disconnected"), "\(changes)")
        #expect(changes[2].hasSuffix(" NodeCreated \(root)/c version 0 while disconnected"), "\(changes)")
        #expect(changes[3] == "stderr: Re-synced after the reconnect: 3 changes while disconnected.")

        // Watching goes on as before.
        try kazoo(server, "zk.set('\(root)/c', b'again')")
        #expect((await lines.next() ?? "").hasSuffix(" NodeDataChanged \(root)/c version 1 (was 0)"))
        watching.cancel()
        #expect(await watching.value == 130)
        #expect(await lines.next() == "stderr: Interrupted")
        #expect(await shell.execute(line: "deleteall \(root)") == 0)
        await shell.close()
        relay.stop()
    }
}
