/// `help [command]`: zkCli's usage listing and this shell's own commands, on stdout (zkCli has no `help`: it
/// prints its listing for any unknown word); with a command, its usage, summary and options.
enum HelpCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "help", syntax: "[command]", summary: "List the commands, or describe one",
        arguments: [.command], isZkCliCommand: false, isBuiltIn: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        guard invocation.words.count >= 2 else {
            shell.write(CommandRegistry.usageListing + CommandRegistry.ownListing)
            return
        }
        let name = invocation.words[1]
        guard let described = CommandRegistry.spec(name) else {
            throw CommandFailure("help: no command \(name)\n\(spec.usage)")
        }
        shell.write(description(of: described))
    }

    /// The usage line, the summary, the aliases and one line per option.
    static func description(of spec: CommandSpec) -> String {
        var text = "\(spec.name) \(spec.syntax)\n\(spec.summary)\n"
        if !spec.aliases.isEmpty {
            text += "Also: " + spec.aliases.map(\.name).joined(separator: ", ") + "\n"
        }
        let options = spec.parser.options.filter { $0.isOffered || $0.name == CommandOption.output.name }
        let spellings = options.map { option in
            option.spellings.joined(separator: ", ") + (option.takesValue ? " <value>" : "")
        }
        let width = spellings.map(\.count).max() ?? 0
        for (option, spelling) in zip(options, spellings) {
            text += " \(spelling)" + String(repeating: " ", count: width - spelling.count + 3) + option.help + "\n"
        }
        return text
    }
}
