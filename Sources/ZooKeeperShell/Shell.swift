import NIOCore
import Synchronization
import ZooKeeper
import ZooKeeperProtocol

/// How the shell connects and behaves.
public struct ShellConfiguration: Sendable {
    /// `host:port[,host:port...][/chroot]`, as given to `-server`; the prompt shows it verbatim.
    public var server = "localhost:2181"
    /// `-timeout`: the session timeout asked of the server.
    public var sessionTimeout: Duration = .seconds(30)
    /// `-r`: accept a read-only server.
    public var readOnly = false
    /// How long a command waits for a connection before failing with ConnectionLoss.
    public var requestTimeoutWhileDisconnected: Duration? = .seconds(5)
    /// The largest packet sent or accepted (jute.maxbuffer).
    public var packetLimit: Int?
    /// TLS for the connection (from `-client-configuration` and `CLIENT_JVMFLAGS`); nil for plaintext.
    public var tls: TLSSettings?
    /// A SASL login (DIGEST-MD5 or Kerberos), from the JAAS file the client configuration names.
    public var sasl: SASLCredentials?
    /// Interactive shells print connection changes (`WATCHER::` blocks of type None); scripts and one-shot
    /// commands do not, so that their output holds only results.
    public var interactive = false
    /// How results are printed (`-o`): zkCli's text, or JSON; a command's own `-o` wins.
    public var outputFormat = OutputFormat.text
    /// How many sessions a walk that reads ACLs (`export`, `diff`, `cp --acl`) may open beside the shell's, to
    /// spread its getACLs (0: none; `ZKCLI_READ_SESSIONS`).
    public var readSessions = 3
    /// What `version` prints after `ZooKeeper CLI version: `.
    public var versionText = "swift-zookeeper \(ShellVersion.current)"
    /// The event loops the session runs on; nil for NIO's singleton group.
    public var eventLoopGroup: (any EventLoopGroup)?

    public init() {}
}

public enum ShellVersion {
    public static let current = "0.1.0"
}

/// Exit codes, as zkCli uses them.
public enum ExitCode {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let commandNotFound: Int32 = 127
    /// zkcli's own options were misused (sysexits' EX_USAGE, as swift-argument-parser reported it before).
    public static let usage: Int32 = 64
    /// A command stopped by Ctrl-C (128 + SIGINT, as shells report it).
    public static let interrupted: Int32 = 130
    /// `lock -t`, `leader -t`, `barrier -t`: the time ran out before the lock, the leadership or the other members
    /// came (sysexits' EX_TEMPFAIL: try again later).
    public static let timedOut: Int32 = 75
    /// `lock`, `leader`: the lock or the leadership was lost while the program ran (the session expired, or the
    /// connection was down for the whole session timeout); the program was stopped.
    public static let holdLost: Int32 = 76
}

/// A command that did not succeed: the message for stderr and the exit code.
struct CommandFailure: Error {
    var message: String
    var exitCode: Int32 = ExitCode.failure
    /// Malformed input (a bad path, an ACL with no valid entry): the command's usage follows the message.
    var showsUsage = false
    /// The ZooKeeper error behind it, if one is (its name and code go into JSON errors).
    var zooKeeperError: ZooKeeperError?
    /// The name of a JSON error that is neither ZooKeeper's nor one of the shell's usual ones.
    var name: String?
    /// More fields for the JSON error (an interrupted import's progress).
    var details: [(String, JSONValue)] = []

    init(_ message: String, exitCode: Int32 = ExitCode.failure, showsUsage: Bool = false) {
        self.message = message
        self.exitCode = exitCode
        self.showsUsage = showsUsage
    }

    /// zkCli's `CliWrapperException` text for a ZooKeeper error.
    init(_ error: ZooKeeperError) {
        // A bad path, or an ACL the client refuses before sending (no valid entry; the server's refusals name a
        // path), is malformed input.
        let malformed = error.code == .invalidPath || (error.code == .invalidACL && error.path == nil)
        self.init(Shell.message(for: error), showsUsage: malformed)
        zooKeeperError = error
    }

    /// A failure whose message was already printed.
    static let silent = CommandFailure("")

    /// The failure as a JSON error object: the ZooKeeper error's name and code when there is one, else a name
    /// for the shell's own failures (and a null code).
    var json: JSONValue {
        let name: String
        if let given = self.name {
            name = given
        } else if let zooKeeperError {
            name = zooKeeperError.code.name
        } else {
            switch exitCode {
            case ExitCode.commandNotFound: name = "COMMANDNOTFOUND"
            case ExitCode.interrupted: name = "INTERRUPTED"
            default: name = "BADCOMMAND"
            }
        }
        return .object(
            [
                ("error", .string(name)),
                ("code", zooKeeperError.map { .number($0.code.rawValue) } ?? .null),
                ("path", .string(zooKeeperError?.path)),
                ("message", .string(message)),
            ] + details)
    }
}

