import ZooKeeper

/// `get [-s] [-w] [-b] [-x] path`: a znode's data (as text, base64 or a hex dump), and its stat with `-s`.
enum GetCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "get", syntax: "[-s] [-w] [-b] [-x] path", summary: "Print a znode's data",
        options: [
            CommandOption("s", help: "Print the stat too"),
            CommandOption("w", help: "Watch for changes"),
            CommandOption("b", help: "Print the data in base64"),
            CommandOption("x", help: "Print the data as a hex dump"),
        ],
        optionTable: """
             -b   Output data in base64 format
             -s   Print znode stats additionally
             -w   Watch for changes on the znode
             -x   Output data in hexdump format

            """,
        arguments: [.path], printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        _ = try invocation.argument(1)
        let invocation = try shell.upgradingDeprecatedWatch(invocation, use: "get [-s] [-w] path")
        let path = invocation.arguments[1]
        let watch = invocation.has("w")
        let client = shell.client
        let (data, stat) = try await shell.zk { () async throws(ZooKeeperError) in
            try await client.getData(path, watch: watch)
        }
        let shownAs: CommandResult.DataRendering =
            invocation.has("x") ? .hexDump : invocation.has("b") ? .base64 : .text
        shell.emit(.data(path: path, data: data, shownAs: shownAs, stat: invocation.has("s") ? stat : nil))
    }
}
