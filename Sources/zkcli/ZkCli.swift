import CConcurrencyHook
import Dispatch
import LineEditor
import Logging
import NIOCore
import NIOPosix
import ZooKeeper
import ZooKeeperServer
import ZooKeeperShell

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@main
enum ZkCli {
    /// `zkcli --complete -- WORDS...` is answered before the options are read: the words are a half-typed command
    /// line. The rest is read by `ProgramOptions.read`, by hand: swift-argument-parser is not linked (its
    /// reflection at every start, and the protocol conformances of its modules and of FoundationEssentials, which
    /// every dynamic cast of a one-shot scanned, cost more than the whole request; BENCHMARKS.md, issue 17).
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--complete" { completeAndExit(Array(arguments.dropFirst())) }
        switch ProgramOptions.read(arguments) {
        case .run(let settings):
            Invocation(settings).run()
        case .help:
            standardOutput(ProgramOptions.helpText)
            Glibc.exit(ExitCode.success)
        case .version:
            standardOutput(ShellVersion.current + "\n")
            Glibc.exit(ExitCode.success)
        case .usageError(let message, let help):
            standardError(ProgramOptions.usageErrorText(message, help: help))
            Glibc.exit(ExitCode.usage)
        }
    }

    /// `zkcli --complete -- WORDS...`, run by the completion scripts: prints the reply and exits 0, whatever
    /// happens (a script must never see an error or a log line).
    static func completeAndExit(_ arguments: [String]) -> Never {
        let words = arguments.first == "--" ? Array(arguments.dropFirst()) : arguments
        let completion = CommandLineCompletion()
        let reply = runBlocking { await completion.complete(words) }
        StandardStreams().write(reply.text, to: .output)
        Glibc.exit(0)
    }
}

/// What one run of zkcli does, once its options are known.
struct Invocation {
    let settings: ProgramSettings

    init(_ settings: ProgramSettings) {
        self.settings = settings
    }

    func run() -> Never {
        if !settings.command.isEmpty && !settings.embedded { runOneShotOnThisThread() }
        // One session needs one event loop; NIO's default is a thread per core, each started (and its stack
        // faulted in) before the first connection. The embedded server makes its own one-thread group.
        NIOSingletons.groupLoopCountSuggestion = 1
        if !settings.command.isEmpty {
            // A one-shot's async work runs on the session's event loop thread instead of on the concurrency pool,
            // whose threads (four, with Dispatch's) would start only to hand work to that loop. (NIO's own way to do
            // this looks the hook up with dlsym, which a program linked with the static runtime does not allow.)
            oneShotLoop = MultiThreadedEventLoopGroup.singleton.next()
            _ = zk_install_global_enqueue(runOnEventLoop)
        }
        let embeddedServer = settings.embedded ? startEmbeddedServer() : nil
        let server = embeddedServer?.connectString ?? settings.server ?? "localhost:2181"
        let configuration = shellConfiguration(server: server)
        let shell: Shell
        do {
            shell = try Shell(configuration: configuration, output: StandardStreams())
        } catch {
            standardError("\(error)\n")
            Glibc.exit(ExitCode.failure)
        }
        if configuration.interactive {
            if let embeddedServer {
                let storage = settings.dataDirectory.map { "data in \($0)" } ?? "in memory"
                standardOutput(
                    "Started the embedded zkserver on \(embeddedServer.connectString) (\(storage)); it stops when zkcli exits.\n"
                )
            }
            standardOutput("Connecting to \(server)\n")
        }
        if let failure = runBlocking({ await connectionFailure(shell, configuration) }) {
            standardError("Unable to connect to \(server): \(failure)\n")
            runBlocking { await shell.close() }
            Glibc.exit(ExitCode.failure)
        }
        let status: Int32
        if !settings.command.isEmpty {
            let words = settings.command
            status = runBlocking { await shell.execute(arguments: words) }
        } else if configuration.interactive, let editor = LineEditor(program: "zkcli", historyFile: historyPath()) {
            status = interact(shell, editor)
        } else {
            status = runScript(shell)
        }
        runBlocking { await shell.close() }
        if let embeddedServer { runBlocking { await embeddedServer.shutdown() } }
        Glibc.exit(status)
    }

    /// A one-shot on a server (`zkcli -server H get /x`): this thread becomes the session's event loop and runs the
    /// command's tasks too, then exits. No other thread starts: NIO's singleton group would start one for its loop
    /// (and a malloc arena with it) while this one only waited, and every hand-over between the two is a wake-up
    /// of another core (BENCHMARKS.md, issue 17).
    private func runOneShotOnThisThread() -> Never {
        var configuration = shellConfiguration(server: settings.server ?? "localhost:2181")
        let settings = self.settings
        MultiThreadedEventLoopGroup.withCurrentThreadAsEventLoop { loop in
            oneShotLoop = loop
            _ = zk_install_global_enqueue(runOnEventLoop)
            configuration.eventLoopGroup = loop
            let configuration = configuration
            Task { Glibc.exit(await Invocation(settings).runOneShot(configuration)) }
        }
        fatalError("the event loop of a one-shot stopped before the command ended")
    }

