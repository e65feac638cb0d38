import Foundation
import Testing
import ZooKeeperServer
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// man/zkcli.1 and man/zkserver.1: they lint cleanly, and they describe what the code has.
struct ManPageTests {
    static let pages = ["man/zkcli.1", "man/zkserver.1"]

    @Test(arguments: pages) func groffFindsNothingToWarnAbout(page: String) throws {
        // -P-cbou: plain text, without the overstrikes of bold and underline.
        let run = try Programs.run(try Tool.groff, ["-man", "-Tutf8", "-ww", "-P-cbou", Repository.path(page)])
        #expect(run.exitCode == 0)
        #expect(run.error == "")
        #expect(run.output.contains("NAME") && run.output.contains("EXAMPLES"))
    }

    @Test(arguments: pages) func mandocLintFindsNothing(page: String) throws {
        let run = try Programs.run(try Tool.mandoc, ["-Tlint", Repository.path(page)])
        #expect(run.output + run.error == "")
        #expect(run.exitCode == 0)
    }

    @Test(arguments: pages) func theSectionsAManPageNeeds(page: String) throws {
        let names = ManPage(try Repository.read(page)).sectionNames
        for required in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO"] {
            #expect(names.contains(required), "\(page) has no \(required) section")
        }
        // man(7), not mdoc(7).
        let source = try Repository.read(page)
        #expect(source.contains("\n.TH ") && !source.contains("\n.Dd "))
    }

    @Test func zkcliPageShowsTheShellsVersion() throws {
        let header = ManPage(try Repository.read("man/zkcli.1")).lines.first { $0.hasPrefix(".TH ") } ?? ""
        #expect(ManPage.arguments(of: header).contains("swift-zookeeper \(ShellVersion.current)"))
    }

    // MARK: zkcli

    @Test func everyZkcliOptionIsDescribed() throws {
        let page = ManPage(try Repository.read("man/zkcli.1"))
        let described = Set(ManPage.tags(page.section("OPTIONS")).flatMap(ManPage.optionsNamed(byTag:)))
        let options = try ExecutableOptions.zkcli()
        #expect(options.contains("-server") && options.contains("--embedded"))
        for option in options {
            #expect(described.contains(option), "zkcli.1 does not describe \(option)")
        }
        // And nothing that zkcli does not have.
        #expect(described.subtracting(options).isEmpty, "\(described.subtracting(options))")
    }

    @Test func everyCommandHasItsUsageLineAndEveryOption() throws {
        let page = ManPage(try Repository.read("man/zkcli.1"))
        // The names described together (the aliases, and help).
        let others = page.lines.first { $0.hasPrefix(".SS ") && $0.contains("exit") } ?? ""
        for name in CommandRegistry.extraNames {
            #expect(others.contains(name) || page.subsection(name) != nil, "zkcli.1 does not mention \(name)")
        }
        // Every other command has a subsection: its usage line, and each of its options described.
        for spec in CommandRegistry.specs where !others.contains(spec.name) {
            guard let lines = page.subsection(spec.name) else {
                Issue.record("zkcli.1 has no subsection for \(spec.name)")
                continue
            }
            // addWatch's usage ends with a comment on the modes, which the text below it says.
            let syntax = spec.syntax.components(separatedBy: " #").first ?? ""
            let usage = syntax.isEmpty ? spec.name : spec.name + " " + syntax
            #expect(ManPage.leadingText(lines) == usage, "the usage line of \(spec.name)")
            let described = Set(ManPage.tags(lines).flatMap(ManPage.optionsNamed(byTag:)))
            // -o is described once, under JSON OUTPUT.
            for option in spec.options {
                for spelling in option.spellings {
                    #expect(described.contains(spelling), "zkcli.1 does not describe \(spec.name) \(spelling)")
                }
            }
        }
    }

    /// JSON OUTPUT shows the object of every command that prints data.
    @Test func everyCommandThatPrintsDataHasItsJSONShape() throws {
        let page = ManPage(try Repository.read("man/zkcli.1"))
        let words = Set(
            ManPage.tags(page.section("JSON OUTPUT")).flatMap { $0.split(whereSeparator: { $0 == "," || $0 == " " }) }
                .map(String.init))
        let printing = CommandRegistry.specs.filter(\.printsData)
        #expect(printing.count >= 10)
        for spec in printing {
            #expect(words.contains(spec.name), "zkcli.1's JSON OUTPUT does not show \(spec.name)")
        }
        #expect(words.contains("errors"))
    }

    @Test func exitStatusesFilesAndEnvironment() throws {
        let page = ManPage(try Repository.read("man/zkcli.1"))
        let statuses = ManPage.tags(page.section("EXIT STATUS"))
        for code in [ExitCode.success, ExitCode.failure, ExitCode.commandNotFound, ExitCode.interrupted, 2, 64] {
            #expect(statuses.contains("\(code)"), "zkcli.1 does not explain exit status \(code)")
        }
        let files = ManPage.tags(page.section("FILES"))
        #expect(files.contains("~/.zkcli_history"))
        #expect(files.contains("zoo.cfg"))
        #expect(ManPage.tags(page.section("ENVIRONMENT")).contains("ZKCLI_HISTORY_FILE"))
    }

    // MARK: zkserver

    @Test func everyZkserverOptionIsDescribed() throws {
        let page = ManPage(try Repository.read("man/zkserver.1"))
        let tags = ManPage.tags(page.section("OPTIONS"))
        let described = Set(tags.flatMap(ManPage.optionsNamed(byTag:)))
        let arguments = try ExecutableOptions.zkserver()
        let options = arguments.flatMap(\.spellings)
        #expect(options.contains("--port"))
        for option in options {
            #expect(described.contains(option), "zkserver.1 does not describe \(option)")
        }
        #expect(described.subtracting(options).isEmpty, "\(described.subtracting(options))")
        // The one positional argument, a .cfg file.
        let positionals = arguments.filter { $0.kind == "positional" }
        #expect(positionals.count == 1)
        #expect(positionals.first?.completionKind?.file?.extensions == ["cfg"])
        #expect(tags.contains("zoo.cfg"))
        // The log levels.
        let levels = arguments.first { $0.spellings == ["--log-level"] }?.completionKind?.list?.values ?? []
        #expect(!levels.isEmpty)
        let text = page.section("OPTIONS").map(ManPage.plainLine).joined(separator: " ")
        for level in levels {
            #expect(text.contains(level), "zkserver.1 does not name the log level \(level)")
        }
    }

    @Test func everyFourLetterWordIsDescribed() throws {
        let tags = ManPage.tags(ManPage(try Repository.read("man/zkserver.1")).section("FOUR-LETTER WORDS"))
        #expect(Set(tags) == Set(FourLetterWord.allCases.map(\.rawValue)))
    }

    /// Each AdminServer command has a tag listing all its names, as the server accepts them.
    @Test func everyAdminServerCommandIsDescribed() throws {
        let tags = ManPage.tags(ManPage(try Repository.read("man/zkserver.1")).section("ADMINSERVER"))
        #expect(Set(tags) == Set(AdminCommand.allCases.map { $0.names.joined(separator: ", ") }))
    }

    /// Every key that ZooCfg reads (found in its source) is described, and every described key is one that
    /// zkserver reads.
    @Test func theZooCfgKeys() throws {
        let page = ManPage(try Repository.read("man/zkserver.1"))
        let configuration = page.section("CONFIGURATION")
        let described = Set(ManPage.tags(configuration).flatMap { $0.components(separatedBy: ", ") })
        let text = configuration.map(ManPage.plainLine).joined(separator: " ")
        let read = try Self.keysReadByZooCfg()
        #expect(read.contains("dataDir") && read.contains("4lw.commands.whitelist"))
        for key in read where !key.hasPrefix("zookeeper.") {
            #expect(text.contains(key), "zkserver.1 does not describe the zoo.cfg key \(key)")
        }
        for key in described {
            let known: Bool
            do {
                known = !(try ZooCfg.parse("\(key)=1").warnings.contains { $0.contains("'\(key)'") })
            } catch {
                known = true  // read, and 1 is not a value it takes
            }
            #expect(known, "zkserver.1 describes \(key), which zkserver does not read")
        }
    }

    /// The keys of the `case "..."` labels of ZooCfg.parse.
    static func keysReadByZooCfg() throws -> Set<String> {
        let source = try Repository.read("Sources/ZooKeeperServer/Configuration/ZooCfg.swift")
        var keys: Set<String> = []
        var inSwitch = false
        var inCase = false
        for line in source.components(separatedBy: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            // Only the labels of `switch key`, not those of the value parsers.
            if trimmed.hasPrefix("switch key {") { inSwitch = true }
            if trimmed.hasPrefix("default:") { inSwitch = false }
            guard inSwitch else { continue }
            if trimmed.hasPrefix("case \"") { inCase = true }
            guard inCase else { continue }
            // The labels run up to the colon that ends them, possibly over several lines.
            let labels = trimmed.components(separatedBy: "\":").first ?? trimmed
            for (index, part) in labels.components(separatedBy: "\"").enumerated() where index % 2 == 1 {
                keys.insert(part)
            }
            if trimmed.contains("\":") { inCase = false }
        }
        return keys
    }

    @Test func theDataDirectoryAndSignals() throws {
        let page = ManPage(try Repository.read("man/zkserver.1"))
        let data = page.section("DATA DIRECTORY").map(ManPage.plainLine).joined(separator: " ")
        for word in ["version-2", "log.", "snapshot.", "zkserver.lock"] {
            #expect(data.contains(word), "zkserver.1's DATA DIRECTORY does not mention \(word)")
        }
        let signals = ManPage.tags(page.section("SIGNALS")).joined(separator: " ")
        #expect(signals.contains("SIGTERM") && signals.contains("SIGINT"))
    }
}
