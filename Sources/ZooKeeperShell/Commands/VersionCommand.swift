/// `version`: the shell's version.
enum VersionCommand: ShellCommand {
    static let spec = CommandSpec(name: "version", syntax: "", summary: "Print the shell's version", printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        guard invocation.arguments.count <= 1 else { throw invocation.usageFailure }
        shell.emit(.version(shell.configuration.versionText))
    }
}
