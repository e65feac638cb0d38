import ZooKeeper

/// `diff [-r] a b`: two znodes (two subtrees with `-r`) compared, data and ACLs: `-` only under `a`, `+` only
/// under `b`, `~` in both but different (and what differs), by path below each. Either side may be on another
/// cluster (`zk://host:port[,host:port...]/path`). Exits 1 when they differ, as diff(1) does.
enum DiffCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "diff", syntax: "[-r] a b", summary: "Compare two znodes or subtrees, here or on another cluster",
        options: [CommandOption("r", help: "Compare the whole subtrees")], arguments: [.path, .path],
        isZkCliCommand: false, printsData: true)

    /// What one side holds, by path below its root ("" for the root).
    typealias Side = [String: (data: [UInt8]?, acl: [ACL])]

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
        let left = try await read(first, recursive: recursive, shell)
        let right = try await read(second, recursive: recursive, shell)
        var differences = 0
        for path in ShellFormat.javaSorted(Array(Set(left.keys).union(right.keys))) {
            let shown = path.isEmpty ? "/" : path
            switch (left[path], right[path]) {
            case (let a?, let b?):
                let data = a.data != b.data
                let acl = Set(a.acl) != Set(b.acl)
                guard data || acl else { continue }
                shell.emit(.difference(Difference(path: shown, kind: .changed, data: data, acl: acl)))
            case (_?, nil): shell.emit(.difference(Difference(path: shown, kind: .removed)))
            case (nil, _?): shell.emit(.difference(Difference(path: shown, kind: .added)))
            case (nil, nil): continue
            }
            differences += 1
        }
        if differences > 0 {
            var failure = CommandFailure("\(differences) difference\(differences == 1 ? "" : "s")")
            failure.name = "DIFFERENT"
            throw failure
        }
    }

    /// A side's znodes, read with the pipelined walk (its own session for another cluster).
    static func read(_ location: ZnodeLocation, recursive: Bool, _ shell: Shell) async throws -> Side {
        let client = try location.client(shell)
        var walk = PipelinedWalk(client: client)
        walk.readsData = true
        walk.readsACL = true
        walk.maximumDepth = recursive ? nil : 0
        var side: Side = [:]
        var failures = 0
        do {
            try await walk.run(from: location.path) { failed, error in
                failures += 1
                shell.report(error, at: failed)
            } visit: { node in
                let below = location.path == "/" ? node.path : String(node.path.dropFirst(location.path.count))
                side[below == "/" ? "" : below] = (node.data, node.acl ?? [])
            }
        } catch {
            if location.cluster != nil { await client.close() }
            throw error
        }
        if location.cluster != nil { await client.close() }
        if failures > 0 { throw CommandFailure.partial(failures) }
        return side
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
