/// A shell command: everything the shell knows about it (name, aliases, options, usage, summary, completion
/// hints) in its `spec`, and what it does in `run`.
///
/// To add a command, write one type conforming to this protocol in a file of its own and add it to
/// `CommandRegistry.commands`. Help, the usage listing, option parsing, Tab completion (in the REPL and through
/// `zkcli --complete` for bash, zsh and fish) and the documentation tests all read the spec.
protocol ShellCommand: Sendable {
    static var spec: CommandSpec { get }

    /// Runs the command. Results go through `shell.emit` (text or JSON), notes through `shell.err`; a failure
    /// is thrown as a `CommandFailure` (or a `ZooKeeperError` wrapped by `shell.zk`).
    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws
}

/// What describes a command.
struct CommandSpec: Sendable {
    var name: String
    /// What zkCli's usage prints after the name (`[-s] [-w] path`); empty for none.
    var syntax: String
    /// One line on what the command does (help, completion listings).
    var summary: String
    var options: [CommandOption] = []
    /// Options of which at most one may be given.
    var optionGroups: [OptionGroup] = []
    /// The commons-cli option table that zkCli 3.8.5+/3.9.3+ append to the usage of `get` and `set`.
    var optionTable: String? = nil
    /// Other names the command answers to.
    var aliases: [CommandAlias] = []
    /// What each positional argument is, in order, for completion.
    var arguments: [ArgumentHint] = []
    /// Whether it is in zkCli's usage listing (zkCli's own commands are; this shell's additions are not).
    var isZkCliCommand = true
    /// Built-ins (quit, history, connect, ...) run without a live session and take their words as they are;
    /// the others need a session and their words are parsed with `options` first.
    var isBuiltIn = false
    /// Whether it needs a live session (built-ins never do).
    var needsSession = true
    /// Whether it prints data that `-o json` renders as JSON (the option is then accepted).
    var printsData = false

    /// The usage message printed when the arguments are wrong.
    var usage: String {
        let line = "\(name) \(syntax)"
        guard let optionTable else { return line }
        return line + "\n" + optionTable
    }

    /// The parser of the command's words: its options, and `-o`/`--output` when it prints data.
    var parser: OptionParser {
        OptionParser(options: options + (printsData ? [CommandOption.output] : []), groups: optionGroups)
    }

    /// The options offered by completion (`ls -?` is not: a shell would glob it).
    var completedOptions: [CommandOption] {
        parser.options.filter(\.isOffered)
    }
}

/// Another name of a command.
struct CommandAlias: Sendable {
    var name: String
    /// Printed to stderr each time the alias is used; a deprecated alias is not offered by completion.
    var deprecationNote: String? = nil
    /// Words put before the arguments (`ls2` is `ls -s`).
    var impliedArguments: [String] = []
}

/// What a positional argument or an option's value is, for completion.
enum ArgumentHint: Sendable, Hashable {
    /// A znode path, completed live from the server.
    case path
    /// One of a few fixed words.
    case oneOf([String])
    /// A local file.
    case file
    /// The name of a command.
    case command
    /// Anything (data, an ACL, a number): nothing to offer.
    case text
}

/// How a command's results are printed.
public enum OutputFormat: String, Sendable, Hashable, CaseIterable {
    /// zkCli's text, byte for byte.
    case text
    /// One JSON object per result, on one line.
    case json
}

/// A command as it is to run: its words and what they say.
struct CommandInvocation: Sendable {
    let spec: CommandSpec
    /// The words as typed (the command's canonical name first, an alias's implied arguments after it).
    var words: [String]
    /// The words parsed with the command's options (built-ins: only the words, as arguments).
    var line: ParsedCommandLine
    /// Text, or JSON from `-o json` (the command's own option, else the program's).
    var format: OutputFormat

    init(spec: CommandSpec, words: [String], defaultFormat: OutputFormat) throws {
        self.spec = spec
        self.words = words
        self.format = defaultFormat
        self.line = ParsedCommandLine(arguments: words)
        guard !spec.isBuiltIn else { return }
        self.line = try Self.parse(words, spec)
        if let name = line.value(CommandOption.output.name) {
            guard let format = OutputFormat(rawValue: name) else {
                throw CommandFailure("-o: unknown output format '\(name)' (text or json)\n\(spec.usage)")
            }
            self.format = format
        }
    }

    /// The words parsed again (after a rewrite of the deprecated forms).
    func reparsed(_ words: [String]) throws -> ParsedCommandLine {
        try Self.parse(words, spec)
    }

    private static func parse(_ words: [String], _ spec: CommandSpec) throws -> ParsedCommandLine {
        do {
            return try spec.parser.parse(words)
        } catch {
            throw CommandFailure(error.message)
        }
    }

    /// The positional words, the command's name first (zkCli's `cl.getArgs()`).
    var arguments: [String] { line.arguments }

    func has(_ option: String) -> Bool { line.has(option) }
    func value(_ option: String) -> String? { line.value(option) }

    /// The positional arguments that are paths, made absolute from the working directory (after `cd`).
    mutating func resolvePaths(_ resolve: (String) throws -> String) throws {
        for (index, hint) in spec.arguments.enumerated() where hint == .path && index + 1 < line.arguments.count {
            line.arguments[index + 1] = try resolve(line.arguments[index + 1])
        }
    }

    /// The usage as a failure (too few or malformed arguments).
    var usageFailure: CommandFailure { CommandFailure(spec.usage) }

    /// The positional argument at `index` (1 is the first after the name), or the usage as a failure.
    func argument(_ index: Int) throws -> String {
        guard index < arguments.count else { throw usageFailure }
        return arguments[index]
    }
}

extension CommandSpec {
    /// Where the next word of a command line goes, for completion.
    enum Position: Sendable, Hashable {
        /// The value of this option.
        case optionValue(CommandOption)
        /// The positional argument of this hint (`.text` past the known ones).
        case argument(ArgumentHint)
    }

    /// The option with this spelling (`-s`, `--output`).
    func option(spelled word: String) -> CommandOption? {
        parser.options.first { $0.spellings.contains(word) }
    }

    /// Where the word after `words` (the command's words after its name) goes.
    func position(after words: [String]) -> Position {
        var positionals = 0
        var index = 0
        while index < words.count {
            if let option = option(spelled: words[index]), !isBuiltIn {
                if option.takesValue {
                    guard index + 1 < words.count else { return .optionValue(option) }
                    index += 1
                }
            } else {
                positionals += 1
            }
            index += 1
        }
        return .argument(positionals < arguments.count ? arguments[positionals] : .text)
    }
}