/// The zkCli-compatible shell: one session, its command counter and history, and every command.
///
/// Use it from one task at a time (a REPL runs one command after another). It prints through `ShellOutput`, so
/// it needs no terminal: `execute(line:)` for a typed or piped line, `execute(arguments:)` for a one-shot
/// command given as program arguments.
public final class Shell: @unchecked Sendable {
    public let configuration: ShellConfiguration
    let output: any ShellOutput
    let events: EventPrinter
    /// The current session's client.
    public private(set) var client: ZooKeeperClient
    /// The connect string the prompt shows (`-server`, or the last `connect` argument).
    public private(set) var host: String
    /// zkCli's N: the number of lines run so far.
    public private(set) var commandCount = 0
    /// The lines run, by number.
    var history: [Int: String] = [:]
    /// The exit code of the last command.
    public private(set) var lastExitCode: Int32 = ExitCode.success
    /// 0 when every command so far succeeded, else the code of the last one that failed.
    public private(set) var exitStatus: Int32 = ExitCode.success
    /// Set by `quit` / `exit`.
    public internal(set) var quitRequested = false
    /// Where relative paths start from, once `cd` has been used (until then paths must be absolute, as in zkCli).
    var workingDirectory: String?
    /// How the running command prints (its `-o`, else the program's).
    private(set) var format: OutputFormat

    /// Starts connecting to `configuration.server` (without waiting).
    public init(configuration: ShellConfiguration, output: any ShellOutput) throws(ZooKeeperError) {
        self.configuration = configuration
        self.output = output
        self.format = configuration.outputFormat
        self.events = EventPrinter(
            output: output, interactive: configuration.interactive, format: configuration.outputFormat)
        self.host = configuration.server
        self.client = try Self.makeClient(configuration.server, configuration: configuration, events: events)
    }

    private static func makeClient(
        _ connectString: String, configuration: ShellConfiguration, events: EventPrinter
    ) throws(ZooKeeperError) -> ZooKeeperClient {
        var settings = clientConfiguration(configuration)
        settings.defaultEventHandler = { event in events.deliver(event) }
        return try ZooKeeperClient(connectString: connectString, configuration: settings)
    }

    /// How the shell's sessions connect and authenticate (without its event handler).
    private static func clientConfiguration(_ configuration: ShellConfiguration) -> ZooKeeperClient.Configuration {
        var settings = ZooKeeperClient.Configuration()
        settings.sessionTimeout = configuration.sessionTimeout
        settings.canBeReadOnly = configuration.readOnly
        settings.requestTimeoutWhileDisconnected = configuration.requestTimeoutWhileDisconnected
        if let limit = configuration.packetLimit { settings.packetLimit = limit }
        settings.tls = configuration.tls
        settings.sasl = configuration.sasl
        settings.eventLoopGroup = configuration.eventLoopGroup
        return settings
    }

    /// Sessions like the current one (its settings and `addauth` credentials) for a walk to read ACLs on.
    func readSessions() -> ReadSessions {
        ReadSessions(
            like: client, configuration: Self.clientConfiguration(configuration), count: configuration.readSessions)
    }

    /// `[zk: host(STATE) N] `, and the working directory after a `cd`: `[zk: host(STATE) N /app] `.
    public var prompt: String {
        let directory = workingDirectory.map { " " + $0 } ?? ""
        return "[zk: \(host)(\(events.promptState(client))) \(commandCount)\(directory)] "
    }

    /// Called (from any thread) when a watch event is waiting to be printed by `takePendingOutput()`. Only used
    /// in interactive mode, where the line editor owns the screen between commands.
    public func setWakeHandler(_ handler: (@Sendable () -> Void)?) {
        events.wake.withLock { $0 = handler }
    }

    /// Watch events waiting to be printed (interactive mode).
    public func takePendingOutput() -> String? {
        events.takePending()
    }

    /// Waits until the session is established (`-waitforconnection`).
    public func waitUntilConnected(timeout: Duration) async throws(ZooKeeperError) {
        try await client.waitUntilConnected(timeout: timeout)
    }

    /// Ends the session (its ephemeral nodes go at once) and prints what is still queued.
    public func close() async {
        await client.close()
        events.flush()
    }

    // MARK: Running commands