    /// The one-shot's session, on its event loop: connect, run the command, end the session; its exit status.
    private func runOneShot(_ configuration: ShellConfiguration) async -> Int32 {
        let shell: Shell
        do {
            shell = try Shell(configuration: configuration, output: StandardStreams())
        } catch {
            standardError("\(error)\n")
            return ExitCode.failure
        }
        if let failure = await connectionFailure(shell, configuration) {
            standardError("Unable to connect to \(configuration.server): \(failure)\n")
            await shell.close()
            return ExitCode.failure
        }
        let status = await shell.execute(arguments: settings.command)
        await shell.close()
        return status
    }

    /// With -waitforconnection, or over TLS or with a SASL login outside the REPL, the session is awaited before the
    /// first command: over TLS a handshake every server fails (an untrusted certificate, ...) is reported at once,
    /// and so is a SASL login the server refuses. Nil when connected or not awaited; else why not.
    private func connectionFailure(_ shell: Shell, _ configuration: ShellConfiguration) async -> String? {
        guard
            settings.waitForConnection
                || ((configuration.tls != nil || configuration.sasl != nil) && !configuration.interactive)
        else { return nil }
        let timeout = settings.waitForConnection ? settings.timeout : 5_000
        do {
            try await shell.waitUntilConnected(timeout: .milliseconds(timeout))
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The shell's settings from the command line and the client configuration (exits on a bad one).
    private func shellConfiguration(server: String) -> ShellConfiguration {
        var configuration = ShellConfiguration()
        configuration.server = server
        configuration.sessionTimeout = .milliseconds(settings.timeout)
        configuration.readOnly = settings.readOnly
        configuration.outputFormat = settings.outputFormat
        applyClientConfiguration(settings.clientConfiguration, to: &configuration)
        if let text = getenv("ZKCLI_READ_SESSIONS").map({ String(cString: $0) }) {
            guard let count = Int(text), (0...16).contains(count) else {
                standardError("zkcli: ZKCLI_READ_SESSIONS must be a number from 0 to 16, not '\(text)'\n")
                Glibc.exit(2)
            }
            configuration.readSessions = count
        }
        let isTerminal = isatty(0) == 1 && isatty(1) == 1
        configuration.interactive = settings.command.isEmpty && isTerminal
        if settings.waitForConnection {
            // Commands queued before the session is up wait as long as -waitforconnection does.
            configuration.requestTimeoutWhileDisconnected = .milliseconds(settings.timeout)
        }
        return configuration
    }

    /// Apache's client configuration: the `-client-configuration` file's keys over the `-D` words of
    /// CLIENT_JVMFLAGS (TLS, jute.maxbuffer, the JAAS file of a SASL login). A bad file, store, password or
    /// setting is one line and status 2, before any connection is tried; so is an unreadable JAAS file, while
    /// a JAAS file that does not parse or cannot be used is one line and status 1 (a failed login's status).
    private func applyClientConfiguration(_ file: String?, to configuration: inout ShellConfiguration) {
        let properties: ClientProperties
        do {
            properties = try ClientProperties.load(file: file)
            if let limit = properties.packetLimit { configuration.packetLimit = limit }
            configuration.tls = try properties.tlsSettings()
            _ = try configuration.tls?.makeClientConfiguration()
        } catch {
            standardError("zkcli: \(error)\n")
            Glibc.exit(2)
        }
        do {
            configuration.sasl = try properties.saslCredentials()
        } catch {
            standardError("zkcli: \(error)\n")
            Glibc.exit(error.kind == .unreadable ? 2 : ExitCode.failure)
        }
        if configuration.sasl == nil, properties.isSASLEnabled, let jaas = properties.jaasConfigurationFile {
            // As Apache's client: no such section means no SASL login, said once.
            standardError("zkcli: \(jaas) has no section '\(properties.saslClientSection)': connecting without SASL\n")
        }
    }

    /// The bundled server on 127.0.0.1, on a port the system picks, for trying zkcli with nothing installed.
    private func startEmbeddedServer() -> ZooKeeperServer {
        var configuration = ServerConfiguration.ephemeral(tickTime: 2000)
        configuration.extendedTypesEnabled = true
        if let dataDirectory = settings.dataDirectory {
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
        if let historyFile = settings.historyFile { return historyFile.isEmpty ? nil : historyFile }
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
                // A session the user ends is a success, whatever the last command did (scripts keep the status).
                if shell.quitRequested { return ExitCode.success }
            case .interrupted:
                continue
            case .endOfInput:
                standardOutput("\n")
                return ExitCode.success
            }
        }
    }

    /// Commands from a pipe or file, one per line, no prompt, no echo.
    private func runScript(_ shell: Shell) -> Int32 {
        var reader = LineReader(fd: 0)
        while let line = reader.next() {
            let code = runBlocking { await shell.execute(line: line) }
            if shell.quitRequested { break }
            if settings.stopOnError && code != ExitCode.success { return code }
        }
        return shell.exitStatus
    }
}

/// The event loop that runs a one-shot's tasks: the one the session's connection uses. Set once, before the first
/// task starts (`runOnEventLoop` is installed after it).
nonisolated(unsafe) private var oneShotLoop: (any EventLoop)?

/// Swift concurrency's global executor, for a one-shot: each job runs on `oneShotLoop`, in order.
private let runOnEventLoop: @convention(c) (UnsafeMutableRawPointer?) -> Void = { job in
    let unownedJob = unsafeBitCast(job, to: UnownedJob.self)
    let loop = oneShotLoop!
    loop.execute { unownedJob.runSynchronously(on: loop.executor.asUnownedSerialExecutor()) }
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
