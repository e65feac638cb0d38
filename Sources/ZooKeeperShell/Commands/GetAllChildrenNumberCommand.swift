import ZooKeeper

/// `getAllChildrenNumber path`: how many znodes lie below a znode, counted by the server.
enum GetAllChildrenNumberCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "getAllChildrenNumber", syntax: "path", summary: "Count the znodes under a znode",
        arguments: [.path], printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let client = shell.client
        let count = try await shell.zk { () async throws(ZooKeeperError) in
            try await client.getAllChildrenNumber(path)
        }
        shell.emit(.childCount(path: path, count: Int(count)))
    }
}
