import Foundation
import Testing
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// completions/: each script run by its shell, against the code (every command, every option) and against a
/// live server (znode paths).
@Suite(.serialized)
struct CompletionScriptTests {
    /// What each command line must offer, with `<root>` standing for the test's tree.
    static func expectations(server: String, root: String) -> [(line: String, offers: [String])] {
        [
            ("zkcli ge", ["get", "getAcl", "getAllChildrenNumber", "getEphemerals"]),
            ("zkcli -server \(server) get -", ["-b", "-s", "-w", "-x"]),
            ("zkcli -ser", ["-server"]),
            ("zkcli -server \(server) get \(root)/al", ["\(root)/alpha", "\(root)/alpine"]),
            ("zkcli -server \(server) ls \(root)/alph", ["\(root)/alpha", "\(root)/alpha/x"]),
            ("zkcli -server \(server) addWatch -m PERSISTENT_", ["PERSISTENT_RECURSIVE"]),
        ]
    }

    /// Every command, every option of each (but `ls -?`, which a shell would glob), every zkcli option.
    static func driftLines() throws -> [(line: String, offers: [String])] {
        var lines: [(String, [String])] = [("zkcli ", CommandRegistry.completableNames)]
        for spec in CommandRegistry.specs {
            lines.append(("zkcli \(spec.name) -", spec.completedOptions.flatMap(\.spellings)))
        }
        lines.append(("zkcli -", try ExecutableOptions.zkcli()))
        return lines
    }

    func check(_ shell: String, _ answers: [[String]], _ expected: [(line: String, offers: [String])]) {
        #expect(answers.count == expected.count, "\(shell) answered \(answers.count) lines of \(expected.count)")
        for (answer, expectation) in zip(answers, expected) {
            #expect(answer == expectation.offers.sorted(), "\(shell): \(expectation.line)")
        }
    }

    func checkCoverage(_ shell: String, _ answers: [[String]], _ expected: [(line: String, offers: [String])]) {
        #expect(answers.count == expected.count, "\(shell) answered \(answers.count) lines of \(expected.count)")
        for (answer, expectation) in zip(answers, expected) {
            let missing = Set(expectation.offers).subtracting(answer)
            #expect(missing.isEmpty, "\(shell) does not offer \(missing.sorted()) for '\(expectation.line)'")
        }
    }

    // MARK: bash

    @Test func bashRegistersTheFunction() throws {
        for command in ["zkcli", "zkserver"] {
            let run = try Programs.run(
                try Tool.bash,
                [
                    "--norc", "--noprofile", "-c",
                    "source \(CompletionHarness.shellQuoted(Repository.path("completions/\(command).bash"))) && complete -p \(command)",
                ],
                environment: try CompletionHarness.environment())
            #expect(run.output == "complete -F _\(command) \(command)\n")
            #expect(run.error == "")
        }
    }

    @Test func bashCompletesCommandsOptionsAndLivePaths() async throws {
        let (server, root) = try await CompletionHarness.tree()
        let expected = Self.expectations(server: server, root: root)
        check(
            "bash", try CompletionHarness.bash("completions/zkcli.bash", command: "zkcli", lines: expected.map(\.line)),
            expected)
        // Without COMP_LINE (a caller that sets only COMP_WORDS and COMP_CWORD).
        let simple = [("zkcli get -", ["-b", "-s", "-w", "-x"]), ("zkcli cr", ["create"])]
        check(
            "bash (COMP_WORDS only)",
            try CompletionHarness.bash(
                "completions/zkcli.bash", command: "zkcli", lines: simple.map(\.0), setCompLine: false),
            simple)
    }

    /// bash splits words at `:` too (COMP_WORDBREAKS), and replaces only what follows the last one.
    @Test func bashPathsWithAColon() async throws {
        let (server, root) = try await CompletionHarness.tree()
        let answers = try CompletionHarness.bash(
            "completions/zkcli.bash", command: "zkcli",
            lines: ["zkcli -server \(server) ls \(root)/host:", "zkcli -server \(server) ls \(root)/ho"])
        #expect(answers == [["1"], ["\(root)/host:1"]])
    }

    @Test func bashOffersEveryCommandAndOption() throws {
        let expected = try Self.driftLines()
        checkCoverage(
            "bash", try CompletionHarness.bash("completions/zkcli.bash", command: "zkcli", lines: expected.map(\.line)),
            expected)
    }

