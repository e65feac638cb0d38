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

    /// Options that cannot go together, said as the argument parser says usage errors.
    public var conflict: String? {
        if embedded && server != nil { return "--embedded starts its own server; leave out -server" }
        if dataDirectory != nil && !embedded { return "--data-dir is for the embedded server; add --embedded" }
        return nil
    }
}

/// An option of the zkcli program. The list in `ProgramOptions.all` is the one model from which the quick
/// reader of usual command lines, the executable's argument-parser declarations and `--complete` all derive.
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
    /// Puts the option (and its value; "" for a flag) into the settings; false when the value is malformed.
    let apply: @Sendable (inout ProgramSettings, String) -> Bool

    public init(
        _ names: [String], value: Value = .none, valueName: String? = nil, help: String,
        apply: @escaping @Sendable (inout ProgramSettings, String) -> Bool = { _, _ in true }
    ) {
        self.names = names
        self.value = value
        self.valueName = valueName
        self.help = help
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
        help: "The session timeout asked of the server, in milliseconds."
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
        help: "Print results as zkCli's text (text, the default) or as JSON, one object per line (json)."
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

    /// The argument parser's own options, which completion offers too.
    public static let standard = [
        ProgramOption(["--version"], help: "Show the version."),
        ProgramOption(["-h", "--help"], help: "Show help information."),
    ]

    static func option(spelled word: some StringProtocol) -> ProgramOption? {
        all.first { $0.names.contains(String(word)) }
    }

    /// Reads the usual command lines as zkCli does: options up to the first word that is not one, then the
    /// command. Nil for anything the full argument parser should see (help, version, an unknown option, a
    /// missing or malformed value, `-opt=value` spellings, options that conflict), so that it says what is wrong.
    public static func parse(_ arguments: [String]) -> ProgramSettings? {
        var settings = ProgramSettings()
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("-") {
            guard let option = option(spelled: arguments[index]) else { return nil }
            var value = ""
            if option.takesValue {
                guard index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") else { return nil }
                value = arguments[index + 1]
                index += 1
            }
            guard option.apply(&settings, value) else { return nil }
            index += 1
        }
        guard settings.conflict == nil else { return nil }
        settings.command = Array(arguments[index...])
        return settings
    }
}
