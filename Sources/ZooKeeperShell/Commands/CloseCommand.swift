/// `close`: ends the session; the shell stays (`connect` starts another).
enum CloseCommand: ShellCommand {
    static let spec = CommandSpec(name: "close", syntax: "", summary: "Close the session")

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        await shell.client.close()
    }
}