    /// Runs a line typed at the prompt or read from a script: tokenized with zkCli's rules, numbered and kept
    /// in the history. A blank line does nothing. Returns the exit code of the command.
    @discardableResult
    public func execute(line: String) async -> Int32 {
        // zkCli runs a blank line as the command " " (usage and "Command not found"); we skip it.
        guard !line.unicodeScalars.allSatisfy(CommandLineTokenizer.isSpace) else { return lastExitCode }
        let words = CommandLineTokenizer.tokenize(line)
        history[commandCount] = line
        let code = await run(words)
        commandCount += 1
        return code
    }

    /// Runs a one-shot command given as program arguments (no tokenizing, no history).
    @discardableResult
    public func execute(arguments: [String]) async -> Int32 {
        await run(arguments)
    }

    private func run(_ words: [String]) async -> Int32 {
        events.setCommandRunning(true)
        events.flush()
        format = configuration.outputFormat
        var code = ExitCode.success
        do {
            try await dispatch(words)
        } catch is QuitSignal {
            code = lastExitCode
        } catch is CancellationError {
            events.flush()
            report(CommandFailure("Interrupted", exitCode: ExitCode.interrupted))
            code = ExitCode.interrupted
        } catch let failure as CommandFailure {
            events.flush()
            report(failure)
            code = failure.exitCode
        } catch {
            report(CommandFailure("\(error)"))
            code = ExitCode.failure
        }
        events.flush()
        events.setCommandRunning(false)
        record(code)
        return code
    }

    /// A failure on stderr: zkCli's message, or one JSON object.
    private func report(_ failure: CommandFailure) {
        switch format {
        case .text:
            if !failure.message.isEmpty { output.write(failure.message + "\n", to: .error) }
        case .json:
            // A failure whose text was already printed (a note on stdout) still gets its JSON error.
            output.write(failure.json.text + "\n", to: .error)
        }
    }

    private func record(_ code: Int32) {
        lastExitCode = code
        if code != ExitCode.success { exitStatus = code }
    }

    /// Ends the session on `quit`: the exit code stays that of the commands before.
    func quit() async throws -> Never {
        await close()
        quitRequested = true
        throw QuitSignal()
    }

    // MARK: Output

    /// A result, in the running command's format.
    func emit(_ result: CommandResult) {
        events.flush()
        output.write(result.rendered(as: format), to: .output)
    }

    /// A line of text on stdout.
    func out(_ text: String) {
        events.flush()
        output.write(text + "\n", to: .output)
    }

    /// Text as it is on stdout (listings that end in their own newline).
    func write(_ text: String) {
        events.flush()
        output.write(text, to: .output)
    }

    /// A note or error on stderr.
    func err(_ text: String) {
        events.flush()
        output.write(text + "\n", to: .error)
    }

    /// A note on stderr that only zkCli's text has (JSON output says the same in its result).
    func note(_ text: String) {
        if format == .text { err(text) }
    }

    /// The usage listing, as zkCli prints it (to stderr) for an unknown command.
    public static var usageListing: String { CommandRegistry.usageListing }

    // MARK: Dispatch

    /// Runs the words as a command: found by name or alias in the registry, checked for a session, parsed with
    /// the command's options.
    func dispatch(_ words: [String]) async throws {
        guard let name = words.first else { return }
        guard let (command, alias) = CommandRegistry.command(named: name) else {
            if format == .text { output.write(CommandRegistry.usageListing, to: .error) }
            throw CommandFailure("Command not found: Command not found \(name)", exitCode: ExitCode.commandNotFound)
        }
        let spec = command.spec
        if !spec.isBuiltIn && spec.needsSession && !client.state.isAlive {
            guard format == .json else {
                out("Not connected")
                throw CommandFailure.silent
            }
            throw CommandFailure("Not connected")
        }
        var words = words
        if let alias {
            if let note = alias.deprecationNote { err(note) }
            words = [spec.name] + alias.impliedArguments + words.dropFirst()
        }
        do {
            var invocation = try CommandInvocation(spec: spec, words: words, defaultFormat: format)
            format = invocation.format
            if workingDirectory != nil { try invocation.resolvePaths(resolve) }
            try await command.run(invocation, in: self)
        } catch var failure as CommandFailure where failure.showsUsage {
            // zkCli stops at the message; the usage line says what was expected.
            failure.message += "\n" + spec.usage
            failure.showsUsage = false
            throw failure
        }
    }

