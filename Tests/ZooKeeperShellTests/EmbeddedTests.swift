import Foundation
import Testing
import ZooKeeperTestSupport

/// `zkcli --embedded`: the bundled server in the shell's own process, on a free loopback port; nothing else
/// is needed (these runs use no other server).
@Suite(.serialized)
struct EmbeddedTests {
    @Test func aScriptRunsAgainstTheEmbeddedServer() throws {
        let run = try Programs.run(
            try Programs.zkcli, ["--embedded"],
            input:
                "create /a hello\ncreate -e /a/eph\nget /a\nls /\ngetEphemerals\ncreate -t 1000 /ttl x\nstat /nonexistent\n"
        )
        #expect(run.output == "hello\n[a, zookeeper]\n[/a/eph]\n")
        #expect(run.error == "Created /a\nCreated /a/eph\nCreated /ttl\nNode does not exist: /nonexistent\n")
        #expect(run.exitCode == 1)
    }

    @Test func oneShot() throws {
        let run = try Programs.run(try Programs.zkcli, ["--embedded", "ls", "/zookeeper"])
        #expect(run.output == "[config, quota]\n")
        #expect(run.exitCode == 0)
    }

    @Test func embeddedTakesNoServerAndDataDirNeedsEmbedded() throws {
        let both = try Programs.run(try Programs.zkcli, ["--embedded", "-server", "127.0.0.1:2181", "ls", "/"])
        #expect(both.exitCode == 64)
        #expect(both.error.contains("--embedded starts its own server"))
        let alone = try Programs.run(try Programs.zkcli, ["--data-dir", "/tmp", "ls", "/"])
        #expect(alone.exitCode == 64)
    }

    @Test func anInteractiveShellOnTheEmbeddedServer() throws {
        let directory = try TestEnvironment.temporaryDirectory("zkcli-embedded")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let terminal = try TerminalSession("'\(try Programs.zkcli)' --embedded --history-file '\(directory)/history'")
        defer { terminal.close() }
        let started = try terminal.waitFor { $0.contains("(CONNECTED) 0]") }
        #expect(started.matched, "\(started.screen)")
        let banner = started.screen.components(separatedBy: "\n").first {
            $0.hasPrefix("Started the embedded zkserver on 127.0.0.1:")
        }
        #expect(banner?.hasSuffix("(in memory); it stops when zkcli exits.") == true)
        try terminal.type("create /tried it")
        try terminal.press("Enter")
        try terminal.type("get /tried")
        try terminal.press("Enter")
        let read = try terminal.waitFor {
            $0.contains("get /tried\nit\n[zk: 127.0.0.1:") && $0.hasSuffix("(CONNECTED) 2]")
        }
        #expect(read.matched, "\(read.screen)")
        try terminal.press("C-d")
        let exited = try terminal.waitFor { $0.contains("EXIT=0") }
        #expect(exited.matched, "\(exited.screen)")
    }
}
