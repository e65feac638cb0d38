import Synchronization
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// The shell library in-process, against a real Apache ZooKeeper, with its output captured.
@Suite(.serialized)
struct ShellSessionTests {
    func makeShell(interactive: Bool = false) throws -> (Shell, CapturedOutput, String) {
        var configuration = ShellConfiguration()
        configuration.server = try SharedTestServers.connectString(.apache)
        configuration.interactive = interactive
        let output = CapturedOutput()
        return (try Shell(configuration: configuration, output: output), output, SharedTestServers.uniqueRoot("shell"))
    }

    @Test func historyAndRedoAreNumberedAsZkCli() async throws {
        let (shell, output, root) = try makeShell()
        await shell.execute(line: "create \(root) a")
        await shell.execute(line: "get \(root)")
        await shell.execute(line: "")
        await shell.execute(line: "set \(root) b")
        #expect(shell.commandCount == 3)
        output.reset()
        #expect(await shell.execute(line: "redo 1") == 0)
        #expect(output.output == "b\n")
        output.reset()
        await shell.execute(line: "history")
        // The redo line's slot holds the command it ran.
        #expect(
            output.output == "0 - create \(root) a\n1 - get \(root)\n2 - set \(root) b\n3 - get \(root)\n4 - history\n")
        output.reset()
        #expect(await shell.execute(line: "redo 5") == 1)
        #expect(output.error == "Command index out of range\n")
        output.reset()
        await shell.execute(line: "redo 0x2")
        await shell.execute(line: "redo 5")
        #expect(output.error == "No redoing redos\n")
        output.reset()
        #expect(await shell.execute(line: "redo abc") == 1)
        #expect(output.error == "cmdno must be an int value: abc\nredo cmdno\n")
        output.reset()
        for _ in 0..<12 { await shell.execute(line: "printwatches") }
        output.reset()
        await shell.execute(line: "history")
        // At most the last ten entries and the history line itself.
        let lines = output.output.split(separator: "\n")
        #expect(lines.count == 11)
        #expect(lines.last == "\(shell.commandCount - 1) - history")
        await shell.execute(line: "deleteall \(root)")
        await shell.close()
    }

    @Test func promptFollowsTheConnection() async throws {
        let (shell, _, root) = try makeShell()
        let server = shell.host
        #expect(shell.prompt == "[zk: \(server)(CONNECTING) 0] " || shell.prompt == "[zk: \(server)(CONNECTED) 0] ")
        try await shell.waitUntilConnected(timeout: .seconds(30))
        #expect(shell.prompt == "[zk: \(server)(CONNECTED) 0] ")
        await shell.execute(line: "ls \(root)")
        await shell.execute(line: "close")
        #expect(shell.prompt == "[zk: \(server)(CLOSED) 2] ")
        await shell.execute(line: "connect \(server)/chroot")
        #expect(shell.prompt.hasPrefix("[zk: \(server)/chroot("))
        await shell.close()
    }

    @Test func closedSessionSaysNotConnected() async throws {
        let (shell, output, root) = try makeShell()
        await shell.execute(line: "close")
        output.reset()
        #expect(await shell.execute(line: "ls \(root)") == 1)
        #expect(output.output == "Not connected\n")
        #expect(output.error.isEmpty)
        output.reset()
        #expect(await shell.execute(line: "printwatches") == 0)
        #expect(output.output == "printwatches is on\n")
        await shell.execute(line: "connect")
        #expect(await shell.execute(line: "ls /zookeeper") == 0)
        await shell.close()
    }

    @Test func eventsOfOurOwnWritesPrintBeforeTheirResult() async throws {
        let (shell, output, root) = try makeShell()
        await shell.execute(line: "create \(root) a")
        await shell.execute(line: "get -w \(root)")
        output.reset()
        await shell.execute(line: "set -s \(root) b")
        // The server sends the notification before the reply, and the shell keeps that order.
        #expect(
            output.output.hasPrefix(
                "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:\(root)\ncZxid = 0x"))
        await shell.execute(line: "printwatches off")
        await shell.execute(line: "get -w \(root)")
        output.reset()
        await shell.execute(line: "set \(root) c")
        #expect(output.output.isEmpty)
        await shell.execute(line: "delete \(root)")
        await shell.close()
    }

    @Test func interactiveShellsQueueEventsForTheEditor() async throws {
        let (shell, output, root) = try makeShell(interactive: true)
        let woken = Counter()
        shell.setWakeHandler { woken.increment() }
        try await shell.waitUntilConnected(timeout: .seconds(30))
        // The connection event waits for the editor (it owns the screen between commands).
        await shell.execute(line: "create -e \(root) x")
        #expect(output.output.contains("WatchedEvent state:SyncConnected type:None path:null"))
        await shell.execute(line: "stat -w \(root)")
        output.reset()
        // The connection event has woken the editor already: the deletion's wake is the next one.
        let wakesBefore = woken.value
        // Another session deletes the node while the editor waits for typing.
        let other = try await ZooKeeperClient.connect(shell.host)
        try await other.delete(root)
        await other.close()
        #expect(TestEnvironment.waitUntil(timeout: 30) { woken.value > wakesBefore })
        #expect(output.output.isEmpty)
        #expect(
            shell.takePendingOutput()
                == "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDeleted path:\(root)\n")
        #expect(shell.takePendingOutput() == nil)
        await shell.close()
    }

    @Test func oneShotArgumentsAreNotTokenized() async throws {
        let (shell, output, root) = try makeShell()
        #expect(await shell.execute(arguments: ["create", root, "two words"]) == 0)
        output.reset()
        await shell.execute(arguments: ["get", root])
        #expect(output.output == "two words\n")
        #expect(shell.commandCount == 0)
        await shell.execute(arguments: ["delete", root])
        await shell.close()
    }

    @Test func exitStatusRemembersAnyFailure() async throws {
        let (shell, _, root) = try makeShell()
        #expect(await shell.execute(line: "ls /nonexistent-\(root.dropFirst())") == 1)
        #expect(await shell.execute(line: "ls /") == 0)
        #expect(shell.lastExitCode == 0)
        #expect(shell.exitStatus == 1)
        #expect(await shell.execute(line: "bogus") == 127)
        #expect(shell.exitStatus == 127)
        await shell.execute(line: "quit")
        #expect(shell.quitRequested)
        #expect(shell.client.state == .closed)
    }

    @Test func binaryData() async throws {
        let (shell, output, root) = try makeShell()
        await shell.execute(line: "create \(root)")
        await shell.execute(line: "set -b \(root) AAH/gA==")
        output.reset()
        await shell.execute(line: "get -b \(root)")
        await shell.execute(line: "get -x \(root)")
        #expect(
            output.output == """
                AAH/gA==
                         +-------------------------------------------------+
                         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |
                +--------+-------------------------------------------------+----------------+
                |00000000| 00 01 ff 80                                     |....            |
                +--------+-------------------------------------------------+----------------+

                """)
        output.reset()
        #expect(await shell.execute(line: "set -b \(root) !!!") == 1)
        #expect(
            output.error
                == "-b: the data is not valid base64\nset path data [-s] [-v version] [-b]\n -b         Supply data in base64 format\n -s         Print znode stats additionally\n -v <arg>   Set with an expected version\n\n"
        )
        await shell.execute(line: "delete \(root)")
        await shell.close()
    }

    @Test func aCancelledCommandStopsAndSaysSo() async throws {
        let (shell, output, root) = try makeShell()
        await shell.execute(line: "create \(root)")
        output.reset()
        // Ctrl-C cancels the task running the command; it stops before its next request.
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await shell.execute(line: "ls -R \(root)")
        }
        #expect(await task.value == 130)
        #expect(output.error == "Interrupted\n")
        #expect(output.output.isEmpty)
        #expect(await shell.execute(line: "ls -R \(root)") == 0)
        await shell.execute(line: "delete \(root)")
        await shell.close()
    }

    @Test func malformedInputIsFollowedByTheUsage() async throws {
        let (shell, output, root) = try makeShell()
        #expect(await shell.execute(line: "delete relative") == 1)
        #expect(output.error == "Path must start with / character\ndelete [-v version] path\n")
        output.reset()
        #expect(await shell.execute(line: "setAcl \(root) nonsense") == 1)
        #expect(
            output.error
                == "nonsense does not have the form scheme:id:perm\nAcl is not valid : null\nsetAcl [-s] [-v version] [-R] path acl\n"
        )
        output.reset()
        #expect(await shell.execute(line: "get \(root)/") == 1)
        #expect(output.error.hasPrefix("Path must not end with / character\nget [-s] [-w] [-b] [-x] path\n -b   "))
        output.reset()
        // A well-formed request that fails is not followed by the usage.
        #expect(await shell.execute(line: "get \(root)") == 1)
        #expect(output.error == "Node does not exist: \(root)\n")
        await shell.close()
    }

    @Test func completionReadsChildrenLive() async throws {
        let (shell, _, root) = try makeShell()
        await shell.execute(line: "create \(root)")
        await shell.execute(line: "create \(root)/alpha")
        await shell.execute(line: "create \(root)/beta")
        let completion = shell.completionProvider()
        #expect(await completion.complete("ls \(root)/al").insertion == "pha")
        #expect(await completion.complete("ls \(root)/").candidates == ["alpha", "beta"])
        await shell.execute(line: "deleteall \(root)")
        await shell.close()
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLockLike()
    private var count = 0
    func increment() { lock.locked { count += 1 } }
    var value: Int { lock.locked { count } }
}

final class NSLockLike: Sendable {
    private let mutex = Mutex(())
    func locked<T>(_ body: () -> T) -> T { mutex.withLock { _ in body() } }
}
