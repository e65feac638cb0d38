/// Every command the shell runs. Help, the usage listing, dispatch, completion and the documentation tests all
/// derive from this list: adding a command is one type (see `ShellCommand`) and one line here.
enum CommandRegistry {
    static let commands: [any ShellCommand.Type] = [
        FourLetterWordCommand.self,
        AddWatchCommand.self,
        AddAuthCommand.self,
        CdCommand.self,
        CloseCommand.self,
        ConfigCommand.self,
        ConnectCommand.self,
        CpCommand.self,
        CreateCommand.self,
        DeleteCommand.self,
        DeleteAllCommand.self,
        DelQuotaCommand.self,
        DiffCommand.self,
        DuCommand.self,
        EditCommand.self,
        EnsembleCommand.self,
        ExportCommand.self,
        FindCommand.self,
        GetCommand.self,
        GetAclCommand.self,
        GetAllChildrenNumberCommand.self,
        GetEphemeralsCommand.self,
        GrepCommand.self,
        HelpCommand.self,
        HistoryCommand.self,
        ImportCommand.self,
        ListQuotaCommand.self,
        LsCommand.self,
        MvCommand.self,
        PrintWatchesCommand.self,
        PwdCommand.self,
        QuitCommand.self,
        ReconfigCommand.self,
        RedoCommand.self,
        RemoveWatchesCommand.self,
        SetCommand.self,
        SetAclCommand.self,
        SetQuotaCommand.self,
        StatCommand.self,
        SyncCommand.self,
        TreeCommand.self,
        VersionCommand.self,
        WatchCommand.self,
        WhoAmICommand.self,
    ]

    static let specs: [CommandSpec] = commands.map { $0.spec }

    /// The command a name stands for, and the alias used, if one was.
    static func command(named name: String) -> (command: any ShellCommand.Type, alias: CommandAlias?)? {
        for command in commands {
            if command.spec.name == name { return (command, nil) }
            if let alias = command.spec.aliases.first(where: { $0.name == name }) { return (command, alias) }
        }
        return nil
    }

    /// The spec of a command, by its name or an alias.
    static func spec(_ name: String) -> CommandSpec? {
        command(named: name)?.command.spec
    }

    /// Every name the shell runs, sorted as zkCli sorts them (Java `String.compareTo`).
    static let allNames: [String] = ShellFormat.javaSorted(
        specs.flatMap { [$0.name] + $0.aliases.map(\.name) })

    /// The names that zkCli's usage listing lacks: this shell's additions and aliases.
    static let extraNames: [String] = ShellFormat.javaSorted(
        specs.flatMap { spec in (spec.isZkCliCommand ? [] : [spec.name]) + spec.aliases.map(\.name) })

    /// What completion offers for the first word: every name but the deprecated aliases.
    static let completableNames: [String] = ShellFormat.javaSorted(
        specs.flatMap { [$0.name] + $0.aliases.filter { $0.deprecationNote == nil }.map(\.name) })

    /// The one-line summary of a name (an alias's says which command it stands for).
    static func summary(_ name: String) -> String {
        guard let (command, alias) = command(named: name) else { return "" }
        guard let alias else { return command.spec.summary }
        return "\(command.spec.summary) (as \(command.spec.name))"
            + (alias.deprecationNote == nil ? "" : ", deprecated")
    }

    /// zkCli's `usage()` text: the invocation line, then one line per zkCli command.
    static let usageListing: String = {
        var text = "ZooKeeper -server host:port -client-configuration properties-file cmd args\n"
        for spec in specs where spec.isZkCliCommand {
            text += "\t\(spec.name) \(spec.syntax)\n"
        }
        return text
    }()

    /// What `help` adds after zkCli's listing: this shell's own commands and the aliases.
    static let ownListing: String = {
        var text = "\nzkcli's own:\n"
        for spec in specs where !spec.isZkCliCommand {
            text += "\t\(spec.name) \(spec.syntax)\n"
        }
        let aliases = specs.flatMap { spec in spec.aliases.map { "\($0.name) (\(spec.name))" } }
        text += "\t" + aliases.joined(separator: ", ") + "\n"
        return text
    }()

    /// The options Tab completion offers after a command name.
    static func optionNames(_ command: String) -> [String] {
        spec(command)?.completedOptions.flatMap(\.spellings) ?? []
    }

    /// The help of each option of a command, keyed by the option as typed (`-s`).
    static func optionHelp(_ command: String) -> [String: String] {
        guard let spec = spec(command) else { return [:] }
        return Dictionary(
            spec.parser.options.flatMap { option in option.spellings.map { ($0, option.help) } },
            uniquingKeysWith: { first, _ in first })
    }
}
