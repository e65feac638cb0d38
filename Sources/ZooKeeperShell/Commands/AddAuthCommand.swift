import ZooKeeper

/// `addauth scheme auth`: credentials for the session (digest user:password, ...).
enum AddAuthCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "addauth", syntax: "scheme auth", summary: "Add credentials to the session",
        arguments: [.text, .text])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let scheme = try invocation.argument(1)
        let auth = invocation.arguments.count >= 3 ? Array(invocation.arguments[2].utf8) : nil
        let client = shell.client
        // zkCli returns at once and learns of a rejection from the AuthFailed event; here the command waits for
        // the server's answer and fails when the credentials are rejected.
        try await shell.zk { () async throws(ZooKeeperError) in try await client.addAuth(scheme: scheme, auth: auth) }
    }
}
