import ZooKeeper

/// `cd [path]`: the directory relative paths start from (`/` without an argument). Until the first `cd`,
/// paths must be absolute, as in zkCli.
enum CdCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "cd", syntax: "[path]", summary: "Change the directory relative paths start from",
        arguments: [.path], isZkCliCommand: false)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let target = invocation.arguments.count >= 2 ? invocation.arguments[1] : "/"
        let path = try shell.resolve(target)
        let client = shell.client
        let stat = try await shell.zk { () async throws(ZooKeeperError) in try await client.exists(path) }
        guard stat != nil else { throw CommandFailure(ZooKeeperError(.noNode, path: path)) }
        shell.workingDirectory = path
    }
}
