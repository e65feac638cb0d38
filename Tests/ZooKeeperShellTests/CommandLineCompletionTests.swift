import Synchronization
import Testing

@testable import ZooKeeperShell

/// `zkcli --complete`'s decisions, with a fake tree instead of a server.
struct CommandLineCompletionTests {
    /// `/`, `/app/{alpha/x, alpine, beta}`, `/zookeeper/{config, quota}`.
    static let tree: [String: [String]] = [
        "/": ["zookeeper", "app"],
        "/app": ["beta", "alpine", "alpha"],
        "/app/alpha": ["x"],
        "/app/alpine": [],
        "/app/beta": [],
        "/zookeeper": ["quota", "config"],
    ]

    /// zkcli's options, as typed, in the order of the model.
    static let optionNames = (ProgramOptions.all + ProgramOptions.standard).flatMap(\.names)

    let completion = CommandLineCompletion()

    /// Where each completion connected (server, read-only), if it did.
    final class Connections: Sendable {
        let made = Mutex<[String]>([])
    }

    func complete(_ words: [String], connections: Connections = Connections()) async
        -> CommandLineCompletion.Reply
    {
        await completion.complete(words) { server, readOnly in
            connections.made.withLock { $0.append(readOnly ? server + " (read-only)" : server) }
            return { parent in Self.tree[parent] }
        }
    }

    func values(_ reply: CommandLineCompletion.Reply) -> [String] {
        reply.candidates.map(\.value)
    }

    @Test func commandNamesWithTheirSummaries() async {
        let reply = await complete(["-server", "h:1", "ge"])
        #expect(reply.kind == .words)
        #expect(values(reply) == ["get", "getAcl", "getAllChildrenNumber", "getEphemerals"])
        #expect(reply.candidates.first?.help == "Print a znode's data")
        // Every command is offered for an empty word, and each has a summary.
        let all = await complete([""])
        #expect(values(all) == CommandRegistry.completableNames)
        #expect(all.candidates.allSatisfy { !$0.help.isEmpty })
    }

    @Test func programOptionsNotYetGiven() async {
        #expect(values(await complete(["-"])) == Self.optionNames)
        #expect(
            values(await complete(["-r", "-server", "h:1", "-"]))
                == Self.optionNames.filter { $0 != "-r" && $0 != "-server" })
        #expect(await complete(["-ser"]).candidates == [.init("-server", help: ProgramOptions.server.help)])
        // Either spelling of an option given takes both away.
        #expect(!values(await complete(["--output", "json", "-"])).contains("-o"))
    }

    @Test func programOptionValues() async {
        #expect(await complete(["-client-configuration", "co"]) == .init(kind: .files))
        #expect(await complete(["--embedded", "--data-dir", ""]) == .init(kind: .directories))
        // A connect string or a number cannot be guessed.
        #expect(await complete(["-server", ""]) == .init(kind: .words))
        #expect(await complete(["-timeout", "3"]) == .init(kind: .words))
        // The output formats.
        #expect(values(await complete(["-o", ""])) == ["text", "json"])
        #expect(values(await complete(["--output", "j"])) == ["json"])
    }

    @Test func optionsOfTheCommandWithTheirHelp() async {
        let reply = await complete(["-server", "h:1", "get", "-"])
        #expect(values(reply) == ["-s", "-w", "-b", "-x"])
        #expect(reply.candidates.map(\.help).allSatisfy { !$0.isEmpty })
        #expect(values(await complete(["create", "-s", "-"])) == ["-e", "-c", "-t"])
        // `ls -?` works but is not offered (a shell would glob it).
        #expect(!values(await complete(["ls", "-"])).contains("-?"))
        #expect(values(await complete(["reconfig", "-f"])) == ["-file"])
    }

    @Test func livePathsFromTheServerOfTheCommandLine() async {
        let connections = Connections()
        let reply = await complete(
            ["-r", "-server", "zk1:2181/chroot", "get", "-s", "/app/al"], connections: connections)
        #expect(values(reply) == ["/app/alpha", "/app/alpine"])
        #expect(reply.candidates.allSatisfy { $0.help.isEmpty })
        #expect(connections.made.withLock { $0 } == ["zk1:2181/chroot (read-only)"])
        // The default server, as zkcli's.
        let byDefault = Connections()
        _ = await complete(["ls", "/"], connections: byDefault)
        #expect(byDefault.made.withLock { $0 } == ["localhost:2181"])
        // With the value attached.
        let attached = Connections()
        #expect(
            values(await complete(["-server=zk2:2181", "-timeout=5000", "ls", "/zoo"], connections: attached)) == [
                "/zookeeper", "/zookeeper/config", "/zookeeper/quota",
            ])
        #expect(attached.made.withLock { $0 } == ["zk2:2181"])
    }

    @Test func aUniqueMatchBringsItsChildrenSoThatTheShellStopsThere() async {
        #expect(values(await complete(["ls", "/app/alph"])) == ["/app/alpha", "/app/alpha/x"])
        // A unique leaf comes alone (the shell adds a space).
        #expect(values(await complete(["ls", "/app/b"])) == ["/app/beta"])
        #expect(values(await complete(["ls", "/zookeeper/"])) == ["/zookeeper/config", "/zookeeper/quota"])
        #expect(values(await complete(["ls", "/nothing/"])).isEmpty)
    }

    @Test func anEmptyWordWherePathIsExpected() async {
        #expect(values(await complete(["get", "-s", ""])) == ["/app", "/zookeeper"])
        #expect(values(await complete(["setquota", "-n", "5", ""])) == ["/app", "/zookeeper"])
        // After the path (set's data), while an option waits for its value, and for commands without paths.
        #expect(values(await complete(["set", "/app", ""])).isEmpty)
        #expect(values(await complete(["delete", "-v", ""])).isEmpty)
        #expect(values(await complete(["whoami", ""])).isEmpty)
        #expect(values(await complete(["ls2", ""])) == ["/app", "/zookeeper"])
    }

    @Test func noSessionWhenNoPathIsWanted() async {
        let connections = Connections()
        _ = await complete(["-server", "h:1", "get", "-"], connections: connections)
        _ = await complete(["-server", "h:1", "ge"], connections: connections)
        #expect(connections.made.withLock { $0 }.isEmpty)
    }

    @Test func theEmbeddedServerIsNeverAsked() async {
        let connections = Connections()
        #expect(values(await complete(["--embedded", "ls", "/"], connections: connections)).isEmpty)
        #expect(connections.made.withLock { $0 }.isEmpty)
    }

    @Test func fixedValuesAndFiles() async {
        #expect(values(await complete(["printwatches", ""])) == ["off", "on"])
        #expect(values(await complete(["addWatch", "-m", "PERSISTENT_"])) == ["PERSISTENT_RECURSIVE"])
        #expect(await complete(["reconfig", "-file", ""]) == .init(kind: .files))
    }

    @Test func theTextZkcliPrints() {
        let reply = CommandLineCompletion.Reply(
            kind: .words, candidates: [.init("-s", help: "Print the stat too"), .init("/a")])
        #expect(reply.text == "words\n-s\tPrint the stat too\n/a\n")
        #expect(CommandLineCompletion.Reply(kind: .files).text == "files\n")
    }
}
