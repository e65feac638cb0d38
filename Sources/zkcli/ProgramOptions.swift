import ArgumentParser
import ZooKeeperShell

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// zkcli's options as the completion scripts offer them. The declarations in `ZkCli` take their help from
/// here; the documentation tests check that both list the same options.
enum ProgramOptions {
    typealias Option = CommandLineCompletion.ProgramOption

    static let server = Option("-server", value: .text, help: "The servers and optional chroot.")
    static let timeout = Option(
        "-timeout", value: .text, help: "The session timeout asked of the server, in milliseconds.")
    static let readOnly = Option("-r", help: "Accept a read-only server (reads only).")
    static let waitForConnection = Option(
        "-waitforconnection", help: "Wait (up to -timeout) for the session before running commands.")
    static let clientConfiguration = Option(
        "-client-configuration", value: .file, help: "A ZooKeeper client properties file (jute.maxbuffer is honoured).")
    static let historyFile = Option(
        "--history-file", value: .file, help: "Where to keep the interactive history (default ~/.zkcli_history).")
    static let stopOnError = Option("--stop-on-error", help: "Stop a script at the first command that fails.")
    static let embedded = Option(
        "--embedded",
        help: "Start the bundled zkserver in this process on a free loopback port and open the shell on it.")
    static let dataDirectory = Option(
        "--data-dir", value: .directory, help: "The embedded server's data directory (default: in memory).")
    /// The argument parser's own.
    static let standard = [
        Option("--version", help: "Show the version."),
        Option("-h", help: "Show help information."),
        Option("--help", help: "Show help information."),
    ]

    static let all =
        [
            server, timeout, readOnly, waitForConnection, clientConfiguration, historyFile, stopOnError, embedded,
            dataDirectory,
        ] + standard

    /// `zkcli --complete -- WORDS...`, run by the completion scripts: prints the reply and exits 0, whatever
    /// happens (a script must never see an error or a log line).
    static func completeAndExit(_ arguments: [String]) -> Never {
        let words = arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
        let completion = CommandLineCompletion(programOptions: all)
        let reply = runBlocking { await completion.complete(words) }
        StandardStreams().write(reply.text, to: .output)
        exit(0)
    }
}
