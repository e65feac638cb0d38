import Foundation
import Testing
import ZooKeeperTestSupport

/// `edit` with scripted editors (`$EDITOR` is a command line given the file): through the executable, and in
/// a real terminal, where the editor gets the terminal from the line editor and gives it back.
@Suite(.serialized)
struct EditCommandTests {
    @Test(arguments: TestServerKind.allCases) func theEditIsWrittenAtTheVersionRead(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("edit")
        #expect(try Programs.zkcli(server: server, ["create", path, "one"]).exitCode == 0)
        defer { _ = try? Programs.zkcli(server: server, ["delete", path]) }
        let edit = try Programs.zkcli(server: server, ["edit", path], environment: ["EDITOR": "sed -i s/one/two/"])
        #expect(edit.exitCode == 0)
        #expect(edit.output == "" && edit.error == "")
        #expect(try Programs.zkcli(server: server, ["get", path]).output == "two\n")
        // $VISUAL wins; an editor that changes nothing writes nothing.
        let unchanged = try Programs.zkcli(
            server: server, ["edit", path], environment: ["VISUAL": "true", "EDITOR": "false"])
        #expect(unchanged.error == "edit: no change\n")
        let failed = try Programs.zkcli(server: server, ["edit", path], environment: ["EDITOR": "false"])
        #expect(failed.exitCode == 1)
        #expect(failed.error == "edit: the editor failed (status 1); \(path) is unchanged\n")
    }

    @Test func aConcurrentChangeIsRefusedAndTheTextKept() throws {
        let server = try SharedTestServers.connectString(.apache)
        let path = SharedTestServers.uniqueRoot("race")
        #expect(try Programs.zkcli(server: server, ["create", path, "one"]).exitCode == 0)
        defer { _ = try? Programs.zkcli(server: server, ["delete", path]) }
        let directory = try TestEnvironment.temporaryDirectory("zkcli-edit")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The editor: another client changes the znode while the text is being edited.
        let editor = directory + "/editor"
        try """
        #!/bin/sh
        '\(try Programs.zkcli)' -server \(server) set \(path) other
        sed -i s/one/mine/ "$1"

        """.write(toFile: editor, atomically: true, encoding: .utf8)
        chmod(editor, 0o755)
        let edit = try Programs.zkcli(
            server: server, ["edit", path], environment: ["EDITOR": editor, "TMPDIR": directory])
        #expect(edit.exitCode == 1)
        let prefix = "edit: \(path) changed since it was read (data version 0); not written, your text is kept in "
        #expect(edit.error.hasPrefix(prefix))
        let kept = String(edit.error.dropFirst(prefix.count).dropLast())
        #expect(kept.hasPrefix(directory + "/zkcli-edit-"))
        #expect(try String(contentsOfFile: kept, encoding: .utf8) == "mine")
        #expect(try Programs.zkcli(server: server, ["get", path]).output == "other\n")
    }

    @Test func inATerminalTheEditorGetsTheScreenAndGivesItBack() throws {
        let server = try SharedTestServers.connectString(.apache)
        let path = SharedTestServers.uniqueRoot("tty-edit")
        #expect(try Programs.zkcli(server: server, ["create", path, "one"]).exitCode == 0)
        defer { _ = try? Programs.zkcli(server: server, ["delete", path]) }
        let terminal = try TerminalSession(
            "EDITOR='sed -i s/one/two/' '\(try Programs.zkcli)' -server \(server) --history-file ''")
        defer { terminal.close() }
        func prompt(_ count: Int) -> String { "[zk: \(server)(CONNECTED) \(count)]" }
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(0)) }.matched)
        try terminal.type("edit \(path)")
        try terminal.press("Enter")
        #expect(try terminal.waitFor { $0.hasSuffix(prompt(1)) }.matched)
        try terminal.type("get \(path)")
        try terminal.press("Enter")
        let shown = try terminal.waitFor { $0.hasSuffix("two\n" + prompt(2)) }
        #expect(shown.matched, "\(shown.screen)")
    }
}
