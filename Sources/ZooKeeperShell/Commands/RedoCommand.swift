/// `redo cmdno`: runs history entry `cmdno` again, in this line's history slot.
enum RedoCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "redo", syntax: "cmdno", summary: "Run a command of the history again", isBuiltIn: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let words = invocation.words
        guard words.count >= 2 else { return }
        guard let index = Shell.javaDecode(words[1]) else {
            throw CommandFailure("cmdno must be an int value: \(words[1])\n\(spec.usage)")
        }
        guard index >= 0, index < shell.commandCount, let line = shell.history[Int(index)] else {
            throw CommandFailure("Command index out of range")
        }
        let redoWords = CommandLineTokenizer.tokenize(line)
        if redoWords.first == "redo" { throw CommandFailure("No redoing redos") }
        shell.history[shell.commandCount] = line
        // Unlike zkCli (whose redo always exits 0), the redone command's failure is this line's failure.
        try await shell.dispatch(redoWords)
    }
}
