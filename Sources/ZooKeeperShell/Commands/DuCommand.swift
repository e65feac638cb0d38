import ZooKeeper

/// `du [-d depth] [-h] path`: bytes of data and znode counts of each subtree down to a depth (1 by default:
/// the path and its children), largest first.
enum DuCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "du", syntax: "[-d depth] [-h] path", summary: "Measure the subtrees of a znode, largest first",
        options: [
            CommandOption("d", value: true, help: "Report subtrees down to this many levels (default 1)"),
            CommandOption("h", help: "Sizes in K, M, G (powers of 1024)"),
        ],
        arguments: [.path], isZkCliCommand: false, printsData: true)

    /// One reported subtree.
    struct Usage: Sendable {
        var path: String
        var bytes: Int64
        var znodes: Int64
    }

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let depth = try invocation.depthLimit() ?? 1
        var totals: [String: Usage] = [:]
        var order: [String] = []
        var failures = 0
        // The reported subtree a znode counts in at each depth: the first components of its path below the root.
        let rootComponents = path == "/" ? 0 : path.split(separator: "/").count
        try await PipelinedWalk(client: shell.client).run(from: path) { failed, error in
            failures += 1
            shell.report(error, at: failed)
        } visit: { node in
            let components = node.path.split(separator: "/")
            for level in 0...min(node.depth, depth) {
                let subtree = level == 0 ? path : "/" + components.prefix(rootComponents + level).joined(separator: "/")
                if totals[subtree] == nil {
                    totals[subtree] = Usage(path: subtree, bytes: 0, znodes: 0)
                    order.append(subtree)
                }
                totals[subtree]!.bytes += Int64(node.stat.dataLength)
                totals[subtree]!.znodes += 1
            }
        }
        // Largest first; ties in walk order.
        let rows = order.enumerated().map { ($0.offset, totals[$0.element]!) }.sorted {
            $0.1.bytes != $1.1.bytes ? $0.1.bytes > $1.1.bytes : $0.0 < $1.0
        }
        for (_, usage) in rows { shell.emit(.diskUsage(usage, humanReadable: invocation.has("h"))) }
        if failures > 0 { throw CommandFailure.partial(failures) }
    }

    /// `1023`, `1.0K`, `12M`: as `du -h` prints sizes.
    static func humanReadable(_ bytes: Int64) -> String {
        guard bytes >= 1024 else { return "\(bytes)" }
        var value = Double(bytes)
        for unit in ["K", "M", "G", "T"] {
            value /= 1024
            if value < 1024 || unit == "T" {
                if value < 10 {
                    let tenths = Int64((value * 10).rounded(.up))
                    return tenths % 10 == 0 && tenths >= 100
                        ? "\(tenths / 10)\(unit)" : "\(tenths / 10).\(tenths % 10)\(unit)"
                }
                return "\(Int64(value.rounded(.up)))\(unit)"
            }
        }
        return "\(bytes)"
    }
}
