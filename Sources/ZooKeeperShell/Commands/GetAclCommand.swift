import ZooKeeper

/// `getAcl [-s] path`: a znode's ACL entries, and its stat with `-s`.
enum GetAclCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "getAcl", syntax: "[-s] path", summary: "Print a znode's ACL",
        options: [CommandOption("s", help: "Print the stat too")], arguments: [.path], printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let client = shell.client
        let (acl, stat) = try await shell.zk { () async throws(ZooKeeperError) in try await client.getACL(path) }
        shell.emit(.acl(path: path, acl: acl, stat: invocation.has("s") ? stat : nil))
    }
}
