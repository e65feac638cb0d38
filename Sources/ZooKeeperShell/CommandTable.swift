/// The commands zkCli knows, with their usage strings and options.
enum CommandTable {
    /// A command's name, its option string (what `usage()` prints after the name) and its parser.
    struct Entry: Sendable {
        var name: String
        var optionString: String
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
            parser: OptionParser(options: [CommandOption("m", value: true)])),
        Entry(name: "addauth", optionString: "scheme auth", parser: OptionParser(options: [])),
        Entry(name: "close", optionString: "", parser: OptionParser(options: [])),
        Entry(
            name: "config", optionString: "[-c] [-w] [-s]",
            parser: OptionParser(options: [CommandOption("s"), CommandOption("w"), CommandOption("c")])),
        Entry(name: "connect", optionString: "host:port", parser: OptionParser(options: [])),
        Entry(
            name: "create", optionString: "[-s] [-e] [-c] [-t ttl] path [data] [acl]",
            parser: OptionParser(options: [
                CommandOption("e"), CommandOption("s"), CommandOption("c"), CommandOption("t", value: true),
            ])),
        Entry(
            name: "delete", optionString: "[-v version] path",
            parser: OptionParser(options: [CommandOption("v", value: true)])),
        Entry(
            name: "deleteall", optionString: "path [-b batch size]",
            parser: OptionParser(options: [CommandOption("b", value: true)])),
        Entry(
            name: "delquota", optionString: "[-n|-b|-N|-B] path",
            parser: OptionParser(
                options: [
                    CommandOption("n", "num soft quota"), CommandOption("b", "bytes soft quota"),
                    CommandOption("N", "num hard quota"), CommandOption("B", "bytes hard quota"),
                ], groups: [OptionGroup(names: ["n", "b", "N", "B"], isRequired: false)])),
        Entry(
            name: "get", optionString: "[-s] [-w] [-b] [-x] path",
            parser: OptionParser(options: [
                CommandOption("s"), CommandOption("w"), CommandOption("b"), CommandOption("x"),
            ]),
            optionTable: """
                 -b   Output data in base64 format
                 -s   Print znode stats additionally
                 -w   Watch for changes on the znode
                 -x   Output data in hexdump format

                """),
        Entry(name: "getAcl", optionString: "[-s] path", parser: OptionParser(options: [CommandOption("s")])),
        Entry(name: "getAllChildrenNumber", optionString: "path", parser: OptionParser(options: [])),
        Entry(name: "getEphemerals", optionString: "path", parser: OptionParser(options: [])),
        Entry(name: "history", optionString: "", parser: OptionParser(options: [])),
        Entry(name: "listquota", optionString: "path", parser: OptionParser(options: [])),
        Entry(
            name: "ls", optionString: "[-s] [-w] [-R] path",
            parser: OptionParser(options: [
                CommandOption("?"), CommandOption("s"), CommandOption("w"), CommandOption("R"),
            ])),
        Entry(name: "printwatches", optionString: "on|off", parser: OptionParser(options: [])),
        Entry(name: "quit", optionString: "", parser: OptionParser(options: [])),
        Entry(
            name: "reconfig",
            optionString:
                "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
            parser: OptionParser(options: [
                CommandOption("s"), CommandOption("v", value: true), CommandOption("file", value: true),
                CommandOption("members", value: true), CommandOption("add", value: true),
                CommandOption("remove", value: true),
            ])),
        Entry(name: "redo", optionString: "cmdno", parser: OptionParser(options: [])),
        Entry(
            name: "removewatches", optionString: "path [-c|-d|-a] [-l]",
            parser: OptionParser(options: [
                CommandOption("c"), CommandOption("d"), CommandOption("a"), CommandOption("l"),
                // ZooKeeper 3.9's persistent and persistent-recursive watch types.
                CommandOption("p"), CommandOption("r"),
            ])),
        Entry(
            name: "set", optionString: "path data [-s] [-v version] [-b]",
            parser: OptionParser(options: [CommandOption("s"), CommandOption("v", value: true), CommandOption("b")]),
            optionTable: """
                 -b         Supply data in base64 format
                 -s         Print znode stats additionally
                 -v <arg>   Set with an expected version

                """),
        Entry(
            name: "setAcl", optionString: "[-s] [-v version] [-R] path acl",
            parser: OptionParser(options: [CommandOption("s"), CommandOption("v", value: true), CommandOption("R")])),
        Entry(
            name: "setquota", optionString: "-n|-b|-N|-B val path",
            parser: OptionParser(
                options: [
                    CommandOption("n", value: true, "num soft quota"),
                    CommandOption("b", value: true, "bytes soft quota"),
                    CommandOption("N", value: true, "num hard quota"),
                    CommandOption("B", value: true, "bytes hard quota"),
                ], groups: [OptionGroup(names: ["n", "b", "N", "B"], isRequired: true)])),
        Entry(name: "stat", optionString: "[-w] path", parser: OptionParser(options: [CommandOption("w")])),
        Entry(name: "sync", optionString: "path", parser: OptionParser(options: [])),
        Entry(name: "version", optionString: "", parser: OptionParser(options: [])),
        Entry(name: "whoami", optionString: "", parser: OptionParser(options: [])),
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

    /// zkCli's `usage()` text: the invocation line, then one line per command.
    static var usageListing: String {
        var text = "ZooKeeper -server host:port -client-configuration properties-file cmd args\n"
        for entry in entries {
            text += "\t\(entry.name) \(entry.optionString)\n"
        }
        return text
    }

    /// The options Tab completion offers after a command name.
    static func optionNames(_ command: String) -> [String] {
        let name =
            switch command {
            case "ls2": "ls"
            case "rmr": "deleteall"
            default: command
            }
        guard let entry = entry(name) else { return [] }
        return entry.parser.options.map { "-" + $0.name }.filter { $0 != "-?" }
    }
}
