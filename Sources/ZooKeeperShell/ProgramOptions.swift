/// What zkcli's options say, once read.
public struct ProgramSettings: Sendable, Hashable {
    /// `-server`; nil for the default (localhost:2181) or with `--embedded`.
    public var server: String?
    /// `-timeout`, in milliseconds.
    public var timeout = 30000
    public var readOnly = false
    public var waitForConnection = false
    public var clientConfiguration: String?
    public var historyFile: String?
    public var stopOnError = false
    public var embedded = false
    public var dataDirectory: String?
    public var outputFormat = OutputFormat.text
    /// The one-shot command after the options (empty: read commands).
    public var command: [String] = []

    public init() {}

    /// The server paths are read from, when completing: nil with `--embedded` (a new, empty server).
    var completionServer: String? {
        embedded ? nil : server ?? "localhost:2181"
    }

    /// Options that cannot go together (a usage error).
    public var conflict: String? {
        if embedded && server != nil { return "--embedded starts its own server; leave out -server" }
        if dataDirectory != nil && !embedded { return "--data-dir is for the embedded server; add --embedded" }
        return nil
    }
}

/// An option of the zkcli program. The list in `ProgramOptions.all` is the one model from which the reader of
/// command lines, `--help` and `--complete` all derive.
public struct ProgramOption: Sendable {
    /// What follows the option.
    public enum Value: Sendable, Hashable {
        case none
        case text
        case number
        case file
        case directory
        case oneOf([String])
    }

    /// As typed: `-server`, or `-o` and `--output`.
    public var names: [String]
    public var value: Value
    /// What the help shows for the value (`<host:port...>`).
    public var valueName: String?
    public var help: String
    /// The default the help shows, if any.
    public var defaultText: String?
    /// Puts the option (and its value; "" for a flag) into the settings; false when the value is malformed.
    let apply: @Sendable (inout ProgramSettings, String) -> Bool

    public init(
        _ names: [String], value: Value = .none, valueName: String? = nil, help: String, defaultText: String? = nil,
        apply: @escaping @Sendable (inout ProgramSettings, String) -> Bool = { _, _ in true }
    ) {
        self.names = names
        self.value = value
        self.valueName = valueName
        self.help = help
        self.defaultText = defaultText
        self.apply = apply
    }

    public var name: String { names[0] }
    public var takesValue: Bool { value != .none }
}

public enum ProgramOptions {
    public static let server = ProgramOption(
        ["-server"], value: .text, valueName: "host:port[,host:port...][/chroot]",
        help: "The servers and optional chroot."
    ) { settings, value in
        settings.server = value
        return true
    }
    public static let timeout = ProgramOption(
        ["-timeout"], value: .number, valueName: "ms",
        help: "The session timeout asked of the server, in milliseconds.",
        defaultText: String(ProgramSettings().timeout)
    ) { settings, value in
        guard let milliseconds = Int(value) else { return false }
        settings.timeout = milliseconds
        return true
    }
    public static let readOnly = ProgramOption(["-r"], help: "Accept a read-only server (reads only).") {
        settings, _ in
        settings.readOnly = true
        return true
    }
    public static let waitForConnection = ProgramOption(
        ["-waitforconnection"], help: "Wait (up to -timeout) for the session before running commands."
    ) { settings, _ in
        settings.waitForConnection = true
        return true
    }
    public static let clientConfiguration = ProgramOption(
        ["-client-configuration"], value: .file, valueName: "file",
        help: "A ZooKeeper client properties file (jute.maxbuffer is honoured)."
    ) { settings, value in
        settings.clientConfiguration = value
        return true
    }
    public static let historyFile = ProgramOption(
        ["--history-file"], value: .file, valueName: "file",
        help: "Where to keep the interactive history (default ~/.zkcli_history)."
    ) { settings, value in
        settings.historyFile = value
        return true
    }
    public static let stopOnError = ProgramOption(
        ["--stop-on-error"], help: "Stop a script at the first command that fails."
    ) { settings, _ in
        settings.stopOnError = true
        return true
    }
    public static let embedded = ProgramOption(
        ["--embedded"],
        help: "Start the bundled zkserver in this process on a free loopback port and open the shell on it."
    ) { settings, _ in
        settings.embedded = true
        return true
    }
    public static let dataDirectory = ProgramOption(
        ["--data-dir"], value: .directory, valueName: "dir",
        help: "The embedded server's data directory (default: in memory)."
    ) { settings, value in
        settings.dataDirectory = value
        return true
    }
    public static let output = ProgramOption(
        ["-o", "--output"], value: .oneOf(OutputFormat.allCases.map(\.rawValue)), valueName: "format",
        help: "Print results as zkCli's text (text, the default) or as JSON, one object per line (json).",
        defaultText: OutputFormat.text.rawValue
    ) { settings, value in
        guard let format = OutputFormat(rawValue: value) else { return false }
        settings.outputFormat = format
        return true
    }

