import Foundation
import ZooKeeperTestSupport

/// A real terminal: zkcli running in a detached tmux session on a private tmux server, typed at with
/// send-keys and read with capture-pane. The tmux server is killed when the session is closed or dropped.
final class TerminalSession: @unchecked Sendable {
    let socket: String
    private var closed = false

    /// Runs `command` (a shell command line) in a 120x40 terminal. When the command ends, `EXIT=<code>` is
    /// printed and the pane stays, so that tests can read the last screen.
    init(_ command: String) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") else {
            throw HarnessError("tmux is not installed; install it with: sudo apt-get install -y tmux")
        }
        socket = "zkcli-test-\(UInt32.random(in: 0...UInt32.max))"
        let script = "\(command); echo EXIT=$?; sleep 3600"
        try tmux(["new-session", "-d", "-x", "120", "-y", "40", script])
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        _ = try? tmux(["kill-server"])
        // The server leaves its socket file behind.
        let directory = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
        unlink("\(directory)/tmux-\(getuid())/\(socket)")
    }

    @discardableResult
    private func tmux(_ arguments: [String]) throws -> String {
        let run = try Programs.run("/usr/bin/tmux", ["-L", socket, "-f", "/dev/null"] + arguments, timeout: 30)
        guard run.exitCode == 0 else {
            throw HarnessError("tmux \(arguments.joined(separator: " ")) failed: \(run.error)")
        }
        return run.output
    }

    /// Types `text` literally.
    func type(_ text: String) throws {
        try tmux(["send-keys", "-l", text])
    }

    /// Presses keys by tmux name: `Enter`, `Tab`, `Up`, `C-c`, `C-d`, `C-u`.
    func press(_ keys: String...) throws {
        try tmux(["send-keys"] + keys)
    }

    /// The visible screen, trailing blank lines removed.
    func screen() throws -> String {
        var lines = try tmux(["capture-pane", "-p"]).components(separatedBy: "\n")
        while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    /// The last non-blank line of the screen (where the prompt and the line being typed are).
    func lastLine() throws -> String {
        try screen().components(separatedBy: "\n").last ?? ""
    }

    /// Waits (bounded) until the screen satisfies `condition`; returns the screen either way.
    @discardableResult
    func waitFor(timeout: Double = 30, _ condition: (String) -> Bool) throws -> (matched: Bool, screen: String) {
        var last = ""
        let matched = TestEnvironment.waitUntil(timeout: timeout) {
            last = (try? screen()) ?? ""
            return condition(last)
        }
        return (matched, matched ? last : (try? screen()) ?? last)
    }
}
