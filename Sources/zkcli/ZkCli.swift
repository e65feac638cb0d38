import ArgumentParser
import Dispatch
import LineEditor
import Logging
import ZooKeeper
import ZooKeeperServer
import ZooKeeperShell

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@main
struct ZkCli: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zkcli",
        abstract: "A ZooKeeper shell with zkCli.sh's commands, flags and output.",
        discussion: """
            With a command after the options, zkcli runs it and exits (one-shot). Without one, it reads \
            commands: interactively on a terminal (line editing, Tab completion of commands, options and live \
            znode paths, a history file), or one per line from a pipe or file, with no prompt.

            Exit codes: 0 when every command succeeded; otherwise 1 (a failed command) or 127 (an unknown \
            command), the code of the last command that failed. Unlike zkCli.sh, a failure in the middle of a \
            script is not hidden by later successes; --stop-on-error ends the script at the first failure.

            The history file is ~/.zkcli_history unless --history-file or ZKCLI_HISTORY_FILE says otherwise (an \
            empty value keeps no file).
            """,
        version: ShellVersion.current)

    @Option(
        name: .customLong("server", withSingleDash: true),
        help: ArgumentHelp(ProgramOptions.server.help, valueName: "host:port[,host:port...][/chroot]"))
    var server: String?

    @Option(
        name: .customLong("timeout", withSingleDash: true),
        help: ArgumentHelp(ProgramOptions.timeout.help, valueName: "ms"))
    var timeout = 30000

    @Flag(name: .customShort("r"), help: ArgumentHelp(ProgramOptions.readOnly.help))
    var readOnly = false

    @Flag(
        name: .customLong("waitforconnection", withSingleDash: true),
        help: ArgumentHelp(ProgramOptions.waitForConnection.help))
    var waitForConnection = false

    @Option(
        name: .customLong("client-configuration", withSingleDash: true),
        help: ArgumentHelp(ProgramOptions.clientConfiguration.help, valueName: "file"))
    var clientConfiguration: String?

    @Option(
        name: .customLong("history-file"),
        help: ArgumentHelp(ProgramOptions.historyFile.help, valueName: "file"))
    var historyFile: String?

    @Flag(name: .customLong("stop-on-error"), help: ArgumentHelp(ProgramOptions.stopOnError.help))
    var stopOnError = false

    @Flag(
        name: .customLong("embedded"),
        help: ArgumentHelp(ProgramOptions.embedded.help))
    var embedded = false

    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(ProgramOptions.dataDirectory.help, valueName: "dir"))
    var dataDirectory: String?

    @Argument(
        parsing: .captureForPassthrough,
        help: ArgumentHelp("A command to run instead of reading commands, e.g. get -s /a.", valueName: "command"))
    var command: [String] = []

    /// `zkcli --complete -- WORDS...` is answered before the argument parser sees the words, which are a
    /// half-typed command line.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--complete" { ProgramOptions.completeAndExit(Array(arguments.dropFirst())) }
        // The argument parser's reflection costs a few milliseconds at every start; the usual command lines
        // are read directly, and everything else (help, version, errors) goes to the parser.
        if let invocation = Invocation(simpleArguments: arguments) { invocation.run() }
        main(nil)
    }

    mutating func run() throws {
        // The command words are captured as they are, so the standard flags are looked for here.
        switch command.first {
        case "--help", "-h":
            standardOutput(Self.helpMessage() + "\n")
            return
        case "--version":
            standardOutput(ShellVersion.current + "\n")
            return
        case let word? where word.hasPrefix("-"):
            // zkCli.sh silently ignores unknown options; a typo here should not go unnoticed.
            throw ValidationError("Unknown option '\(word)'")
        default:
            break
        }
        if embedded && server != nil {
            throw ValidationError("--embedded starts its own server; leave out -server")
        }
        if dataDirectory != nil && !embedded {
            throw ValidationError("--data-dir is for the embedded server; add --embedded")
        }
        Invocation(
            server: server, timeout: timeout, readOnly: readOnly, waitForConnection: waitForConnection,
            clientConfiguration: clientConfiguration, historyFile: historyFile, stopOnError: stopOnError,
            embedded: embedded, dataDirectory: dataDirectory, command: command
        ).run()
    }
}

/// What one run of zkcli does, once its options are known.
struct Invocation {
    var server: String?
    var timeout = 30000
    var readOnly = false
    var waitForConnection = false
    var clientConfiguration: String?
    var historyFile: String?
    var stopOnError = false
    var embedded = false
    var dataDirectory: String?
    var command: [String] = []

