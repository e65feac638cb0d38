import ZooKeeper

/// `diff [-r] a b`: two znodes (two subtrees with `-r`) compared, data and ACLs: `-` only under `a`, `+` only
/// under `b`, `~` in both but different (and what differs), by path below each. Either side may be on another
/// cluster (`zk://host:port[,host:port...]/path`). Exits 1 when they differ, as diff(1) does. The two subtrees are
/// walked side by side in the order of their sorted paths and merged as they come, so memory stays bounded; a znode
/// one side cannot read is reported, nothing at or under it is compared, and the exit is 1 at the end.
enum DiffCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "diff", syntax: "[-r] a b", summary: "Compare two znodes or subtrees, here or on another cluster",
        options: [CommandOption("r", help: "Compare the whole subtrees")], arguments: [.path, .path],
        isZkCliCommand: false, printsData: true)

    /// How a path differs.
    struct Difference: Sendable {
        enum Kind: String, Sendable {
            case removed
            case added
            case changed
        }
        var path: String
        var kind: Kind
        var data = false
        var acl = false
    }

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let first = try ZnodeLocation(try invocation.argument(1))
        let second = try ZnodeLocation(try invocation.argument(2))
        let recursive = invocation.has("r")
        let left = try first.client(shell)
        let right: ZooKeeperClient
        do {
            right = try second.client(shell)
        } catch {
            if first.cluster != nil { await left.close() }
            throw error
        }
        // Sessions of their own (other clusters) are closed, whatever happens.
        let outcome: Result<Void, any Error>
        let leftSessions = first.readSessions(shell, like: left)
        // Two paths of the shell's session share its extra sessions.
        let rightSessions =
            first.cluster == nil && second.cluster == nil ? leftSessions : second.readSessions(shell, like: right)
        do {
            try await leftSessions.closing {
                try await rightSessions.closing {
                    try await compare(
                        Side(first, client: left, recursive: recursive, readSessions: leftSessions),
                        Side(second, client: right, recursive: recursive, readSessions: rightSessions), shell)
                }
            }
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        if first.cluster != nil { await left.close() }
        if second.cluster != nil { await right.close() }
        try outcome.get()
    }

    /// One side's walk, in the sorted order of the paths below its root, so that the two merge path by path while
    /// holding no more than their windows: the differences come out as the walks go, in that order.
    struct Side {
        let location: ZnodeLocation
        let walker: PipelinedWalk.Walker

        init(_ location: ZnodeLocation, client: ZooKeeperClient, recursive: Bool, readSessions: ReadSessions) {
            var walk = PipelinedWalk(client: client)
            walk.readsData = true
            walk.readsACL = true
            walk.readSessions = readSessions
            walk.maximumDepth = recursive ? nil : 0
            walk.order = .paths
            self.location = location
            walker = walk.nodes(from: location.path)
        }

        /// The path below the root ("" for the root).
        func below(_ path: String) -> String {
            let below = location.path == "/" ? path : String(path.dropFirst(location.path.count))
            return below == "/" ? "" : below
        }
    }

    /// A znode of one side: its path below the root, data and ACL.
    struct Entry {
        var key: String
        var data: [UInt8]?
        var acl: [ACL]
    }

    /// What the merge found so far.
    final class Merge {
        let shell: Shell
        /// Paths below the roots that one side could not read: nothing at or under them is compared.
        var unreadable: Set<String> = []
        var failures = 0
        var differences = 0

        init(_ shell: Shell) {
            self.shell = shell
        }

        /// The next znode of `side`; what it cannot read is reported.
        func pull(_ side: Side) async throws -> Entry? {
            guard
                let node = try await side.walker.next(unreadable: { failed, error in
                    self.failures += 1
                    self.shell.report(error, at: failed)
                    self.unreadable.insert(side.below(failed))
                })
            else { return nil }
            return Entry(key: side.below(node.path), data: node.data, acl: node.acl ?? [])
        }

        /// Whether `key` or one of its ancestors could not be read on one side. Both walks are past every path that
        /// sorts before `key` when it is compared, so its ancestors' failures are known by then.
        func hidden(_ key: String) -> Bool {
            guard !unreadable.isEmpty else { return false }
            var prefix = Substring(key)
            while true {
                if unreadable.contains(String(prefix)) { return true }
                guard let slash = prefix.lastIndex(of: "/") else { return false }
                prefix = prefix[..<slash]
            }
        }

        func emit(_ key: String, _ kind: Difference.Kind, data: Bool = false, acl: Bool = false) {
            guard !hidden(key) else { return }
            differences += 1
            shell.emit(.difference(Difference(path: key.isEmpty ? "/" : key, kind: kind, data: data, acl: acl)))
        }
    }

    /// Merges the two walks: `-` for a path only on the left, `+` only on the right, `~` on both but different.
    static func compare(_ left: Side, _ right: Side, _ shell: Shell) async throws {
        let merge = Merge(shell)
        var a = try await merge.pull(left)
        var b = try await merge.pull(right)
        while a != nil || b != nil {
            if let x = a, let y = b, x.key == y.key {
                let data = x.data != y.data
                let acl = Set(x.acl) != Set(y.acl)
                if data || acl { merge.emit(x.key, .changed, data: data, acl: acl) }
                a = try await merge.pull(left)
                b = try await merge.pull(right)
            } else if let x = a, b.map({ x.key.utf16.lexicographicallyPrecedes($0.key.utf16) }) ?? true {
                merge.emit(x.key, .removed)
                a = try await merge.pull(left)
            } else if let y = b {
                merge.emit(y.key, .added)
                b = try await merge.pull(right)
            }
        }
        if merge.failures > 0 { throw CommandFailure.partial(merge.failures) }
        guard merge.differences > 0 else { return }
        var failure = CommandFailure("\(merge.differences) difference\(merge.differences == 1 ? "" : "s")")
        failure.name = "DIFFERENT"
        throw failure
    }
}

/// A znode path, here or on another cluster: `/path`, or `zk://host:port[,host:port...]/path`.
struct ZnodeLocation: Sendable, Hashable {
    /// The other cluster's connect string; nil for the shell's own session.
    var cluster: String?
    var path: String

    static let scheme = "zk://"

    init(_ text: String) throws {
        guard text.hasPrefix(Self.scheme) else {
            cluster = nil
            path = text
            return
        }
        let rest = text.dropFirst(Self.scheme.count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        guard slash > rest.startIndex else { throw CommandFailure("\(text): no host after \(Self.scheme)") }
        cluster = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
    }
}
