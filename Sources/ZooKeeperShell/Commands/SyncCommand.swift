import ZooKeeper

/// `sync path`: the connected server catches up with the leader.
enum SyncCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "sync", syntax: "path", summary: "Catch the server up with the leader", arguments: [.path])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        do {
            try await shell.client.sync(path)
            shell.out("Sync is OK")
        } catch  where error.code == .invalidPath {
            throw CommandFailure(error)
        } catch {
            // zkCli prints this on stdout and exits 0; a failed sync exits 1 here.
            shell.out("Sync has failed. rc=\(error.code.rawValue)")
            var failure = CommandFailure(error)
            failure.message = ""
            throw failure
        }
    }
}