    init(
        server: String?, timeout: Int, readOnly: Bool, waitForConnection: Bool, clientConfiguration: String?,
        historyFile: String?, stopOnError: Bool, embedded: Bool, dataDirectory: String?, command: [String]
    ) {
        self.server = server
        self.timeout = timeout
        self.readOnly = readOnly
        self.waitForConnection = waitForConnection
        self.clientConfiguration = clientConfiguration
        self.historyFile = historyFile
        self.stopOnError = stopOnError
        self.embedded = embedded
        self.dataDirectory = dataDirectory
        self.command = command
    }

    /// Reads the usual command lines as zkCli does (options up to the first word that is not one, then the
    /// command); nil for anything the argument parser should see: help, version, an unknown option, a missing
    /// or malformed value, `-opt=value` spellings, or a combination it rejects.
    init?(simpleArguments arguments: [String]) {
        var index = 0
        func value() -> String? {
            guard index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") else { return nil }
            defer { index += 2 }
            return arguments[index + 1]
        }
        while index < arguments.count, arguments[index].hasPrefix("-") {
            switch arguments[index] {
            case "-server":
                guard let text = value() else { return nil }
                server = text
            case "-timeout":
                guard let text = value(), let milliseconds = Int(text) else { return nil }
                timeout = milliseconds
            case "-client-configuration":
                guard let text = value() else { return nil }
                clientConfiguration = text
            case "--history-file":
                guard let text = value() else { return nil }
                historyFile = text
            case "--data-dir":
                guard let text = value() else { return nil }
                dataDirectory = text
            case "-r":
                readOnly = true
                index += 1
            case "-waitforconnection":
                waitForConnection = true
                index += 1
            case "--stop-on-error":
                stopOnError = true
                index += 1
            case "--embedded":
                embedded = true
                index += 1
            default:
                return nil
            }
        }
        if (embedded && server != nil) || (dataDirectory != nil && !embedded) { return nil }
        command = Array(arguments[index...])
    }