    /// zkcli's own options, in the order help lists them.
    public static let all = [
        server, timeout, readOnly, waitForConnection, clientConfiguration, historyFile, stopOnError, embedded,
        dataDirectory, output,
    ]

    /// The standard options, which help lists and completion offers too.
    public static let standard = [
        ProgramOption(["--version"], help: "Show the version."),
        ProgramOption(["-h", "--help"], help: "Show help information."),
    ]

    static func option(spelled word: some StringProtocol) -> ProgramOption? {
        all.first { $0.names.contains(String(word)) }
    }

    /// What a zkcli command line asks for: options up to the first word that is not one, then the one-shot
    /// command. Read by hand, not by swift-argument-parser, whose reflection cost milliseconds at each start and
    /// whose modules (with FoundationEssentials) made every dynamic cast of a one-shot slower (BENCHMARKS.md,
    /// issue 17); its spellings and messages are kept: `-opt value`, `-opt=value`, `--opt=value`, short flags
    /// together (`-ro json`), help and version wherever they come among the options, the first error said.
    public static func read(_ arguments: [String]) -> ProgramRequest {
        var settings = ProgramSettings()
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            let word = arguments[index]
            index += 1
            if word == "-" || word == "--" { return .usageError("Unknown option '\(word)'") }
            if word.hasPrefix("---") { return .usageError("Invalid option: \(word)") }
            let spelled = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(spelled[0])
            let attached = spelled.count > 1 ? String(spelled[1]) : nil
            if let option = option(spelled: name) {
                if let error = take(option, spelled: name, attached: attached, arguments, &index, into: &settings) {
                    return error
                }
            } else if attached == nil, name == "--help" || name == "-h" {
                return .help
            } else if attached == nil, name == "--version" {
                return .version
            } else if attached == nil, !name.hasPrefix("--"), name.count > 2,
                let first = name.dropFirst().first, first != "h", option(spelled: "-\(first)") != nil
            {
                // Short flags together: help if one is -h, else each letter in turn, an option's value from the next
                // word.
                if name.contains("h") { return .help }
                for letter in name.dropFirst() {
                    guard let option = option(spelled: "-\(letter)") else {
                        return .usageError("Unknown option '-\(letter)'")
                    }
                    let taken = take(option, spelled: "-\(letter)", attached: nil, arguments, &index, into: &settings)
                    if case .usageError(let message, _) = taken, message.hasPrefix("Missing value") {
                        return .usageError("Unknown option '\(name)'\n   or: \(message) in '\(name)'")
                    }
                    if let taken { return taken }
                }
            } else {
                return .usageError("Unknown option '\(word)'")
            }
        }
        if let conflict = settings.conflict { return .usageError(conflict) }
        settings.command = Array(arguments[index...])
        return .run(settings)
    }

    /// Applies `option` as `spelled`, with its value attached (`=value`) or the next word; a usage error if that
    /// fails.
    private static func take(
        _ option: ProgramOption, spelled: String, attached: String?, _ arguments: [String], _ index: inout Int,
        into settings: inout ProgramSettings
    ) -> ProgramRequest? {
        let label = option.valueName.map { "\(spelled) <\($0)>" } ?? spelled
        let help = "\(label)  \(option.help)"
        // `--name=` is `--name` (its value is the next word); `-name=` is an empty value.
        let attached = spelled.hasPrefix("--") && attached == "" ? nil : attached
        guard option.takesValue else {
            guard let attached else {
                _ = option.apply(&settings, "")
                return nil
            }
            return .usageError("The option '\(spelled)' does not take any value, but '\(attached)' was specified.")
        }
        let value: String
        if let attached {
            value = attached
        } else if index < arguments.count, !isOptionLike(arguments[index]) {
            value = arguments[index]
            index += 1
        } else {
            return .usageError("Missing value for '\(label)'", help: help)
        }
        guard option.apply(&settings, value) else {
            var message = "The value '\(value)' is invalid for '\(label)'"
            if case .oneOf(let values) = option.value {
                let quoted = values.map { "'\($0)'" }
                message +=
                    ". Please provide one of " + quoted.dropLast().joined(separator: ", ") + " and "
                    + (quoted.last ?? "") + "."
            }
            return .usageError(message, help: help)
        }
        return nil
    }

    /// A word taken for an option, not a value: a dash and more (a lone `-` is a value).
    private static func isOptionLike(_ word: String) -> Bool {
        word.hasPrefix("-") && word.count > 1
    }

    /// The one-line synopsis of usage errors and help.
    public static var usage: String {
        let options = all.map { option in
            let name = option.names.last ?? option.name
            return "[" + (option.valueName.map { "\(name) <\($0)>" } ?? name) + "]"
        }
        return (["zkcli"] + options + ["[<command> ...]"]).joined(separator: " ")
    }

    /// What a usage error prints on stderr (before zkcli exits with status 64).
    public static func usageErrorText(_ message: String, help: String?) -> String {
        var text = "Error: \(message)\n"
        if let help { text += "Help:  \(help)\n" }
        return text + "Usage: \(usage)\n  See 'zkcli --help' for more information.\n"
    }

    /// What `zkcli --help` prints: the overview, the usage, the command argument and every option, the help of
    /// each wrapped beside its label in 79 columns.
    public static var helpText: String {
        var text = "OVERVIEW: \(abstract)\n\n"
        for paragraph in discussion { text += wrapped(paragraph, indent: 0) + "\n\n" }
        text += "USAGE: \(usage)\n\nARGUMENTS:\n"
        text += helpEntry("<command>", commandHelp) + "\nOPTIONS:\n"
        for option in all + standard {
            let names = option.names.joined(separator: ", ")
            var help = option.help
            if case .oneOf(let values) = option.value {
                help +=
                    " (values: \(values.joined(separator: ", "))"
                    + (option.defaultText.map { "; default: \($0)" } ?? "")
                    + ")"
            } else if let defaultText = option.defaultText {
                help += " (default: \(defaultText))"
            }
            text += helpEntry(option.valueName.map { "\(names) <\($0)>" } ?? names, help)
        }
        return text + "\n"
    }

    static let abstract = "A ZooKeeper shell with zkCli.sh's commands, flags and output."

    static let discussion = [
        "With a command after the options, zkcli runs it and exits (one-shot). Without one, it reads commands: "
            + "interactively on a terminal (line editing, Tab completion of commands, options and live znode "
            + "paths, a history file), or one per line from a pipe or file, with no prompt.",
        "Exit codes: 0 when every command succeeded; otherwise 1 (a failed command) or 127 (an unknown command), "
            + "the code of the last command that failed. Unlike zkCli.sh, a failure in the middle of a script is "
            + "not hidden by later successes; --stop-on-error ends the script at the first failure.",
        "The history file is ~/.zkcli_history unless --history-file or ZKCLI_HISTORY_FILE says otherwise (an "
            + "empty value keeps no file).",
    ]

    static let commandHelp = "A command to run instead of reading commands, e.g. get -s /a."

    /// `  label   help...`: the help starts in column 27 (on the next line when the label is too long for that).
    private static func helpEntry(_ label: String, _ help: String) -> String {
        let column = 26
        let head = "  " + label
        let body = wrapped(help, indent: column)
        if head.count + 2 <= column {
            return head + String(repeating: " ", count: column - head.count) + body.dropFirst(column) + "\n"
        }
        return head + "\n" + body + "\n"
    }

    /// `text` in lines of at most 79 columns, each indented by `indent` spaces, broken at spaces.
    private static func wrapped(_ text: String, indent: Int) -> String {
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, indent + line.count + 1 + word.count > 79 {
                lines.append(margin + line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        lines.append(margin + line)
        return lines.joined(separator: "\n")
    }
}

/// What a zkcli command line asks for.
public enum ProgramRequest: Equatable, Sendable {
    case run(ProgramSettings)
    case help
    case version
    /// A usage error (status 64): the message, and for an option's value the option and its help.
    case usageError(String, help: String? = nil)
}
