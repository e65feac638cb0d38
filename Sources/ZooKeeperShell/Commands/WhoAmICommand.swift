import ZooKeeper

/// `whoami`: the identities the server knows the session by.
enum WhoAmICommand: ShellCommand {
    static let spec = CommandSpec(
        name: "whoami", syntax: "", summary: "Print the session's identities", printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let client = shell.client
        let identities = try await shell.zk { () async throws(ZooKeeperError) in try await client.whoAmI() }
        shell.emit(.identities(identities))
    }
}
