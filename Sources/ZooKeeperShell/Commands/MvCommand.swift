/// `mv [-f] [--dry-run] src dst`: a subtree moved, with its data and ACLs, here or to another cluster: copied
/// (as `cp -r --acl`), then the source deleted once every znode was copied. ZooKeeper has no rename: during
/// the move both copies exist.
enum MvCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "mv", syntax: "[-f] [--dry-run] src dst", summary: "Move a subtree, here or to another cluster",
        options: [
            CommandOption("f", help: "Overwrite the data and ACL of znodes that exist"),
            .long("dry-run", help: "Say what would be done, and do nothing"),
        ],
        arguments: [.path, .path], isZkCliCommand: false)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        try await CpCommand.copy(invocation, in: shell, recursive: true, copiesACL: true, moves: true)
    }
}
