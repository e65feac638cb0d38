/// `quit` (and `exit`): closes the session and ends the shell, with the exit code of the commands before.
enum QuitCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "quit", syntax: "", summary: "Close the session and exit",
        aliases: [CommandAlias(name: "exit")], isBuiltIn: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        try await shell.quit()
    }
}
