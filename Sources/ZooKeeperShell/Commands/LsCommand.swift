import ZooKeeper

/// `ls [-s] [-w] [-R] path`: a znode's children (sorted), its stat with `-s`, the whole subtree with `-R`.
enum LsCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "ls", syntax: "[-s] [-w] [-R] path", summary: "List a znode's children",
        options: [
            CommandOption("?", help: "Print the options", isOffered: false),
            CommandOption("s", help: "Print the stat too"),
            CommandOption("w", help: "Watch for changes of the children"),
            CommandOption("R", help: "List the whole subtree"),
        ],
        aliases: [
            CommandAlias(
                name: "ls2", deprecationNote: "'ls2' has been deprecated. Please use 'ls [-s] path' instead.",
                impliedArguments: ["-s"])
        ],
        arguments: [.path], printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        if invocation.has("?") {
            shell.write("usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch\n")
        }
        let invocation = try shell.upgradingDeprecatedWatch(invocation, use: "ls [-w] path")
        let path = try invocation.argument(1)
        let watch = invocation.has("w")
        let client = shell.client
        if invocation.has("R") && !watch {
            // zkCli's order (each znode's children, then the walk into each) is the children of each znode in
            // pre-order: the pipelined walk gives it without a round trip per znode.
            var failures = 0
            var walk = PipelinedWalk(client: client)
            walk.readsStat = false
            try await walk.run(from: path) { failed, error in
                failures += 1
                shell.report(error, at: failed)
            } visit: { node in
                if node.depth == 0 { shell.emit(.subtreeNode(path: node.path)) }
                for child in node.children { shell.emit(.subtreeNode(path: ZooKeeperPath.join(node.path, child))) }
            }
            if failures > 0 { throw CommandFailure.partial(failures) }
        } else if invocation.has("R") {
            // With -w every znode gets its watches as zkCli sets them (a data watch on the root, child watches).
            try await shell.visitSubtree(path, watch: watch) { visited in shell.emit(.subtreeNode(path: visited)) }
        } else if invocation.has("s") {
            let (children, stat) = try await shell.zk { () async throws(ZooKeeperError) in
                try await client.getChildrenWithStat(path, watch: watch)
            }
            shell.emit(.children(path: path, children: children, stat: stat))
        } else {
            let children = try await shell.zk { () async throws(ZooKeeperError) in
                try await client.getChildren(path, watch: watch)
            }
            shell.emit(.children(path: path, children: children, stat: nil))
        }
    }
}

extension Shell {
    /// ZKUtil.visitSubTreeDFS: the node (read first, so that NoNode and NoAuth surface), then for each node all
    /// its sorted children's paths followed by a visit of each child. Nodes that vanish meanwhile are skipped.
    func visitSubtree(_ root: String, watch: Bool, _ visit: (String) async throws -> Void) async throws {
        let client = self.client
        _ = try await zk { () async throws(ZooKeeperError) in try await client.getData(root, watch: watch) }
        try await visit(root)
        try await visitChildren(of: root, watch: watch, visit)
    }

    private func visitChildren(of path: String, watch: Bool, _ visit: (String) async throws -> Void) async throws {
        try Task.checkCancellation()
        let children: [String]
        do {
            children = ShellFormat.javaSorted(try await client.getChildren(path, watch: watch))
        } catch  where error.code == .noNode {
            return
        } catch {
            throw CommandFailure(error)
        }
        let paths = children.map { ZooKeeperPath.join(path, $0) }
        for child in paths { try await visit(child) }
        for child in paths { try await visitChildren(of: child, watch: watch, visit) }
    }
}
