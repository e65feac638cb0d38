import ZooKeeper

/// `4lw [--all] word`: a four-letter word's answer from the connected server, or from every member of the
/// connect string with `--all` (each answer under a `== host:port ==` line).
enum FourLetterWordCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "4lw", syntax: "[--all] word", summary: "Ask the server (or every member) a four-letter word",
        options: [.long("all", help: "Ask every server of the connect string")],
        arguments: [.oneOf(FourLetterWordClient.words)], isZkCliCommand: false, needsSession: false,
        printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let word = try invocation.argument(1)
        guard FourLetterWordClient.words.contains(word) else {
            throw CommandFailure(
                "4lw: \(word) is not one of \(FourLetterWordClient.words.joined(separator: ", "))\n\(spec.usage)")
        }
        let client = shell.client
        let servers =
            invocation.has("all") ? client.connectString.hosts : [client.currentServer ?? client.connectString.hosts[0]]
        var failures = 0
        for server in servers {
            switch await FourLetterWordClient.ask(word, server) {
            case .success(let answer):
                shell.emit(.fourLetterWord(server: "\(server)", word: word, answer: answer, heading: servers.count > 1))
            case .failure(let failure):
                failures += 1
                shell.err("4lw: \(failure.message)")
            }
        }
        if failures > 0 {
            throw CommandFailure("\(failures) server\(failures == 1 ? "" : "s") did not answer")
        }
    }
}
