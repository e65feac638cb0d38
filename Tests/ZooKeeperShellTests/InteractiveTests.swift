import Foundation
import Testing
import ZooKeeperTestSupport

/// zkcli in a real terminal (tmux), used as a person would: completion, history, watch events arriving while
/// a line is half typed, Ctrl-C and Ctrl-D.
@Suite(.serialized)
struct InteractiveTests {
    let server: String
    let directory: String

    init() throws {
        server = try SharedTestServers.connectString(.apache)
        directory = try TestEnvironment.temporaryDirectory("zkcli-tty")
    }

    var historyFile: String { directory + "/history" }

    func start() throws -> TerminalSession {
        let zkcli = try Programs.zkcli
        let terminal = try TerminalSession("'\(zkcli)' -server \(server) --history-file '\(historyFile)'")
        let ready = try terminal.waitFor { $0.contains("[zk: \(server)(CONNECTED) 0]") }
        #expect(ready.matched, "no connected prompt:\n\(ready.screen)")
        return terminal
    }

    func prompt(_ count: Int) -> String { "[zk: \(server)(CONNECTED) \(count)] " }

    @Test func completesCommandsOptionsAndLivePaths() throws {
        let root = SharedTestServers.uniqueRoot("tab")
        _ = try Programs.zkcli(server: server, input: "create \(root)\ncreate \(root)/alpha\ncreate \(root)/beta\n")
        let terminal = try start()
        defer { terminal.close() }

        try terminal.type("cr")
        try terminal.press("Tab")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(0) + "create") }.matched)

        try terminal.press("C-u")
        try terminal.type("stat -")
        try terminal.press("Tab")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(0) + "stat -w") }.matched)

        try terminal.press("C-u")
        try terminal.type("get -")
        try terminal.press("Tab")
        let options = try terminal.waitFor { $0.contains("-s  -w  -b  -x") }
        #expect(options.matched, "\(options.screen)")

        try terminal.press("C-u")
        try terminal.type("ls \(root)/al")
        try terminal.press("Tab")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(0) + "ls \(root)/alpha") }.matched)
        try terminal.press("Enter")
        #expect(try terminal.waitFor { $0.hasSuffix("[]\n" + prompt(1).dropLast()) }.matched)

        try terminal.type("ls \(root)/")
        try terminal.press("Tab")
        let children = try terminal.waitFor { $0.contains("alpha  beta") }
        #expect(children.matched, "\(children.screen)")
        #expect(try terminal.lastLine() == prompt(1) + "ls \(root)/")
        _ = try Programs.zkcli(server: server, ["deleteall", root])
    }

    @Test func historyRecallAndTheHistoryFileSurviveARestart() throws {
        let root = SharedTestServers.uniqueRoot("hist")
        do {
            let terminal = try start()
            defer { terminal.close() }
            try terminal.type("create \(root) first")
            try terminal.press("Enter")
            try terminal.type("get \(root)")
            try terminal.press("Enter")
            #expect(try terminal.waitFor { $0.contains("first\n" + prompt(2).dropLast()) }.matched)
            try terminal.press("Up")
            #expect(try terminal.waitFor { $0.hasSuffix(prompt(2) + "get \(root)") }.matched)
            try terminal.press("Up")
            #expect(try terminal.waitFor { $0.hasSuffix(prompt(2) + "create \(root) first") }.matched)
            try terminal.press("C-u")
            try terminal.type("quit")
            try terminal.press("Enter")
            #expect(try terminal.waitFor { $0.contains("EXIT=0") }.matched)
        }
        let saved = try String(contentsOfFile: historyFile, encoding: .utf8)
        #expect(saved.contains("get\\040\(root)"))

        let terminal = try start()
        defer { terminal.close() }
        try terminal.press("Up")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(0) + "quit") }.matched)
        try terminal.press("Up")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(0) + "get \(root)") }.matched)
        try terminal.press("Enter")
        #expect(try terminal.waitFor { $0.contains("first\n" + prompt(1).dropLast()) }.matched)
        _ = try Programs.zkcli(server: server, ["delete", root])
    }

    @Test func aWatchEventDoesNotGarbleTheLineBeingTyped() throws {
        let root = SharedTestServers.uniqueRoot("watch")
        _ = try Programs.zkcli(server: server, ["create", root, "one"])
        let terminal = try start()
        defer { terminal.close() }
        try terminal.type("get -w \(root)")
        try terminal.press("Enter")
        #expect(try terminal.waitFor { $0.hasSuffix("one\n" + prompt(1).dropLast()) }.matched)
        try terminal.type("ls /zooke")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(1) + "ls /zooke") }.matched)

        // Another client changes the node while the line is half typed.
        _ = try Programs.zkcli(server: server, ["set", root, "two"])
        let event = "WatchedEvent state:SyncConnected type:NodeDataChanged path:\(root)"
        let shown = try terminal.waitFor { $0.contains(event) }
        #expect(shown.matched, "\(shown.screen)")
        // The event is above the prompt, and the prompt and partial line are drawn again below it.
        #expect(shown.screen.hasSuffix("\nWATCHER::\n\n\(event)\n" + prompt(1) + "ls /zooke"))
        try terminal.type("eper")
        try terminal.press("Enter")
        let listed = try terminal.waitFor { $0.hasSuffix("[config, quota]\n" + prompt(2).dropLast()) }
        #expect(listed.matched, "\(listed.screen)")
        _ = try Programs.zkcli(server: server, ["delete", root])
    }

    @Test func ctrlCClearsTheLineAndCtrlDExitsClosingTheSession() throws {
        let root = SharedTestServers.uniqueRoot("keys")
        let terminal = try start()
        defer { terminal.close() }
        try terminal.type("create \(root)")
        try terminal.press("Enter")
        try terminal.type("create -e \(root)/eph")
        try terminal.press("Enter")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(2).dropLast()) }.matched)

        try terminal.type("delete /abandoned")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(2) + "delete /abandoned") }.matched)
        try terminal.press("C-c")
        let cleared = try terminal.waitFor { $0.hasSuffix(prompt(2) + "delete /abandoned^C\n" + prompt(2).dropLast()) }
        #expect(cleared.matched, "\(cleared.screen)")
        try terminal.type("ls \(root)")
        try terminal.press("Enter")
        #expect(try terminal.waitFor { $0.hasSuffix("[eph]\n" + prompt(3).dropLast()) }.matched)

        try terminal.press("C-d")
        let exited = try terminal.waitFor { $0.contains("EXIT=0") }
        #expect(exited.matched, "\(exited.screen)")
        // The session was closed on the way out: its ephemeral node is gone at once.
        #expect(try Programs.zkcli(server: server, ["ls", root]).output == "[]\n")
        _ = try Programs.zkcli(server: server, ["deleteall", root])
    }

    /// A session the user ends, with quit or Ctrl-D, is a success even when the last command failed (a
    /// mistyped word made `make run` report `Error 127`); scripts keep reporting failures.
    @Test(arguments: ["quit", "C-d"]) func endingTheSessionExitsZeroAfterAFailedCommand(ending: String) throws {
        let terminal = try start()
        defer { terminal.close() }
        try terminal.type("lss /")
        try terminal.press("Enter")
        let failed = try terminal.waitFor {
            $0.hasSuffix("Command not found: Command not found lss\n" + prompt(1).dropLast())
        }
        #expect(failed.matched, "\(failed.screen)")
        if ending == "quit" {
            try terminal.type("quit")
            try terminal.press("Enter")
        } else {
            try terminal.press(ending)
        }
        let exited = try terminal.waitFor { $0.contains("EXIT=") }
        #expect(exited.screen.contains("EXIT=0"), "\(exited.screen)")
    }

    @Test func thePromptFollowsTheConnection() throws {
        // A server of its own, to take away from under the shell. The restarted server expires the session one
        // timeout after it has read it back; 20 s leaves a slow JVM start on a loaded machine time to let the shell in.
        let apache = try ApacheZooKeeperStandalone()
        let address = apache.address
        let zkcli = try Programs.zkcli
        let terminal = try TerminalSession("'\(zkcli)' -server \(address) -timeout 20000 --history-file ''")
        defer { terminal.close() }
        func prompt(_ state: String, _ count: Int) -> String { "[zk: \(address)(\(state)) \(count)]" }
        #expect(try terminal.waitFor { $0.hasSuffix(prompt("CONNECTED", 0)) }.matched)
        try terminal.type("ls /zoo")

        apache.stop(signal: SIGKILL)
        let lost = try terminal.waitFor {
            $0.hasSuffix("WatchedEvent state:Disconnected type:None path:null\n\(prompt("CONNECTING", 0)) ls /zoo")
        }
        #expect(lost.matched, "\(lost.screen)")
        // No server answers, for as long as it takes: the shell keeps reconnecting (only a server can say the
        // session expired), as zkCli.sh does. The server comes back, with the session.
        try apache.start()
        let back = try terminal.waitFor {
            $0.hasSuffix("WatchedEvent state:SyncConnected type:None path:null\n\(prompt("CONNECTED", 0)) ls /zoo")
        }
        #expect(back.matched, "\(back.screen)")
        try terminal.type("keeper")
        try terminal.press("Enter")
        let listed = try terminal.waitFor { $0.hasSuffix("[config, quota]\n\(prompt("CONNECTED", 1))") }
        #expect(listed.matched, "\(listed.screen)")

        try terminal.type("close")
        try terminal.press("Enter")
        let closed = try terminal.waitFor { $0.hasSuffix(prompt("CLOSED", 2)) }
        #expect(closed.matched, "\(closed.screen)")
        try terminal.type("ls /")
        try terminal.press("Enter")
        #expect(try terminal.waitFor { $0.hasSuffix("Not connected\n\(prompt("CLOSED", 3))") }.matched)

        try terminal.type("connect \(address)")
        try terminal.press("Enter")
        let again = try terminal.waitFor { $0.hasSuffix(prompt("CONNECTED", 4)) }
        #expect(again.matched, "\(again.screen)")

        try terminal.type("addauth nosuchscheme secret")
        try terminal.press("Enter")
        let rejected = try terminal.waitFor { $0.hasSuffix(prompt("AUTH_FAILED", 5)) }
        #expect(rejected.matched, "\(rejected.screen)")
        #expect(rejected.screen.contains("WatchedEvent state:AuthFailed type:None path:null"))
    }
}
