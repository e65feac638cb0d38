import ZooKeeper

/// `tree [-d depth] [-s] path`: the subtree drawn with box characters, streamed as the pipelined walk goes.
enum TreeCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "tree", syntax: "[-d depth] [-s] path", summary: "Draw the subtree of a znode",
        options: [
            CommandOption("d", value: true, help: "Only this many levels below the path"),
            CommandOption("s", help: "Show each znode's data size and child count"),
        ],
        arguments: [.path], isZkCliCommand: false, printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let depth = try invocation.depthLimit()
        var walk = PipelinedWalk(client: shell.client)
        walk.maximumDepth = depth
        let sizes = invocation.has("s")
        // Sizes and child counts are drawn with -s, and always in the JSON output.
        walk.readsStat = sizes || shell.format == .json
        var failures = 0
        try await walk.run(from: path) { failed, error in
            failures += 1
            shell.report(error, at: failed)
        } visit: { node in
            shell.emit(.treeNode(node, root: path, sizes: sizes))
        }
        if failures > 0 { throw CommandFailure.partial(failures) }
    }
}

extension CommandInvocation {
    /// `-d depth`: a number of levels, 0 or more.
    func depthLimit() throws -> Int? {
        guard let text = value("d") else { return nil }
        guard let depth = Int(text), depth >= 0 else {
            throw CommandFailure("-d must be a number of levels (0 or more): \(text)\n\(spec.usage)")
        }
        return depth
    }
}

extension CommandFailure {
    /// A walk that went on past znodes it could not read (each reported as it was met).
    static func partial(_ count: Int) -> CommandFailure {
        CommandFailure("\(count) znode\(count == 1 ? "" : "s") could not be read")
    }
}

extension Shell {
    /// A znode a walk could not read: zkCli's message (or a JSON error) on stderr, and the walk goes on.
    func report(_ error: ZooKeeperError, at path: String) {
        var failure = CommandFailure(error)
        failure.showsUsage = false
        switch format {
        case .text: err(failure.message)
        case .json: err(failure.json.text)
        }
    }
}
