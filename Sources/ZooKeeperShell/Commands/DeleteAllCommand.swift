import ZooKeeper

/// `deleteall path [-b batch size]`: a znode and its whole subtree, leaves first, in multi batches.
enum DeleteAllCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "deleteall", syntax: "path [-b batch size]", summary: "Delete a znode and its whole subtree",
        options: [CommandOption("b", value: true, help: "Deletions per multi request (default 1000)")],
        aliases: [
            CommandAlias(
                name: "rmr", deprecationNote: "The command 'rmr' has been deprecated. Please use 'deleteall' instead.")
        ],
        arguments: [.path])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let root = try invocation.argument(1)
        var batchSize: Int32 = 1000
        if let text = invocation.value("b") {
            guard let value = Shell.javaInt(text) else { throw CommandFailure("-b argument must be an int value") }
            batchSize = value
        }
        if let problem = ZooKeeperPath.problem(with: root) { throw CommandFailure(problem, showsUsage: true) }
        let client = shell.client
        // The subtree listed with the pipelined walk (zkCli lists it one request at a time, breadth first), then
        // deleted from the end of the pre-order, so that every znode goes after its descendants. Nothing is
        // deleted when part of the subtree cannot be listed, as in zkCli.
        var tree: [String] = []
        var unreadable: ZooKeeperError?
        try await PipelinedWalk(client: client).run(from: root) { _, error in
            if unreadable == nil { unreadable = error }
        } visit: { node in
            tree.append(node.path)
        }
        if let unreadable { throw CommandFailure(unreadable) }
        if batchSize <= 0 {
            for node in tree.reversed() {
                try await shell.zk { () async throws(ZooKeeperError) in try await client.delete(node) }
            }
            return
        }
        var failed = false
        var batch: [ZooKeeperClient.Operation] = []
        for (position, node) in tree.enumerated().reversed() {
            try Task.checkCancellation()
            batch.append(.delete(node))
            if batch.count == Int(batchSize) || position == 0 {
                do {
                    try await client.multi(batch)
                } catch {
                    failed = true
                    break
                }
                batch = []
            }
        }
        if failed {
            // zkCli prints this and exits 0; here it is a failure.
            throw CommandFailure("Failed to delete some node(s) in the subtree!")
        }
    }
}
