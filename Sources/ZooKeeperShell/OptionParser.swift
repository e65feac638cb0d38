/// An option of a shell command, as Apache commons-cli declares it (zkCli's options are all "short" options,
/// some of them longer than one letter, such as reconfig's `-file`).
struct CommandOption: Sendable, Hashable {
    var name: String
    var takesValue: Bool
    /// commons-cli's description, which zkCli prints in some errors (`-n num soft quota`).
    var description: String
    /// What the option does, for help and the completion scripts' listings.
    var help: String
    /// What its value is, for completion.
    var valueHint: ArgumentHint
    /// A `--name` spelling, for the options this shell adds (zkCli's commands have none).
    var longName: String?
    /// Whether completion offers it.
    var isOffered: Bool
    /// Spelled only `--name` (this shell's own commands' flags such as `--dry-run`).
    var isLongOnly = false

    init(
        _ name: String, value: Bool = false, _ description: String = "", help: String = "",
        valueHint: ArgumentHint = .text, longName: String? = nil, isOffered: Bool = true
    ) {
        self.name = name
        self.takesValue = value
        self.description = description
        self.help = help
        self.valueHint = valueHint
        self.longName = longName
        self.isOffered = isOffered
    }

    /// `-o json` / `--output json`, accepted by every command that prints data. Tab does not offer it, so that
    /// a command's own options stay what zkCli's are (`stat -` completes to `stat -w`); its values are offered.
    static let output = CommandOption(
        "o", value: true, help: "Print the result as JSON (json) or as zkCli does (text)",
        valueHint: .oneOf(OutputFormat.allCases.map(\.rawValue)), longName: "output", isOffered: false)

    /// An option spelled only `--name`.
    static func long(_ name: String, value: Bool = false, help: String) -> CommandOption {
        var option = CommandOption(name, value: value, help: help, longName: name)
        option.isLongOnly = true
        return option
    }

    /// The spellings completion offers: `-o`, and `--output` if it has one.
    var spellings: [String] {
        (isLongOnly ? [] : ["-" + name]) + (longName.map { ["--" + $0] } ?? [])
    }
}

/// Options of which at most one may be given (commons-cli `OptionGroup`), possibly required.
struct OptionGroup: Sendable, Hashable {
    var names: [String]
    var isRequired: Bool
}

/// The result of parsing a command's words: the options seen (with their values) and the other words, in
/// order, starting with the command name itself (zkCli's `cl.getArgs()`).
struct ParsedCommandLine: Sendable, Hashable {
    var arguments: [String] = []
    var values: [String: String] = [:]
    var present: Set<String> = []

    func has(_ option: String) -> Bool { present.contains(option) }
    func value(_ option: String) -> String? { values[option] }
}

/// A parse error, worded as commons-cli's exception `toString()` that zkCli prints.
struct OptionParseError: Error, Sendable, Hashable {
    var message: String
}

/// Apache commons-cli 1.5 `DefaultParser` as zkCli uses it: options may come anywhere among the arguments,
/// short flags may be concatenated (`-sw`), a value may be attached (`-v3`, `-v=3`) or follow, a negative
/// number is a value rather than an option, `--` ends the options, and an unknown `-x` is an error.
struct OptionParser: Sendable {
    var options: [CommandOption]
    var groups: [OptionGroup] = []

    func option(_ name: String) -> CommandOption? {
        options.first { $0.name == name && !$0.isLongOnly }
    }

