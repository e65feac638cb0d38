import Foundation
import Testing
import ZooKeeperTestSupport

/// Tab in real interactive shells on a terminal (tmux), with the completion loaded as users load it:
/// bash sources the file, zsh finds `_zkcli` on its fpath through compinit, fish sources it.
@Suite(.serialized)
struct InteractiveCompletionTests {
    enum Shell: String, CaseIterable, CustomStringConvertible {
        case bash, zsh, fish
        var description: String { rawValue }
    }

    /// Starts `shell` with no user configuration but the completion, in a terminal.
    static func start(_ shell: Shell, home: String) throws -> TerminalSession {
        let completions = Repository.path("completions")
        let command: String
        switch shell {
        case .bash:
            try "PS1='$ '\nsource '\(completions)/zkcli.bash'\nsource '\(completions)/zkserver.bash'\n".write(
                toFile: home + "/.bashrc", atomically: true, encoding: .utf8)
            command = "\(try Tool.bash) --noprofile --rcfile '\(home)/.bashrc' -i"
        case .zsh:
            try
                "PS1='%% '\nfpath=('\(completions)' $fpath)\nautoload -Uz compinit\ncompinit -u -d '\(home)/.zcompdump'\n"
                .write(toFile: home + "/.zshrc", atomically: true, encoding: .utf8)
            command = "ZDOTDIR='\(home)' \(try Tool.zsh) -i"
        case .fish:
            try FileManager.default.createDirectory(
                atPath: home + "/.config/fish", withIntermediateDirectories: true)
            try """
            set -g fish_greeting ''
            function fish_prompt; echo -n '> '; end
            source '\(completions)/zkcli.fish'
            source '\(completions)/zkserver.fish'

            """.write(toFile: home + "/.config/fish/config.fish", atomically: true, encoding: .utf8)
            command = "\(try Tool.fish) -i"
        }
        let path = try Repository.binaries + ":/usr/bin:/bin"
        return try TerminalSession("env -i HOME='\(home)' TERM=screen PATH='\(path)' \(command)")
    }

    /// Runs `body` on `shell` at its first prompt, in a fresh home directory removed afterwards.
    static func withShell(_ shell: Shell, _ body: (TerminalSession) async throws -> Void) async throws {
        let home = try TestEnvironment.temporaryDirectory("completion-home")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let terminal = try start(shell, home: home)
        defer { terminal.close() }
        let prompt = try terminal.waitFor { $0.hasSuffix("$") || $0.hasSuffix("%") || $0.hasSuffix(">") }
        #expect(prompt.matched, "\(shell) did not start: \(prompt.screen)")
        try await body(terminal)
    }

    @Test(arguments: Shell.allCases) func tabCompletesLivePathsAndCommands(shell: Shell) async throws {
        let (server, root) = try await CompletionHarness.tree()
        try await Self.withShell(shell) { terminal in
            // A unique leaf is completed and followed by a space.
            try terminal.type("zkcli -server \(server) get \(root)/be")
            try terminal.press("Tab")
            let leaf = try terminal.waitFor { $0.contains("\(root)/beta") }
            #expect(leaf.matched, "\(shell): \(leaf.screen)")
            try terminal.type("-s")
            let spaced = try terminal.waitFor { $0.contains("\(root)/beta -s") }
            #expect(spaced.matched, "\(shell): \(spaced.screen)")

            // A node with children stops there, and what lies below is listed.
            try terminal.press("C-u")
            try terminal.type("zkcli -server \(server) ls \(root)/alph")
            try terminal.press("Tab")
            let stopped = try terminal.waitFor {
                $0.components(separatedBy: "\n").contains { $0.hasSuffix("ls \(root)/alpha") }
            }
            #expect(stopped.matched, "\(shell): \(stopped.screen)")
            // What is below is listed: at once by fish; by zsh on the next Tab, as for any ambiguous completion
            // that inserted text; by bash on the second one (the first rings the bell).
            switch shell {
            case .bash: try terminal.press("Tab", "Tab")
            case .zsh: try terminal.press("Tab")
            case .fish: break
            }
            let listed = try terminal.waitFor { $0.contains("alpha/x") }
            #expect(listed.matched, "\(shell): \(listed.screen)")

            // A command name, then an option of it.
            try terminal.press("C-u")
            if shell == .fish {
                // fish's pager takes the first keys; Escape closes it.
                try terminal.press("Escape")
                try terminal.press("C-u")
            }
            try terminal.type("zkcli -server \(server) getAl")
            try terminal.press("Tab")
            let command = try terminal.waitFor { $0.contains("getAllChildrenNumber") }
            #expect(command.matched, "\(shell): \(command.screen)")
        }
    }

    @Test(arguments: Shell.allCases) func tabCompletesZkserverLogLevels(shell: Shell) async throws {
        try await Self.withShell(shell) { terminal in
            try terminal.type("zkserver --log-l")
            try terminal.press("Tab")
            let option = try terminal.waitFor { $0.contains("--log-level") }
            #expect(option.matched, "\(shell): \(option.screen)")
            try terminal.type("warn")
            try terminal.press("Tab")
            let level = try terminal.waitFor { $0.contains("--log-level warning") }
            #expect(level.matched, "\(shell): \(level.screen)")
        }
    }
}
