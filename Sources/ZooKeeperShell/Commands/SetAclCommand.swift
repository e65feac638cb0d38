import ZooKeeper

/// `setAcl [-s] [-v version] [-R] path acl`: a znode's ACL, or that of its whole subtree with `-R`.
enum SetAclCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "setAcl", syntax: "[-s] [-v version] [-R] path acl", summary: "Set a znode's ACL",
        options: [
            CommandOption("s", help: "Print the new stat"),
            CommandOption("v", value: true, help: "Set only if the ACL version matches"),
            CommandOption("R", help: "Set it on the whole subtree"),
        ],
        arguments: [.path, .text], printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        _ = try invocation.argument(2)
        let path = invocation.arguments[1]
        let parsed = AclParser.parse(invocation.arguments[2])
        for warning in parsed.warnings { shell.err(warning) }
        let version = try shell.version(invocation)
        if let problem = ZooKeeperPath.problem(with: path) { throw CommandFailure(problem, showsUsage: true) }
        if parsed.acl.isEmpty { throw CommandFailure(ZooKeeperError(.invalidACL)) }
        let client = shell.client
        if invocation.has("R") {
            var failures = 0
            try await shell.visitSubtree(path, watch: false) { node in
                do throws(ZooKeeperError) {
                    try await client.setACL(node, acl: parsed.acl, version: version)
                } catch {
                    // zkCli prints these on stdout without a newline; each gets its own line on stderr here.
                    failures += 1
                    shell.err(error.description)
                }
            }
            if failures > 0 { throw CommandFailure.silent }
        } else {
            let stat = try await shell.zk { () async throws(ZooKeeperError) in
                try await client.setACL(path, acl: parsed.acl, version: version)
            }
            if invocation.has("s") { shell.emit(.stat(path: path, stat: stat)) }
        }
    }
}
