/// `printwatches on|off`: whether watch events are printed; without an argument, which it is.
enum PrintWatchesCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "printwatches", syntax: "on|off", summary: "Turn the printing of watch events on or off",
        arguments: [.oneOf(["off", "on"])], isBuiltIn: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let words = invocation.words
        if words.count == 1 {
            shell.out("printwatches is \(shell.events.printWatches ? "on" : "off")")
        } else {
            shell.events.printWatches = words[1] == "on"
        }
    }
}
