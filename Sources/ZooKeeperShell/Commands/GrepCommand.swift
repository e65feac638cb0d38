import ZooKeeper

/// `grep [-i] [-l] [-r] pattern path`: the znodes whose data has lines matching a regular expression, with
/// those lines (`path:line`), or only their paths with `-l`; the whole subtree with `-r`.
enum GrepCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "grep", syntax: "[-i] [-l] [-r] pattern path", summary: "Search znodes' data for a pattern",
        options: [
            CommandOption("i", help: "Ignore case"),
            CommandOption("l", help: "Print only the paths of the znodes that match"),
            CommandOption("r", help: "Search the whole subtree"),
        ],
        arguments: [.text, .path], isZkCliCommand: false, printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let pattern = try invocation.argument(1)
        let path = try invocation.argument(2)
        var regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            throw CommandFailure("grep: not a regular expression: \(pattern)\n\(spec.usage)")
        }
        if invocation.has("i") { regex = regex.ignoresCase() }
        let pathsOnly = invocation.has("l")
        var walk = PipelinedWalk(client: shell.client)
        walk.readsData = true
        walk.maximumDepth = invocation.has("r") ? nil : 0
        var failures = 0
        try await walk.run(from: path) { failed, error in
            failures += 1
            shell.report(error, at: failed)
        } visit: { node in
            guard let data = node.data else { return }
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let matching = lines.filter { (try? regex.firstMatch(in: $0)) != nil }.map(String.init)
            guard !matching.isEmpty else { return }
            shell.emit(.dataMatch(path: node.path, lines: pathsOnly ? nil : matching))
        }
        if failures > 0 { throw CommandFailure.partial(failures) }
    }
}
