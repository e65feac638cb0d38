import Testing

@testable import ZooKeeperShell

/// commons-cli DefaultParser behaviour, as zkCli's commands see it.
struct OptionParserTests {
    func parse(_ command: String, _ words: [String]) throws(OptionParseError) -> ParsedCommandLine {
        try CommandRegistry.spec(command)!.parser.parse([command] + words)
    }

    func error(_ command: String, _ words: [String]) -> String? {
        do throws(OptionParseError) {
            _ = try parse(command, words)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func optionsMayComeAnywhere() throws {
        let line = try parse("set", ["/a", "-s", "data", "-v", "3"])
        #expect(line.arguments == ["set", "/a", "data"])
        #expect(line.has("s"))
        #expect(line.value("v") == "3")
    }

    @Test func concatenatedFlagsAndAttachedValues() throws {
        let flags = try parse("get", ["-sw", "/a"])
        #expect(flags.has("s") && flags.has("w"))
        #expect(try parse("set", ["-v3", "/a", "x"]).value("v") == "3")
        #expect(try parse("set", ["-v=4", "/a", "x"]).value("v") == "4")
        #expect(try parse("set", ["-sv5", "/a", "x"]).value("v") == "5")
    }

    @Test func negativeNumbersAreValues() throws {
        #expect(try parse("set", ["-v", "-1", "/a", "x"]).value("v") == "-1")
        #expect(
            error("set", ["/a", "-1"])
                == "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -1")
    }

    @Test func doubleDashEndsOptions() throws {
        #expect(try parse("set", ["--", "/a", "-x"]).arguments == ["set", "/a", "-x"])
        #expect(try parse("ls", ["-", "/a"]).arguments == ["ls", "-", "/a"])
    }

    @Test func errorsReadAsCommonsCli() {
        #expect(
            error("ls", ["-x", "/"]) == "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x")
        #expect(
            error("ls", ["--long"]) == "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: --long"
        )
        #expect(
            error("create", ["-t"]) == "org.apache.commons.cli.MissingArgumentException: Missing argument for option: t"
        )
        #expect(
            error("set", ["-v", "-s", "/a"])
                == "org.apache.commons.cli.MissingArgumentException: Missing argument for option: v")
        #expect(
            error("setquota", ["/a"])
                == "org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]"
        )
        #expect(
            error("setquota", ["-n", "1", "-b", "2", "/a"])
                == "org.apache.commons.cli.AlreadySelectedException: The option 'b' was specified but an option from this group has already been selected: 'n'"
        )
    }

    @Test func multiLetterOptions() throws {
        let line = try parse("reconfig", ["-add", "server.5=h:1:2;3", "-v", "1a"])
        #expect(line.value("add") == "server.5=h:1:2;3")
        #expect(line.value("v") == "1a")
    }

    @Test func doubleQuotedValuesLoseTheirQuotes() throws {
        #expect(try parse("create", ["-t", "\"5\"", "/a"]).value("t") == "5")
    }
}
