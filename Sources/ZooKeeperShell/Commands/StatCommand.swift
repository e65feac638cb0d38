import ZooKeeper

/// `stat [-w] path`: a znode's stat (an exists request, so `-w` watches a node that does not exist yet).
enum StatCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "stat", syntax: "[-w] path", summary: "Print a znode's stat",
        options: [CommandOption("w", help: "Watch for changes")], arguments: [.path], printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        _ = try invocation.argument(1)
        let invocation = try shell.upgradingDeprecatedWatch(invocation, use: "stat [-w] path")
        let path = invocation.arguments[1]
        let watch = invocation.has("w")
        let client = shell.client
        let stat = try await shell.zk { () async throws(ZooKeeperError) in try await client.exists(path, watch: watch) }
        guard let stat else { throw CommandFailure(ZooKeeperError(.noNode, path: path)) }
        shell.emit(.stat(path: path, stat: stat))
    }
}
