import ZooKeeper

/// `delete [-v version] path`: a znode without children, only at a version with `-v`.
enum DeleteCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "delete", syntax: "[-v version] path", summary: "Delete a znode",
        options: [CommandOption("v", value: true, help: "Delete only this version")], arguments: [.path])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        if invocation.arguments.count > 2 {
            // As zkCli: the note, and the positional version is ignored.
            shell.err("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.")
        }
        let version = try shell.version(invocation)
        let client = shell.client
        try await shell.zk { () async throws(ZooKeeperError) in try await client.delete(path, version: version) }
    }
}
