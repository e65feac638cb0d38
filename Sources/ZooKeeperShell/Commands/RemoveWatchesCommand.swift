import ZooKeeper

/// `removewatches path [-c|-d|-a] [-l]`: the session's watches of a kind on a znode.
enum RemoveWatchesCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "removewatches", syntax: "path [-c|-d|-a] [-l]", summary: "Remove the watches on a znode",
        options: [
            CommandOption("c", help: "Only child watches"),
            CommandOption("d", help: "Only data watches"),
            CommandOption("a", help: "Watches of any type (the default)"),
            CommandOption("l", help: "Remove locally even when disconnected"),
            // ZooKeeper 3.9's persistent and persistent-recursive watch types.
            CommandOption("p", help: "Only persistent watches"),
            CommandOption("r", help: "Only persistent recursive watches"),
        ],
        arguments: [.path])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let type: WatcherType =
            if invocation.has("c") {
                .children
            } else if invocation.has("d") {
                .data
            } else if invocation.has("p") {
                .persistent
            } else if invocation.has("r") {
                .persistentRecursive
            } else {
                .any
            }
        let local = invocation.has("l")
        let client = shell.client
        try await shell.zk { () async throws(ZooKeeperError) in
            try await client.removeWatches(path, type: type, local: local)
        }
    }
}
