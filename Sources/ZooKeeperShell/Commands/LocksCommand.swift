import ZooKeeper

/// `locks path` (also `holders`): who holds the lock at `path` and who waits for it, in order: the contender node,
/// its session, its owner (the host or identifier the node's data holds), since when. Curator's mutex, read-write
/// lock, semaphore leases and leader latch, and kazoo's lock and read lock, are recognised from the node names.
enum LocksCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "locks", syntax: "path", summary: "List who holds and who waits for a Curator or kazoo lock",
        aliases: [CommandAlias(name: "holders")], arguments: [.path], isZkCliCommand: false, printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let client = shell.client
        let contenders = try await shell.zk { () async throws(ZooKeeperError) in try await client.lockContenders(path) }
        if contenders.isEmpty { shell.note("Nobody holds or waits for \(path)") }
        for contender in contenders { shell.emit(.contender(path: path, contender)) }
    }
}
