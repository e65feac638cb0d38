import Foundation
import ZooKeeper
import ZooKeeperTestSupport

/// Runs completion scripts in real shells, the way each shell calls them, and returns what they offer for
/// each command line (a line ending in a blank completes an empty word).
enum CompletionHarness {
    /// Separates the answers to several lines in one shell run.
    static let separator = "--8<--"

    /// The environment the shells run in: our binaries first on the PATH, no user configuration.
    static func environment() throws -> [String: String] {
        ["PATH": try Repository.binaries + ":/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    }

    /// bash: sources the script, and for each line sets COMP_LINE, COMP_POINT, COMP_WORDS and COMP_CWORD as
    /// bash does, calls the function that `complete -p` names, and prints COMPREPLY.
    static func bash(_ script: String, command: String, lines: [String], setCompLine: Bool = true) throws -> [[String]]
    {
        var program = """
            source '\(Repository.path(script))' || exit 3
            function=$(complete -p \(command) | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')
            ask() {
                local line=$1
                read -r -a COMP_WORDS <<<"$line"
                [[ $line == *' ' ]] && COMP_WORDS+=('')
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))

            """
        program +=
            setCompLine
            ? "    COMP_LINE=$line; COMP_POINT=${#line}\n" : "    unset COMP_LINE COMP_POINT\n"
        program += """
                COMPREPLY=()
                "$function"
                printf '%s\\n' "${COMPREPLY[@]}" | sort
                echo '\(separator)'
            }

            """
        for line in lines { program += "ask \(shellQuoted(line))\n" }
        return try answers(try Tool.bash, ["--norc", "--noprofile", "-c", program])
    }

    /// fish: `complete -C` for each line, after sourcing the script (values only, descriptions dropped).
    static func fish(_ script: String, lines: [String]) throws -> [[String]] {
        var program = "source \(shellQuoted(Repository.path(script))); or exit 3\n"
        for line in lines {
            program += "complete -C \(shellQuoted(line)) | string replace -r '\\t.*' '' | sort; echo '\(separator)'\n"
        }
        return try answers(try Tool.fish, ["--no-config", "-c", program])
    }

    /// zsh, without a terminal: the script is autoloaded as compinit would load it and run with `words`,
    /// `CURRENT` and `PREFIX` set as the completion system sets them; `_describe` and `_files`, the
    /// completion system's functions that it calls, are replaced by ones that print what they are given.
    static func zshCapturing(_ script: String, lines: [String]) throws -> [[String]] {
        let directory = URL(fileURLWithPath: Repository.path(script)).deletingLastPathComponent().path
        let function = URL(fileURLWithPath: script).lastPathComponent
        var program = """
            fpath=(\(shellQuoted(directory)) $fpath)
            autoload -Uz \(function)
            _describe() {
                local entry value
                for entry in "${(@P)${@[-1]}}"; do
                    # The value ends at the first colon that is not escaped.
                    value=${entry//\\\\:/$'\\1'}
                    value=${value%%:*}
                    print -r -- "${value//$'\\1'/:}"
                done
            }
            _files() { print -r -- "(files $*)" }
            ask() {
                words=(${(z)1})
                [[ $1 == *' ' ]] && words+=('')
                CURRENT=${#words}
                PREFIX=$words[CURRENT]
                \(function) | sort
                print -r -- '\(separator)'
            }

            """
        for line in lines { program += "ask \(shellQuoted(line))\n" }
        return try answers(try Tool.zsh, ["-f", "-c", program])
    }

    private static func answers(_ shell: String, _ arguments: [String]) throws -> [[String]] {
        let run = try Programs.run(shell, arguments, environment: try environment(), timeout: 120)
        guard run.exitCode == 0 else {
            throw HarnessError("\(shell) failed (\(run.exitCode)): \(run.error)")
        }
        var answers: [[String]] = [[]]
        for line in run.output.components(separatedBy: "\n") {
            if line == separator {
                answers.append([])
            } else if !line.isEmpty {
                answers[answers.count - 1].append(line)
            }
        }
        answers.removeLast()
        return answers
    }

    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// A tree of znodes under a root of its own on the shared test server: `<root>/alpha/x`,
    /// `<root>/alpine`, `<root>/beta`, `<root>/host:1`.
    static func tree() async throws -> (server: String, root: String) {
        let server = try SharedTestServers.connectString(.zkserver)
        let root = SharedTestServers.uniqueRoot("completion")
        let client = try ZooKeeperClient(connectString: server)
        for path in [root, root + "/alpha", root + "/alpha/x", root + "/alpine", root + "/beta", root + "/host:1"] {
            _ = try await client.create(path)
        }
        await client.close()
        return (server, root)
    }
}