    func run() -> Never {
        let embeddedServer = embedded ? startEmbeddedServer() : nil
        let server = embeddedServer?.connectString ?? self.server ?? "localhost:2181"
        var settings = ShellConfiguration()
        settings.server = server
        settings.sessionTimeout = .milliseconds(timeout)
        settings.readOnly = readOnly
        // Apache's client configuration: the file's keys over CLIENT_JVMFLAGS' -D words. A bad file or store is
        // one line and exit 2, before any connection is tried.
        do {
            let properties = try ClientProperties.load(file: clientConfiguration)
            if let limit = properties.packetLimit { settings.packetLimit = limit }
            settings.tls = try properties.tlsSettings()
            _ = try settings.tls?.makeClientConfiguration()
        } catch {
            standardError("zkcli: \(error)\n")
            Glibc.exit(2)
        }
        let isTerminal = isatty(0) == 1 && isatty(1) == 1
        settings.interactive = command.isEmpty && isTerminal
        if waitForConnection {
            // Commands queued before the session is up wait as long as -waitforconnection does.
            settings.requestTimeoutWhileDisconnected = .milliseconds(timeout)
        }
        let shell: Shell
        do {
            shell = try Shell(configuration: settings, output: StandardStreams())
        } catch {
            standardError("\(error)\n")
            Glibc.exit(ExitCode.failure)
        }
        if settings.interactive {
            if let embeddedServer {
                let storage = dataDirectory.map { "data in \($0)" } ?? "in memory"
                standardOutput(
                    "Started the embedded zkserver on \(embeddedServer.connectString) (\(storage)); it stops when zkcli exits.\n"
                )
            }
            standardOutput("Connecting to \(server)\n")
        }
        if waitForConnection || (settings.tls != nil && !settings.interactive) {
            // Over TLS a handshake every server fails (an untrusted certificate, ...) is reported at once.
            let timeout = waitForConnection ? self.timeout : 5_000
            let connected = runBlocking { () -> String? in
                do {
                    try await shell.waitUntilConnected(timeout: .milliseconds(timeout))
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            if let failure = connected {
                standardError("Unable to connect to \(server): \(failure)\n")
                runBlocking { await shell.close() }
                Glibc.exit(ExitCode.failure)
            }
        }
        let status: Int32
        if !command.isEmpty {
            let words = command
            status = runBlocking { await shell.execute(arguments: words) }
        } else if settings.interactive, let editor = LineEditor(program: "zkcli", historyFile: historyPath()) {
            status = interact(shell, editor)
        } else {
            status = runScript(shell)
        }
        runBlocking { await shell.close() }
        if let embeddedServer { runBlocking { await embeddedServer.shutdown() } }
        Glibc.exit(status)
    }

    /// The bundled server on 127.0.0.1, on a port the system picks, for trying zkcli with nothing installed.
    private func startEmbeddedServer() -> ZooKeeperServer {
        var configuration = ServerConfiguration.ephemeral(tickTime: 2000)
        configuration.extendedTypesEnabled = true
        if let dataDirectory {
            // Durable: recovered from the directory now, kept there for the next start.
            configuration.dataDirectory = dataDirectory
        }
        // Its logs would interleave with the shell's output; errors surface through the shell's commands.
        let quiet = Logger(label: "zkserver", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            return try ZooKeeperServer.startBlocking(configuration, logger: quiet)
        } catch {
            standardError("zkcli: cannot start the embedded server: \(error)\n")
            Glibc.exit(ExitCode.failure)
        }
    }

    private func historyPath() -> String? {
        if let historyFile { return historyFile.isEmpty ? nil : historyFile }
        if let fromEnvironment = getenv("ZKCLI_HISTORY_FILE").map({ String(cString: $0) }) {
            return fromEnvironment.isEmpty ? nil : fromEnvironment
        }
        guard let home = getenv("HOME").map({ String(cString: $0) }), !home.isEmpty else { return nil }
        return home + "/.zkcli_history"
    }

    /// The terminal REPL: libedit reads on this thread; each line runs on the concurrency pool while this
    /// thread waits; watch events arriving meanwhile are printed above the prompt by the editor.
    private func interact(_ shell: Shell, _ editor: LineEditor) -> Int32 {
        standardOutput("Welcome to ZooKeeper!\nType help for the commands, Tab to complete, Ctrl-D to exit.\n")
        editor.prompt = { shell.prompt }
        editor.pendingOutput = { shell.takePendingOutput() }
        shell.setWakeHandler { [editor] in editor.wake() }
        let completion = shell.completionProvider()
        editor.completer = { text in
            let result = runBlocking { await completion.complete(text) }
            return LineEditor.Completion(insertion: result.insertion, candidates: result.candidates)
        }
        while true {
            switch editor.readLine() {
            case .line(let line):
                editor.addToHistory(line)
                // Ctrl-C while the command runs cancels it (a long `ls -R`, say) instead of ending the shell.
                runInterruptibly(interrupted: { editor.takeInterrupt() }) { await shell.execute(line: line) }
                if shell.quitRequested { return shell.exitStatus }
            case .interrupted:
                continue
            case .endOfInput:
                standardOutput("\n")
                return shell.exitStatus
            }
        }
    }

    /// Commands from a pipe or file, one per line, no prompt, no echo.
    private func runScript(_ shell: Shell) -> Int32 {
        var reader = LineReader(fd: 0)
        while let line = reader.next() {
            let code = runBlocking { await shell.execute(line: line) }
            if shell.quitRequested { break }
            if stopOnError && code != ExitCode.success { return code }
        }
        return shell.exitStatus
    }
}

/// Runs async work from synchronous code (the REPL thread) and waits for it.
@discardableResult
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    Task.detached {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// `runBlocking`, but the work is cancelled when `interrupted()` turns true (polled while waiting).
func runInterruptibly(interrupted: () -> Bool, _ body: @escaping @Sendable () async -> Int32) {
    let done = DispatchSemaphore(value: 0)
    let task = Task.detached {
        _ = await body()
        done.signal()
    }
    while done.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
        if interrupted() { task.cancel() }
    }
}

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Lines of a file descriptor, split as Java's `BufferedReader.readLine` does (`\n`, `\r` or `\r\n`).
struct LineReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var skipLineFeed = false

    init(fd: Int32) { self.fd = fd }

    mutating func next() -> String? {
        while true {
            if skipLineFeed, start < buffer.count {
                if buffer[start] == UInt8(ascii: "\n") { start += 1 }
                skipLineFeed = false
            }
            if let end = buffer[start...].firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                skipLineFeed = buffer[end] == UInt8(ascii: "\r")
                start = end + 1
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = String(decoding: buffer[start...], as: UTF8.self)
                start = buffer.count
                return line
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                atEnd = true
            } else {
                buffer.append(contentsOf: chunk[0..<count])
            }
        }
    }
}

func standardOutput(_ text: String) {
    StandardStreams().write(text, to: .output)
}

func standardError(_ text: String) {
    StandardStreams().write(text, to: .error)
}
