import Testing

@testable import ZooKeeperShell

/// zkcli's command line, read as swift-argument-parser read it before zkcli stopped linking it: the same
/// spellings, the same first error and the same words in the messages (checked against the earlier build's output).
struct ProgramOptionsTests {
    private func settings(_ arguments: [String]) -> ProgramSettings? {
        guard case .run(let settings) = ProgramOptions.read(arguments) else { return nil }
        return settings
    }

    private func error(_ arguments: [String]) -> String? {
        guard case .usageError(let message, _) = ProgramOptions.read(arguments) else { return nil }
        return message
    }

    @Test func optionsUpToTheFirstWordThenTheCommandAsItIs() throws {
        let oneShot = try #require(settings(["-server", "h:1", "-timeout", "500", "-r", "get", "-s", "/x"]))
        #expect(oneShot.server == "h:1")
        #expect(oneShot.timeout == 500)
        #expect(oneShot.readOnly)
        #expect(oneShot.command == ["get", "-s", "/x"])
        #expect(settings(["ls", "--help"])?.command == ["ls", "--help"])
        #expect(settings([])?.command == [])
        // The last of a repeated option counts.
        #expect(settings(["-server", "a", "-server", "b"])?.server == "b")
    }

    @Test func valuesAttachedWithAnEqualsSignAndShortFlagsTogether() throws {
        let attached = try #require(settings(["-server=h:1", "-timeout=5", "--output=json", "ls"]))
        #expect(attached.server == "h:1")
        #expect(attached.timeout == 5)
        #expect(attached.outputFormat == .json)
        let together = try #require(settings(["-ro", "json", "ls"]))
        #expect(together.readOnly)
        #expect(together.outputFormat == .json)
        #expect(together.command == ["ls"])
        // A lone dash is a value, not an option.
        #expect(settings(["--history-file", "-"])?.historyFile == "-")
    }

    @Test func helpAndVersionWhereverTheyComeAmongTheOptionsButAfterAnEarlierError() {
        #expect(ProgramOptions.read(["--help", "-x"]) == .help)
        #expect(ProgramOptions.read(["-server", "a", "-h"]) == .help)
        #expect(ProgramOptions.read(["-rh"]) == .help)
        #expect(ProgramOptions.read(["-server", "a", "--version", "ls"]) == .version)
        #expect(error(["-x", "--help"]) == "Unknown option '-x'")
        #expect(error(["-timeout", "abc", "--help"]) == "The value 'abc' is invalid for '-timeout <ms>'")
    }

    @Test func usageErrorsSayWhatIsWrong() {
        #expect(error(["-x", "ls", "/"]) == "Unknown option '-x'")
        #expect(error(["--foo=1"]) == "Unknown option '--foo=1'")
        #expect(error(["-rx"]) == "Unknown option '-x'")
        #expect(error(["-xr"]) == "Unknown option '-xr'")
        #expect(error(["--"]) == "Unknown option '--'")
        #expect(error(["---x"]) == "Invalid option: ---x")
        #expect(error(["-server"]) == "Missing value for '-server <host:port[,host:port...][/chroot]>'")
        #expect(error(["-timeout", "-5", "ls"]) == "Missing value for '-timeout <ms>'")
        #expect(error(["--output="]) == "Missing value for '--output <format>'")
        #expect(
            error(["-o", "yaml", "ls"])
                == "The value 'yaml' is invalid for '-o <format>'. Please provide one of 'text' and 'json'.")
        #expect(
            error(["-o=", "ls"])
                == "The value '' is invalid for '-o <format>'. Please provide one of 'text' and 'json'.")
        #expect(
            error(["--stop-on-error=1"])
                == "The option '--stop-on-error' does not take any value, but '1' was specified.")
        #expect(error(["--embedded", "-server", "a", "ls"]) == "--embedded starts its own server; leave out -server")
        #expect(error(["--data-dir", "/tmp", "ls"]) == "--data-dir is for the embedded server; add --embedded")
    }

    @Test func aBadValueShowsTheHelpOfItsOptionAndEveryErrorTheUsage() {
        let text = ProgramOptions.usageErrorText(
            "The value 'abc' is invalid for '-timeout <ms>'",
            help: "-timeout <ms>  The session timeout asked of the server, in milliseconds.")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "Error: The value 'abc' is invalid for '-timeout <ms>'")
        #expect(lines[1] == "Help:  -timeout <ms>  The session timeout asked of the server, in milliseconds.")
        #expect(lines[2].hasPrefix("Usage: zkcli [-server <host:port[,host:port...][/chroot]>] [-timeout <ms>] [-r] "))
        #expect(lines[2].hasSuffix(" [--output <format>] [<command> ...]"))
        #expect(lines[3] == "  See 'zkcli --help' for more information.")
        guard case .usageError(_, let help) = ProgramOptions.read(["-timeout", "x"]) else {
            Issue.record("not a usage error")
            return
        }
        #expect(help == "-timeout <ms>  The session timeout asked of the server, in milliseconds.")
    }

    @Test func helpListsEveryOptionWithItsDefaultWrappedIn79Columns() {
        let help = ProgramOptions.helpText
        #expect(help.hasPrefix("OVERVIEW: A ZooKeeper shell with zkCli.sh's commands, flags and output.\n\n"))
        #expect(
            help.contains(
                "  -timeout <ms>           The session timeout asked of the server, in\n"
                    + "                          milliseconds. (default: 30000)\n"))
        #expect(
            help.contains(
                "  -client-configuration <file>\n"
                    + "                          A ZooKeeper client properties file (jute.maxbuffer is\n"))
        #expect(help.contains("(values: text,\n                          json; default: text)\n"))
        #expect(help.hasSuffix("  -h, --help              Show help information.\n\n"))
        for line in help.split(separator: "\n") where !line.hasPrefix("USAGE: ") {
            #expect(line.count <= 79, "\(line)")
        }
        for option in ProgramOptions.all + ProgramOptions.standard {
            #expect(help.contains("  " + option.names.joined(separator: ", ")), "\(option.name)")
        }
    }
}