    /// Starts a new session with `connectString`, after checking it, in place of the current one.
    func connect(_ connectString: String) async throws {
        // Check the new string before giving up the current session.
        do {
            _ = try ConnectString(connectString)
        } catch {
            throw CommandFailure("\(error)")
        }
        if client.state.isAlive { await client.close() }
        events.flush()
        host = connectString
        events.resetConnectionState()
        do {
            client = try Self.makeClient(connectString, configuration: configuration, events: events)
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    // MARK: Helpers for commands

    /// Runs a client call, turning its error into zkCli's message.
    func zk<T>(_ body: () async throws(ZooKeeperError) -> T) async throws -> T {
        // A command cancelled by Ctrl-C stops before its next request.
        try Task.checkCancellation()
        do {
            return try await body()
        } catch {
            throw CommandFailure(error)
        }
    }

    /// zkCli's deprecated `cmd path watch` forms: with more than one argument, the note goes to stderr, the third
    /// word becomes `-w` and the words are parsed again.
    func upgradingDeprecatedWatch(_ invocation: CommandInvocation, use replacement: String) throws
        -> CommandInvocation
    {
        guard invocation.arguments.count > 2 else { return invocation }
        err("'\(invocation.spec.name) path [watch]' has been deprecated. Please use '\(replacement)' instead.")
        var rewritten = invocation
        rewritten.words[2] = "-w"
        rewritten.line = try invocation.reparsed(rewritten.words)
        // The path as resolved from the working directory.
        rewritten.line.arguments[1] = invocation.arguments[1]
        return rewritten
    }

    /// `path` made absolute from the working directory (`/` before any `cd`), with `.` and `..` worked out; an
    /// absolute path is taken as it is.
    func resolve(_ path: String) throws -> String {
        // Another cluster's path (`zk://host:port/path`) is absolute.
        if path.hasPrefix(ZnodeLocation.scheme) { return path }
        if path.hasPrefix("/") && !path.split(separator: "/").contains(where: { $0 == "." || $0 == ".." }) {
            return path
        }
        var components = path.hasPrefix("/") ? [] : (workingDirectory ?? "/").split(separator: "/").map(String.init)
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(String(component))
            }
        }
        return "/" + components.joined(separator: "/")
    }

    /// An optional `-v version` value.
    func version(_ invocation: CommandInvocation) throws -> Int32 {
        guard let text = invocation.value("v") else { return -1 }
        guard let version = Self.javaInt(text) else {
            throw CommandFailure("-v argument must be an int value\n" + invocation.spec.usage)
        }
        return version
    }

    /// Java's `Integer.decode`: decimal, `0x`/`0X`/`#` hex, leading-zero octal, optional sign.
    static func javaDecode(_ text: String) -> Int32? {
        var body = Substring(text)
        var negative = false
        if body.hasPrefix("-") {
            negative = true
            body = body.dropFirst()
        } else if body.hasPrefix("+") {
            body = body.dropFirst()
        }
        var radix = 10
        if body.hasPrefix("0x") || body.hasPrefix("0X") {
            radix = 16
            body = body.dropFirst(2)
        } else if body.hasPrefix("#") {
            radix = 16
            body = body.dropFirst()
        } else if body.hasPrefix("0") && body.count > 1 {
            radix = 8
            body = body.dropFirst()
        }
        guard !body.isEmpty, !body.hasPrefix("-"), !body.hasPrefix("+"),
            let magnitude = Int64(body, radix: radix)
        else { return nil }
        return Int32(exactly: negative ? -magnitude : magnitude)
    }

    /// Java's `Integer.parseInt`.
    static func javaInt(_ text: String) -> Int32? {
        Int32(text)
    }

    /// Java's `Long.parseLong`.
    static func javaLong(_ text: String) -> Int64? {
        Int64(text)
    }

    /// zkCli's `CliWrapperException` text for a ZooKeeper error.
    static func message(for error: ZooKeeperError) -> String {
        let path = error.path ?? "null"
        switch error.code {
        case .noNode: return "Node does not exist: \(path)"
        case .noChildrenForEphemerals: return "Ephemerals cannot have children: \(path)"
        case .nodeExists: return "Node already exists: \(path)"
        case .notEmpty: return "Node not empty: \(path)"
        case .notReadOnly: return "Not a read-only call: \(path)"
        case .invalidACL: return "Acl is not valid : \(path)"
        case .noAuth: return "Insufficient permission : \(path)"
        case .badArguments: return "Arguments are not valid : \(path)"
        case .badVersion: return "version No is not valid : \(path)"
        case .reconfigInProgress:
            return "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
        case .newConfigNoQuorum:
            return
                "No quorum of new config is connected and up-to-date with the leader of last commmitted config - try invoking reconfiguration after new servers are connected and synced"
        case .quotaExceeded: return "Quota has exceeded : \(path)"
        default: return error.description
        }
    }
}

/// Thrown by `quit` to end the command without a message.
struct QuitSignal: Error {}
