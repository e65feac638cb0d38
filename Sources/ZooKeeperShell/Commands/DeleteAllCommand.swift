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
        var walk = PipelinedWalk(client: client)
        walk.readsStat = false
        try await walk.run(from: root) { _, error in
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
        if try await !deleteInBatches(tree, batchSize: Int(batchSize), client: client) {
            // zkCli prints this and exits 0; here it is a failure.
            throw CommandFailure("Failed to delete some node(s) in the subtree!")
        }
    }

    /// Multis of deletes kept in flight at most.
    static let multisInFlight = 8

    /// Deletes `tree` (a pre-order) from its end, `batchSize` znodes per multi, keeping `multisInFlight` multis in
    /// flight: the server applies a session's requests in the order sent, so a batch goes after the batches of
    /// its descendants even when it is sent before they are answered. No batch is sent after one failed (those
    /// already sent may still apply, as they would have after a failure of the last one). False when one failed.
    static func deleteInBatches(_ tree: [String], batchSize: Int, client: ZooKeeperClient) async throws -> Bool {
        let pipeline = ReadPipeline(client: client)
        var end = tree.count
        var inFlight = 0
        var failed = false
        while true {
            var batches: [(tag: Int, path: String, read: ReadPipeline.Read)] = []
            while !failed && end > 0 && inFlight + batches.count < multisInFlight {
                let start = max(0, end - batchSize)
                let deletes = tree[start..<end].reversed().map { ZooKeeperClient.Operation.delete($0) }
                batches.append((start, tree[end - 1], .writes(deletes)))
                end = start
            }
            try Task.checkCancellation()
            pipeline.send(batches)
            inFlight += batches.count
            guard inFlight > 0 else { return !failed }
            for (_, result) in await pipeline.arrivals() {
                inFlight -= 1
                if case .failure = result { failed = true }
            }
            try Task.checkCancellation()
        }
    }
}
