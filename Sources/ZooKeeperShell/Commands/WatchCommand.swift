import ZooKeeper

/// `watch [-r] [-d] path`: the changes to a znode (its whole subtree with `-r`) as they happen, one line each,
/// until Ctrl-C: the time seen, the event, the path, and for a creation or a data change the new data version
/// (and the one before, when known), with `-d` the new data too. A persistent (recursive) watch does it, so no
/// change is missed between two events; the client re-arms it after a reconnect.
enum WatchCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "watch", syntax: "[-r] [-d] path", summary: "Print the changes to a znode as they happen, until Ctrl-C",
        options: [
            CommandOption("r", help: "Watch the whole subtree"),
            CommandOption("d", help: "Print the new data of each change"),
        ],
        arguments: [.path], isZkCliCommand: false, printsData: true)

    /// One change seen.
    struct Change: Sendable {
        var timeMilliseconds: Int64
        var event: EventType
        var path: String
        /// The data version after the change (creations and data changes).
        var version: Int32?
        /// The data version before it, when the watch had seen it.
        var previousVersion: Int32?
        /// The new data, with `-d` (nil inside: a null value).
        var data: [UInt8]??
    }

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let recursive = invocation.has("r")
        let showsData = invocation.has("d")
        let client = shell.client
        var versions: [String: Int32] = [:]
        if let stat = try await shell.zk({ () async throws(ZooKeeperError) in try await client.exists(path) }) {
            versions[path] = stat.version
        }
        let mode: AddWatchMode = recursive ? .persistentRecursive : .persistent
        let events = try await shell.zk { () async throws(ZooKeeperError) in try await client.watch(path, mode: mode) }
        // Said in JSON output too (on stderr): a script may wait for it before making changes.
        shell.err("Watching \(path)\(recursive ? " and its subtree" : ""); Ctrl-C stops.")
        for await event in events {
            guard let changed = event.path, event.type != .none else { continue }
            var change = Change(
                timeMilliseconds: Int64(FindCommand.currentMilliseconds()), event: event.type, path: changed,
                previousVersion: versions[changed])
            if event.type == .nodeCreated || event.type == .nodeDataChanged {
                // The znode as it is now (it may have changed again since: the next event will say so).
                if showsData, let (data, stat) = try? await client.getData(changed) {
                    change.version = stat.version
                    change.data = .some(data)
                } else if let stat = try? await client.exists(changed) {
                    change.version = stat.version
                }
            }
            if event.type == .nodeDeleted {
                versions[changed] = nil
            } else if let version = change.version {
                versions[changed] = version
            }
            if event.type == .nodeCreated { change.previousVersion = nil }
            shell.emit(.change(change))
        }
        // The stream ends when the command is interrupted, or when the session does.
        let type: WatcherType = recursive ? .persistentRecursive : .persistent
        try? await client.removeWatches(path, type: type, local: true)
        try Task.checkCancellation()
        throw CommandFailure("The session ended; the watch on \(path) is gone")
    }
}