    // MARK: fish

    @Test func fishCompletesCommandsOptionsAndLivePaths() async throws {
        let (server, root) = try await CompletionHarness.tree()
        let expected = Self.expectations(server: server, root: root)
        check("fish", try CompletionHarness.fish("completions/zkcli.fish", lines: expected.map(\.line)), expected)
    }

    @Test func fishOffersEveryCommandAndOption() throws {
        let expected = try Self.driftLines()
        checkCoverage(
            "fish", try CompletionHarness.fish("completions/zkcli.fish", lines: expected.map(\.line)), expected)
    }

    // MARK: zsh

    @Test func zshCompletesCommandsOptionsAndLivePaths() async throws {
        let (server, root) = try await CompletionHarness.tree()
        let expected = Self.expectations(server: server, root: root)
        check("zsh", try CompletionHarness.zshCapturing("completions/_zkcli", lines: expected.map(\.line)), expected)
        let files = try CompletionHarness.zshCapturing(
            "completions/_zkcli", lines: ["zkcli -client-configuration ", "zkcli --data-dir x"])
        #expect(files == [["(files )"], ["(files -/)"]])
    }

    @Test func zshOffersEveryCommandAndOption() throws {
        let expected = try Self.driftLines()
        checkCoverage(
            "zsh", try CompletionHarness.zshCapturing("completions/_zkcli", lines: expected.map(\.line)), expected)
    }

    // MARK: zkserver

    /// zkserver's options and log levels, from its argument parser, and .cfg files.
    @Test func zkserverInBashAndFish() throws {
        let arguments = try ExecutableOptions.zkserver()
        let options = arguments.flatMap(\.spellings).filter { $0.hasPrefix("--") }
        let levels = arguments.first { $0.spellings == ["--log-level"] }?.completionKind?.list?.values ?? []
        #expect(!options.isEmpty && !levels.isEmpty)
        let directory = try TestEnvironment.temporaryDirectory("zkserver-completion")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/zoo.cfg", contents: nil)
        _ = FileManager.default.createFile(atPath: directory + "/notes.txt", contents: nil)
        try FileManager.default.createDirectory(atPath: directory + "/conf", withIntermediateDirectories: false)
        let lines = [
            "zkserver --", "zkserver --log-level ", "zkserver \(directory)/", "zkserver --data-dir \(directory)/c",
        ]
        let bash = try CompletionHarness.bash("completions/zkserver.bash", command: "zkserver", lines: lines)
        let fish = try CompletionHarness.fish("completions/zkserver.fish", lines: lines)
        for (shell, answers) in [("bash", bash), ("fish", fish)] {
            #expect(answers.count == lines.count)
            guard answers.count == lines.count else { continue }
            #expect(Set(options).isSubset(of: answers[0]), "\(shell): \(answers[0])")
            #expect(answers[1] == levels.sorted(), "\(shell)")
            // bash adds the slash of a directory itself (-o filenames), fish gives it.
            #expect(
                answers[2].map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } == [
                    "\(directory)/conf", "\(directory)/zoo.cfg",
                ], "\(shell)")
            #expect(
                answers[3].map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } == ["\(directory)/conf"], "\(shell)")
        }
    }

    /// The zsh script is _arguments specs: each option and level must be among them.
    @Test func zkserverInZsh() throws {
        let script = try Repository.read("completions/_zkserver")
        let arguments = try ExecutableOptions.zkserver()
        for option in arguments.flatMap(\.spellings) {
            #expect(script.contains(option), "_zkserver lacks \(option)")
        }
        for level in arguments.flatMap({ $0.completionKind?.list?.values ?? [] }) {
            #expect(script.contains(level), "_zkserver lacks the level \(level)")
        }
        #expect(script.contains("*.cfg"))
        // It loads and defines its function under compinit.
        let home = try TestEnvironment.temporaryDirectory("zsh-home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let run = try Programs.run(
            try Tool.zsh,
            [
                "-f", "-c",
                "fpath=(\(CompletionHarness.shellQuoted(Repository.path("completions"))) $fpath); autoload -Uz compinit; compinit -u -d \(home)/dump; print -r -- $_comps[zkserver] $_comps[zkcli]",
            ], environment: try CompletionHarness.environment())
        #expect(run.output == "_zkserver _zkcli\n")
        #expect(run.error == "")
    }
}
