/// The commands zkCli knows, with their usage strings and options.
enum CommandTable {
    /// A command's name, its option string (what `usage()` prints after the name) and its parser.
    struct Entry: Sendable {
        var name: String
        var optionString: String
        /// One line on what the command does, for the completion scripts' listings.
        var summary: String
        var parser: OptionParser
        /// The commons-cli option table that 3.8.5+/3.9.3+ append to the usage of `get` and `set`.
        var optionTable: String?

        /// The usage message printed when the arguments are wrong.
        var usage: String {
            let syntax = "\(name) \(optionString)"
            guard let optionTable else { return syntax }
            return syntax + "\n" + optionTable
        }
    }

    static let entries: [Entry] = [
        Entry(
            name: "addWatch",
            optionString:
                "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE",
            summary: "Add a persistent watch on a znode (recursive by default)",
            parser: OptionParser(options: [
                CommandOption("m", value: true, help: "The mode: PERSISTENT or PERSISTENT_RECURSIVE")
            ])),
        Entry(
            name: "addauth", optionString: "scheme auth", summary: "Add credentials to the session",
            parser: OptionParser(options: [])),
        Entry(name: "close", optionString: "", summary: "Close the session", parser: OptionParser(options: [])),
        Entry(
            name: "config", optionString: "[-c] [-w] [-s]", summary: "Print the ensemble's configuration",
            parser: OptionParser(options: [
                CommandOption("s", help: "Print the stat too"),
                CommandOption("w", help: "Watch for changes"),
                CommandOption("c", help: "Print only the version and the client addresses"),
            ])),
        Entry(
            name: "connect", optionString: "host:port", summary: "Start a new session with other servers",
            parser: OptionParser(options: [])),
        Entry(
            name: "create", optionString: "[-s] [-e] [-c] [-t ttl] path [data] [acl]", summary: "Create a znode",
            parser: OptionParser(options: [
                CommandOption("e", help: "Ephemeral: deleted when the session ends"),
                CommandOption("s", help: "Sequential: a counter is appended to the name"),
                CommandOption("c", help: "Container: deleted once its last child is"),
                CommandOption("t", value: true, help: "Time to live in milliseconds (TTL node)"),
            ])),
        Entry(
            name: "delete", optionString: "[-v version] path", summary: "Delete a znode",
            parser: OptionParser(options: [CommandOption("v", value: true, help: "Delete only this version")])),
        Entry(
            name: "deleteall", optionString: "path [-b batch size]", summary: "Delete a znode and its whole subtree",
            parser: OptionParser(options: [
                CommandOption("b", value: true, help: "Deletions per multi request (default 1000)")
            ])),
        Entry(
            name: "delquota", optionString: "[-n|-b|-N|-B] path", summary: "Remove a quota, or one of its limits",
            parser: OptionParser(
                options: [
                    CommandOption("n", "num soft quota", help: "Remove only the count soft limit"),
                    CommandOption("b", "bytes soft quota", help: "Remove only the bytes soft limit"),
                    CommandOption("N", "num hard quota", help: "Remove only the count hard limit"),
                    CommandOption("B", "bytes hard quota", help: "Remove only the bytes hard limit"),
                ], groups: [OptionGroup(names: ["n", "b", "N", "B"], isRequired: false)])),
        Entry(
            name: "get", optionString: "[-s] [-w] [-b] [-x] path", summary: "Print a znode's data",
            parser: OptionParser(options: [
                CommandOption("s", help: "Print the stat too"),
                CommandOption("w", help: "Watch for changes"),
                CommandOption("b", help: "Print the data in base64"),
                CommandOption("x", help: "Print the data as a hex dump"),
            ]),
            optionTable: """
                 -b   Output data in base64 format
                 -s   Print znode stats additionally
                 -w   Watch for changes on the znode
                 -x   Output data in hexdump format

                """),
        Entry(
            name: "getAcl", optionString: "[-s] path", summary: "Print a znode's ACL",
            parser: OptionParser(options: [CommandOption("s", help: "Print the stat too")])),
        Entry(
            name: "getAllChildrenNumber", optionString: "path", summary: "Count the znodes under a znode",
            parser: OptionParser(options: [])),
        Entry(
            name: "getEphemerals", optionString: "path", summary: "List the session's ephemeral znodes",
            parser: OptionParser(options: [])),
        Entry(
            name: "history", optionString: "", summary: "List the last commands, numbered",
            parser: OptionParser(options: [])),
        Entry(
            name: "listquota", optionString: "path", summary: "Print a znode's quota and usage",
            parser: OptionParser(options: [])),
        Entry(
            name: "ls", optionString: "[-s] [-w] [-R] path", summary: "List a znode's children",
            parser: OptionParser(options: [
                CommandOption("?", help: "Print the options"),
                CommandOption("s", help: "Print the stat too"),
                CommandOption("w", help: "Watch for changes of the children"),
                CommandOption("R", help: "List the whole subtree"),
            ])),
        Entry(
            name: "printwatches", optionString: "on|off", summary: "Turn the printing of watch events on or off",
            parser: OptionParser(options: [])),
        Entry(
            name: "quit", optionString: "", summary: "Close the session and exit", parser: OptionParser(options: [])
        ),
        Entry(
            name: "reconfig",
            optionString:
                "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
            summary: "Change the ensemble's membership",
            parser: OptionParser(options: [
                CommandOption("s", help: "Print the stat of the new configuration"),
                CommandOption("v", value: true, help: "Only from this configuration version (hex)"),
                CommandOption("file", value: true, help: "The new membership, from a file"),
                CommandOption("members", value: true, help: "The new membership, comma separated"),
                CommandOption("add", value: true, help: "Servers to add"),
                CommandOption("remove", value: true, help: "Server ids to remove"),
            ])),
        Entry(
            name: "redo", optionString: "cmdno", summary: "Run a command of the history again",
            parser: OptionParser(options: [])),
        Entry(
            name: "removewatches", optionString: "path [-c|-d|-a] [-l]", summary: "Remove the watches on a znode",
            parser: OptionParser(options: [
                CommandOption("c", help: "Only child watches"),
                CommandOption("d", help: "Only data watches"),
                CommandOption("a", help: "Watches of any type (the default)"),
                CommandOption("l", help: "Remove locally even when disconnected"),
                // ZooKeeper 3.9's persistent and persistent-recursive watch types.
                CommandOption("p", help: "Only persistent watches"),
                CommandOption("r", help: "Only persistent recursive watches"),
            ])),
        Entry(
            name: "set", optionString: "path data [-s] [-v version] [-b]", summary: "Set a znode's data",
            parser: OptionParser(options: [
                CommandOption("s", help: "Print the new stat"),
                CommandOption("v", value: true, help: "Set only if the data version matches"),
                CommandOption("b", help: "The data is base64"),
            ]),
            optionTable: """
                 -b         Supply data in base64 format
                 -s         Print znode stats additionally
                 -v <arg>   Set with an expected version

                """),
        Entry(
            name: "setAcl", optionString: "[-s] [-v version] [-R] path acl", summary: "Set a znode's ACL",
            parser: OptionParser(options: [
                CommandOption("s", help: "Print the new stat"),
                CommandOption("v", value: true, help: "Set only if the ACL version matches"),
                CommandOption("R", help: "Set it on the whole subtree"),
            ])),
        Entry(
            name: "setquota", optionString: "-n|-b|-N|-B val path", summary: "Set a count or bytes quota on a znode",
            parser: OptionParser(
                options: [
                    CommandOption("n", value: true, "num soft quota", help: "Count soft limit (warns)"),
                    CommandOption("b", value: true, "bytes soft quota", help: "Bytes soft limit (warns)"),
                    CommandOption("N", value: true, "num hard quota", help: "Count hard limit (enforced)"),
                    CommandOption("B", value: true, "bytes hard quota", help: "Bytes hard limit (enforced)"),
                ], groups: [OptionGroup(names: ["n", "b", "N", "B"], isRequired: true)])),
        Entry(
            name: "stat", optionString: "[-w] path", summary: "Print a znode's stat",
            parser: OptionParser(options: [CommandOption("w", help: "Watch for changes")])),
        Entry(
            name: "sync", optionString: "path", summary: "Catch the server up with the leader",
            parser: OptionParser(options: [])),
        Entry(
            name: "version", optionString: "", summary: "Print the shell's version", parser: OptionParser(options: [])
        ),
        Entry(
            name: "whoami", optionString: "", summary: "Print the session's identities",
            parser: OptionParser(options: [])),
    ]

