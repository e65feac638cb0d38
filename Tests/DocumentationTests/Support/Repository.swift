import Foundation
import ZooKeeperTestSupport

/// The files under test, and the programs that check them.
enum Repository {
    /// The package's root directory (this file is Tests/DocumentationTests/Support/Repository.swift).
    static let root: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func read(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }

    /// The directory of the built executables (where `zkcli` is).
    static var binaries: String {
        get throws { URL(fileURLWithPath: try Programs.zkcli).deletingLastPathComponent().path }
    }

    static var zkserver: String {
        get throws { try binaries + "/zkserver" }
    }
}

/// Programs the tests need from the system; a missing one fails the test with the command that installs it.
enum Tool {
    static func path(_ name: String, package: String) throws -> String {
        for directory in ["/usr/bin", "/bin", "/usr/local/bin"] {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw HarnessError("\(name) is not installed; install it with: sudo apt-get install -y \(package)")
    }

    static var bash: String { get throws { try path("bash", package: "bash") } }
    static var zsh: String { get throws { try path("zsh", package: "zsh") } }
    static var fish: String { get throws { try path("fish", package: "fish") } }
    static var groff: String { get throws { try path("groff", package: "groff-base") } }
    static var mandoc: String { get throws { try path("mandoc", package: "mandoc") } }
    static var man: String { get throws { try path("man", package: "man-db") } }
    static var make: String { get throws { try path("make", package: "make") } }
    static var systemdAnalyze: String { get throws { try path("systemd-analyze", package: "systemd") } }
}

/// What the executables say about their own options.
enum ExecutableOptions {
    /// zkcli's options as its `--help` lists them (its argument parser cannot dump them: the command words
    /// after the options are captured as they are).
    static func zkcli() throws -> [String] {
        let help = try Programs.run(try Programs.zkcli, ["--help"])
        guard let section = help.output.components(separatedBy: "OPTIONS:\n").last else { return [] }
        var names: [String] = []
        // `  -server <host:port...>`, `  -r   Accept ...`, `  -h, --help   Show ...`.
        for line in section.split(separator: "\n") where line.hasPrefix("  -") {
            var spellings = String(line.dropFirst(2))
            if let help = spellings.range(of: "  ") { spellings = String(spellings[..<help.lowerBound]) }
            if let value = spellings.range(of: " <") { spellings = String(spellings[..<value.lowerBound]) }
            names += spellings.components(separatedBy: ", ")
        }
        return names
    }

    /// An argument of zkserver, from its argument parser's dump.
    struct Argument: Decodable {
        struct Name: Decodable {
            var kind: String
            var name: String
        }
        var kind: String
        var names: [Name]?
        var valueName: String?
        var completionKind: CompletionKind?

        struct CompletionKind: Decodable {
            struct Values: Decodable { var values: [String] }
            struct File: Decodable { var extensions: [String] }
            var list: Values?
            var file: File?
            var directory: [String: String]?
        }

        /// As typed: `--port`, `-h`.
        var spellings: [String] {
            (names ?? []).map { ($0.kind == "short" ? "-" : "--") + $0.name }
        }
    }

    static func zkserver() throws -> [Argument] {
        struct Dump: Decodable {
            struct Command: Decodable { var arguments: [Argument] }
            var command: Command
        }
        let dump = try Programs.run(try Repository.zkserver, ["--experimental-dump-help"])
        return try JSONDecoder().decode(Dump.self, from: Data(dump.output.utf8)).command.arguments
    }
}
