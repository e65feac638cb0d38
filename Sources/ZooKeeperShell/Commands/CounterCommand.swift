import ZooKeeper

/// `counter path [get|set N|add N]`: Curator's `SharedCount` (its node holds the value as a 4-byte big-endian
/// signed integer). `set` and `add` create the node (with 0) when it is missing, as Curator's `start()` does;
/// `add` retries its conditional write until no one else changed the value in between.
enum CounterCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "counter", syntax: "path [get|set N|add N]",
        summary: "Read or change a Curator SharedCount (a 4-byte counter)",
        arguments: [.path, .oneOf(["get", "set", "add"]), .text], isZkCliCommand: false, printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let action = invocation.arguments.count > 2 ? invocation.arguments[2] : "get"
        let count = SharedCount(client: shell.client, path: path)
        switch action {
        case "get":
            guard invocation.arguments.count <= 3 else { throw invocation.usageFailure }
            let value = try await shell.zk { () async throws(ZooKeeperError) in try await count.versionedCount() }
            shell.emit(.counter(path: path, value: value.value, version: value.version))
        case "set", "add":
            guard invocation.arguments.count == 4 else { throw invocation.usageFailure }
            guard let number = Int32(invocation.arguments[3]) else {
                throw CommandFailure("'\(invocation.arguments[3])' is not a 32-bit integer\n\(spec.usage)")
            }
            let value = try await shell.zk { () async throws(ZooKeeperError) in
                try await count.start()
                if action == "add" { return try await count.add(number) }
                try await count.setCount(number)
                return number
            }
            shell.emit(.counter(path: path, value: value, version: nil))
        default:
            throw invocation.usageFailure
        }
    }
}
