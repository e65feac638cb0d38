/// `history`: the last eleven lines run, numbered.
enum HistoryCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "history", syntax: "", summary: "List the last commands, numbered", isBuiltIn: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        for index in max(0, shell.commandCount - 10)...shell.commandCount {
            if let line = shell.history[index] { shell.out("\(index) - \(line)") }
        }
    }
}
