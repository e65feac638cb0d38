/// `help`: zkCli's usage listing, on stdout (zkCli has no `help`: it prints the listing for any unknown word).
enum HelpCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "help", syntax: "", summary: "List the commands", isZkCliCommand: false, isBuiltIn: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        shell.write(CommandRegistry.usageListing)
    }
}