    func parse(_ words: [String]) throws(OptionParseError) -> ParsedCommandLine {
        var result = ParsedCommandLine()
        var pendingValueFor: CommandOption?
        var skipParsing = false
        var selected: [Int: String] = [:]

        func missingArgument(_ option: CommandOption) -> OptionParseError {
            OptionParseError(
                message: "org.apache.commons.cli.MissingArgumentException: Missing argument for option: \(option.name)")
        }
        func unrecognized(_ token: String) -> OptionParseError {
            OptionParseError(
                message: "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: \(token)")
        }
        func handle(_ option: CommandOption) throws(OptionParseError) {
            if let pending = pendingValueFor { throw missingArgument(pending) }
            if let groupIndex = groups.firstIndex(where: { $0.names.contains(option.name) }) {
                if let already = selected[groupIndex], already != option.name {
                    throw OptionParseError(
                        message:
                            "org.apache.commons.cli.AlreadySelectedException: The option '\(option.name)' was specified but an option from this group has already been selected: '\(already)'"
                    )
                }
                selected[groupIndex] = option.name
            }
            result.present.insert(option.name)
            pendingValueFor = option.takesValue ? option : nil
        }
        func addValue(_ value: String) {
            guard let option = pendingValueFor else { return }
            // commons-cli keeps the first value of an option given once; a repeated option adds values and
            // getOptionValue returns the first.
            if result.values[option.name] == nil { result.values[option.name] = Self.stripQuotes(value) }
            pendingValueFor = nil
        }
        func isShortOption(_ token: String) -> Bool {
            guard token.hasPrefix("-"), token.count > 1 else { return false }
            let body = token.dropFirst()
            let name = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            if option(String(name)) != nil { return true }
            guard let first = name.first else { return false }
            return option(String(first)) != nil
        }
        func isArgument(_ token: String) -> Bool {
            !isShortOption(token) || Self.isNegativeNumber(token)
        }
        func unknown(_ token: String) throws(OptionParseError) {
            if token.hasPrefix("-") && token.count > 1 { throw unrecognized(token) }
            result.arguments.append(token)
        }

        for token in words {
            if skipParsing {
                result.arguments.append(token)
            } else if token == "--" {
                skipParsing = true
            } else if pendingValueFor != nil && isArgument(token) {
                addValue(token)
            } else if token.hasPrefix("-") && token != "-" {
                let body = String(token.drop { $0 == "-" })
                if token.hasPrefix("--") {
                    // Only this shell's own options have long spellings; zkCli's commands have none.
                    let parts = body.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    guard let option = options.first(where: { $0.longName != nil && $0.longName == String(parts[0]) })
                    else {
                        if let pending = pendingValueFor { throw missingArgument(pending) }
                        throw unrecognized(token)
                    }
                    try handle(option)
                    if parts.count > 1 { addValue(String(parts[1])) }
                    continue
                }
                if let equals = body.firstIndex(of: "=") {
                    let name = String(body[..<equals])
                    let value = String(body[body.index(after: equals)...])
                    if name.count == 1, let option = option(name), option.takesValue {
                        try handle(option)
                        addValue(value)
                    } else {
                        try unknown(token)
                    }
                } else if let option = option(body) {
                    try handle(option)
                } else if body.count > 1 {
                    // Concatenated short options; an option that takes a value takes the rest of the word.
                    var index = body.startIndex
                    while index < body.endIndex {
                        guard let option = option(String(body[index])) else {
                            try unknown(token)
                            break
                        }
                        try handle(option)
                        let next = body.index(after: index)
                        if option.takesValue && next < body.endIndex {
                            addValue(String(body[next...]))
                            break
                        }
                        index = next
                    }
                } else {
                    try unknown(token)
                }
            } else {
                if let pending = pendingValueFor { throw missingArgument(pending) }
                try unknown(token)
            }
        }
        if let pending = pendingValueFor { throw missingArgument(pending) }
        for (index, group) in groups.enumerated() where group.isRequired && selected[index] == nil {
            let listing = group.names.map { name in
                let description = option(name)?.description ?? ""
                return description.isEmpty ? "-\(name)" : "-\(name) \(description)"
            }
            throw OptionParseError(
                message:
                    "org.apache.commons.cli.MissingOptionException: Missing required option: [\(listing.joined(separator: ", "))]"
            )
        }
        return result
    }

    /// commons-cli strips one pair of double quotes around an option value.
    static func stripQuotes(_ value: String) -> String {
        guard value.count > 1, value.hasPrefix("\""), value.hasSuffix("\"") else { return value }
        let inner = value.dropFirst().dropLast()
        return inner.contains("\"") ? value : String(inner)
    }

    /// Java's `Double.parseDouble` succeeding, roughly: what commons-cli calls a negative number.
    static func isNegativeNumber(_ token: String) -> Bool {
        guard token.hasPrefix("-") else { return false }
        return Double(token) != nil
    }
}
