/// `connect host:port`: a new session with other servers (the current one is closed).
enum ConnectCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "connect", syntax: "host:port", summary: "Start a new session with other servers", isBuiltIn: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let words = invocation.words
        try await shell.connect(words.count >= 2 ? words[1] : shell.host)
    }
}
