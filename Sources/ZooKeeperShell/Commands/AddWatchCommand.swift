import ZooKeeper

/// `addWatch [-m mode] path`: a persistent watch, recursive unless `-m PERSISTENT`.
enum AddWatchCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "addWatch",
        syntax:
            "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
        summary: "Add a persistent watch on a znode (recursive by default)",
        options: [
            CommandOption(
                "m", value: true, help: "The mode: PERSISTENT or PERSISTENT_RECURSIVE",
                valueHint: .oneOf(AddWatchMode.allCases.map(\.description)))
        ],
        arguments: [.path])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        guard invocation.arguments.count == 2 else { throw invocation.usageFailure }
        var mode = AddWatchMode.persistentRecursive
        if let text = invocation.value("m") {
            guard let chosen = AddWatchMode.allCases.first(where: { $0.description == text.uppercased() }) else {
                throw invocation.usageFailure
            }
            mode = chosen
        }
        let path = invocation.arguments[1]
        let client = shell.client
        try await shell.zk { () async throws(ZooKeeperError) in try await client.addWatch(path, mode: mode) }
    }
}
