import ZooKeeper

/// `getEphemerals path`: the session's ephemeral znodes under a path (all of them without one).
enum GetEphemeralsCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "getEphemerals", syntax: "path", summary: "List the session's ephemeral znodes",
        arguments: [.path], printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = invocation.arguments.count >= 2 ? invocation.arguments[1] : "/"
        let client = shell.client
        let ephemerals = try await shell.zk { () async throws(ZooKeeperError) in
            try await client.getEphemerals(path)
        }
        shell.emit(.ephemerals(path: path, paths: ephemerals))
    }
}
