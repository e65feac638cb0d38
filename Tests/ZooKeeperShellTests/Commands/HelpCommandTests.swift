import Testing
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// `help`, derived from the command registry (it needs no session).
struct HelpCommandTests {
    func run(_ line: String) async throws -> (code: Int32, output: CapturedOutput) {
        var configuration = ShellConfiguration()
        configuration.server = "127.0.0.1:\(try TestEnvironment.freePort())"
        let output = CapturedOutput()
        let shell = try Shell(configuration: configuration, output: output)
        let code = await shell.execute(line: line)
        await shell.close()
        return (code, output)
    }

    @Test func theListingIsZkClisThenThisShellsOwn() async throws {
        let (code, output) = try await run("help")
        #expect(code == 0)
        #expect(output.output.hasPrefix(CommandRegistry.usageListing + "\nzkcli's own:\n"))
        for spec in CommandRegistry.specs where !spec.isZkCliCommand {
            #expect(output.output.contains("\n\t\(spec.name) \(spec.syntax)\n"))
        }
        #expect(output.output.hasSuffix("\trmr (deleteall), ls2 (ls), exit (quit)\n"))
    }

    @Test func aCommandsUsageSummaryAndOptions() async throws {
        let (code, output) = try await run("help tree")
        #expect(code == 0)
        #expect(
            output.output == """
                tree [-d depth] [-s] path
                Draw the subtree of a znode
                 -d <value>             Only this many levels below the path
                 -s                     Show each znode's data size and child count
                 -o, --output <value>   Print the result as JSON (json) or as zkCli does (text)

                """)
        // By an alias too.
        #expect(
            try await run("help ls2").output.output.hasPrefix(
                "ls [-s] [-w] [-R] path\nList a znode's children\nAlso: ls2\n"))
        let unknown = try await run("help nosuch")
        #expect(unknown.code == 1)
        #expect(unknown.output.error == "help: no command nosuch\nhelp [command]\n")
    }

    @Test func completionOffersCommandNames() async {
        let provider = CompletionProvider { _ in nil }
        #expect(await provider.complete("help tr").insertion == "ee ")
    }
}
