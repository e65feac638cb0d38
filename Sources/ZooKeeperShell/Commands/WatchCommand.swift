import ZooKeeper

/// `watch [-r] [-d] path`: the changes to a znode (its whole subtree with `-r`) as they happen, one line each,
/// until Ctrl-C: the time seen, the event, the path, and for a creation or a data change the new data version
/// (and the one before, when known), with `-d` the new data too. A persistent (recursive) watch does it, so no
/// change is missed between two events; the client re-arms it after a reconnect, but the server does not replay
/// what changed meanwhile: so the command keeps the versions it has seen, reads the subtree again after a
/// reconnect and reports the differences as changes made while disconnected.
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
        /// Found by reading the subtree again after a reconnect, not by an event.
        var whileDisconnected = false
    }

    /// What the command knows of a znode, to tell after a reconnect what changed meanwhile.
    struct Seen: Equatable {
        var version: Int32
        var childrenVersion: Int32
    }

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let recursive = invocation.has("r")
        let showsData = invocation.has("d")
        let client = shell.client
        let mode: AddWatchMode = recursive ? .persistentRecursive : .persistent
        let events = try await shell.zk { () async throws(ZooKeeperError) in try await client.watch(path, mode: mode) }
        // Read after the watch is set, so that no change falls between the two.
        var seen = try await read(path, recursive: recursive, client: client)
        // Said in JSON output too (on stderr): a script may wait for it before making changes.
        shell.err("Watching \(path)\(recursive ? " and its subtree" : ""); Ctrl-C stops.")
        var disconnected = false
        for await event in events {
            if event.type == .none {
                if event.state == .disconnected, !disconnected {
                    disconnected = true
                    shell.err("Disconnected; the changes made meanwhile follow when the connection is back.")
                } else if event.state == .syncConnected || event.state == .connectedReadOnly, disconnected {
                    do {
                        let now = try await read(path, recursive: recursive, client: client)
                        let count = try await report(
                            from: seen, to: now, recursive: recursive, showsData: showsData, client, shell)
                        seen = now
                        disconnected = false
                        shell.err(
                            "Re-synced after the reconnect: \(count) change\(count == 1 ? "" : "s") while disconnected."
                        )
                    } catch let error as ZooKeeperError where error.code == .connectionLoss {
                        // Lost again: the next reconnect tries again.
                    }
                }
                continue
            }
            guard let changed = event.path else { continue }
            var change = Change(
                timeMilliseconds: Int64(FindCommand.currentMilliseconds()), event: event.type, path: changed,
                previousVersion: seen[changed]?.version)
            if event.type == .nodeCreated || event.type == .nodeDataChanged {
                // The znode as it is now (it may have changed again since: the next event will say so).
                if showsData, let (data, stat) = try? await client.getData(changed) {
                    change.version = stat.version
                    change.data = .some(data)
                    seen[changed] = Seen(version: stat.version, childrenVersion: stat.cversion)
                } else if let stat = try? await client.exists(changed) {
                    change.version = stat.version
                    seen[changed] = Seen(version: stat.version, childrenVersion: stat.cversion)
                }
            }
            if event.type == .nodeDeleted { seen[changed] = nil }
            // Only the children's version: the data version stays the one last reported, for the next event.
            if event.type == .nodeChildrenChanged, let stat = try? await client.exists(changed) {
                seen[changed]?.childrenVersion = stat.cversion
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

    /// The versions of the watched znode (and with `recursive` of its whole subtree) as they are now; empty when
    /// it does not exist. Znodes that cannot be read are left out.
    static func read(_ path: String, recursive: Bool, client: ZooKeeperClient) async throws -> [String: Seen] {
        var walk = PipelinedWalk(client: client)
        walk.maximumDepth = recursive ? nil : 0
        var seen: [String: Seen] = [:]
        do {
            try await walk.run(from: path) { _, _ in
            } visit: { node in
                seen[node.path] = Seen(version: node.stat.version, childrenVersion: node.stat.cversion)
            }
        } catch let error as ZooKeeperError where error.code == .noNode {
            return [:]
        }
        return seen
    }

    /// Emits the differences between two readings as changes made while disconnected, in path order; returns
    /// how many. The children of a znode watched without `-r` are not read: a change to them is one
    /// NodeChildrenChanged, as its event would have been.
    static func report(
        from before: [String: Seen], to after: [String: Seen], recursive: Bool, showsData: Bool,
        _ client: ZooKeeperClient, _ shell: Shell
    ) async throws -> Int {
        let now = Int64(FindCommand.currentMilliseconds())
        var count = 0
        for path in Set(before.keys).union(after.keys).sorted() {
            let old = before[path]
            let new = after[path]
            var changes: [Change] = []
            switch (old, new) {
            case (nil, let new?):
                changes.append(Change(timeMilliseconds: now, event: .nodeCreated, path: path, version: new.version))
            case (_?, nil):
                changes.append(Change(timeMilliseconds: now, event: .nodeDeleted, path: path))
            case (let old?, let new?):
                if old.version != new.version {
                    changes.append(
                        Change(
                            timeMilliseconds: now, event: .nodeDataChanged, path: path, version: new.version,
                            previousVersion: old.version))
                }
                if !recursive, old.childrenVersion != new.childrenVersion {
                    changes.append(Change(timeMilliseconds: now, event: .nodeChildrenChanged, path: path))
                }
            case (nil, nil):
                break
            }
            for var change in changes {
                change.whileDisconnected = true
                if showsData, change.version != nil, let (data, _) = try? await client.getData(path) {
                    change.data = .some(data)
                }
                shell.emit(.change(change))
                count += 1
            }
        }
        return count
    }
}
