/// `pwd`: the directory relative paths start from.
enum PwdCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "pwd", syntax: "", summary: "Print the directory relative paths start from", isZkCliCommand: false,
        needsSession: false, printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        shell.emit(.workingDirectory(shell.workingDirectory ?? "/"))
    }
}