    static func entry(_ name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// Names that zkCli 3.8 lacks and that this shell accepts: `exit` and `help` (new), `ls2` and `rmr`
    /// (removed in 3.7, kept here as deprecated aliases because fingers still type them).
    static let extraNames = ["exit", "help", "ls2", "rmr"]

    /// Every name the shell runs, sorted as zkCli sorts them (Java `String.compareTo`).
    static let allNames: [String] = ShellFormat.javaSorted(entries.map(\.name) + extraNames)

    /// What completion offers for the first word: everything but the deprecated aliases.
    static let completableNames: [String] = ShellFormat.javaSorted(entries.map(\.name) + ["exit", "help"])

    /// The one-line summary of a completable name.
    static func summary(_ name: String) -> String {
        switch name {
        case "exit": "Close the session and exit (as quit)"
        case "help": "List the commands"
        default: entry(name)?.summary ?? ""
        }
    }

    /// zkCli's `usage()` text: the invocation line, then one line per command.
    static var usageListing: String {
        var text = "ZooKeeper -server host:port -client-configuration properties-file cmd args\n"
        for entry in entries {
            text += "\t\(entry.name) \(entry.optionString)\n"
        }
        return text
    }

    /// The command an alias stands for (`ls2` for `ls`, `rmr` for `deleteall`), or the name itself.
    static func canonicalName(_ command: String) -> String {
        switch command {
        case "ls2": "ls"
        case "rmr": "deleteall"
        default: command
        }
    }

    /// The options Tab completion offers after a command name.
    static func optionNames(_ command: String) -> [String] {
        guard let entry = entry(canonicalName(command)) else { return [] }
        return entry.parser.options.map { "-" + $0.name }.filter { $0 != "-?" }
    }

    /// The help of each option of a command, keyed by the option as typed (`-s`).
    static func optionHelp(_ command: String) -> [String: String] {
        guard let entry = entry(canonicalName(command)) else { return [:] }
        return Dictionary(uniqueKeysWithValues: entry.parser.options.map { ("-" + $0.name, $0.help) })
    }
}
