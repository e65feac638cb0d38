import Synchronization
import ZooKeeper

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
    /// Interactive shells print connection changes (`WATCHER::` blocks of type None); scripts and one-shot
    /// commands do not, so that their output holds only results.
    public var interactive = false
    /// What `version` prints after `ZooKeeper CLI version: `.
    public var versionText = "swift-zookeeper \(ShellVersion.current)"

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
    /// A command stopped by Ctrl-C (128 + SIGINT, as shells report it).
    public static let interrupted: Int32 = 130
}

/// A command that did not succeed: the message for stderr and the exit code.
struct CommandFailure: Error {
    var message: String
    var exitCode: Int32 = ExitCode.failure
    /// Malformed input (a bad path, an ACL with no valid entry): the command's usage follows the message.
    var showsUsage = false

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
    }
}

/// Watch events waiting to be printed, and the rule for when they may be printed directly.
final class EventPrinter: Sendable {
    private struct State {
        /// The connection state told by the latest connection event: the client's own snapshot is updated just
        /// after the event is delivered, and a prompt redrawn for the event must already show the new state.
        var connectionState: ConnectionState?
        var printWatches = true
        var pending: [String] = []
        var commandRunning = false
    }
    private let state = Mutex(State())
    let output: any ShellOutput
    let interactive: Bool
    /// Called when text is queued while the terminal's line editor owns the screen.
    let wake: Mutex<(@Sendable () -> Void)?> = Mutex(nil)

    init(output: any ShellOutput, interactive: Bool) {
        self.output = output
        self.interactive = interactive
    }

    var printWatches: Bool {
        get { state.withLock { $0.printWatches } }
        set { state.withLock { $0.printWatches = newValue } }
    }

    /// The default watcher (called on the client's event loop, in server order).
    func deliver(_ event: WatchedEvent) {
        if event.type == .none, let state = Self.connectionState(event.state) {
            self.state.withLock { $0.connectionState = state }
        }
        // Scripts get the events they asked for; connection changes are not results.
        if event.type == .none && !interactive { return }
        let text = "\nWATCHER::\n\n\(event)\n"
        let wakeEditor: (@Sendable () -> Void)? = state.withLock { state in
            guard state.printWatches else { return nil }
            if interactive || state.commandRunning {
                state.pending.append(text)
                return interactive ? wake.withLock { $0 } : nil
            }
            output.write(text, to: .output)
            return nil
        }
        wakeEditor?()
    }

    static func connectionState(_ state: KeeperState) -> ConnectionState? {
        switch state {
        case .syncConnected: .connected
        case .connectedReadOnly: .connectedReadOnly
        case .disconnected: .connecting
        case .expired, .closed: .closed
        case .authFailed: .authFailed
        default: nil
        }
    }

    /// The state for the prompt: the client's, unless a newer connection event has been seen.
    func promptState(_ client: ZooKeeperClient) -> ConnectionState {
        let current = client.state
        guard current.isAlive else { return current }
        return state.withLock { $0.connectionState } ?? current
    }

    /// Forgets the last connection event (a new session starts).
    func resetConnectionState() {
        state.withLock { $0.connectionState = nil }
    }

    /// Takes the queued text (for the line editor to print above the prompt).
    func takePending() -> String? {
        state.withLock { state in
            guard !state.pending.isEmpty else { return nil }
            defer { state.pending.removeAll() }
            return state.pending.joined()
        }
    }

    /// Prints what is queued, now.
    func flush() {
        if let text = takePending() { output.write(text, to: .output) }
    }

    func setCommandRunning(_ running: Bool) {
        state.withLock { $0.commandRunning = running }
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
    private var history: [Int: String] = [:]
    /// The exit code of the last command.
    public private(set) var lastExitCode: Int32 = ExitCode.success
    /// 0 when every command so far succeeded, else the code of the last one that failed.
    public private(set) var exitStatus: Int32 = ExitCode.success
    /// Set by `quit` / `exit`.
    public private(set) var quitRequested = false

    /// Starts connecting to `configuration.server` (without waiting).
    public init(configuration: ShellConfiguration, output: any ShellOutput) throws(ZooKeeperError) {
        self.configuration = configuration
        self.output = output
        self.events = EventPrinter(output: output, interactive: configuration.interactive)
        self.host = configuration.server
        self.client = try Self.makeClient(configuration.server, configuration: configuration, events: events)
    }

    private static func makeClient(
        _ connectString: String, configuration: ShellConfiguration, events: EventPrinter
    ) throws(ZooKeeperError) -> ZooKeeperClient {
        var settings = ZooKeeperClient.Configuration()
        settings.sessionTimeout = configuration.sessionTimeout
        settings.canBeReadOnly = configuration.readOnly
        settings.requestTimeoutWhileDisconnected = configuration.requestTimeoutWhileDisconnected
        if let limit = configuration.packetLimit { settings.packetLimit = limit }
        settings.tls = configuration.tls
        settings.defaultEventHandler = { event in events.deliver(event) }
        return try ZooKeeperClient(connectString: connectString, configuration: settings)
    }

    /// `[zk: host(STATE) N] `
    public var prompt: String {
        "[zk: \(host)(\(events.promptState(client))) \(commandCount)] "
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
        var code = ExitCode.success
        do {
            try await dispatch(words)
        } catch is QuitSignal {
            code = lastExitCode
        } catch is CancellationError {
            events.flush()
            output.write("Interrupted\n", to: .error)
            code = ExitCode.interrupted
        } catch let failure as CommandFailure {
            events.flush()
            if !failure.message.isEmpty { output.write(failure.message + "\n", to: .error) }
            code = failure.exitCode
        } catch {
            output.write("\(error)\n", to: .error)
            code = ExitCode.failure
        }
        events.flush()
        events.setCommandRunning(false)
        record(code)
        return code
    }

    private func record(_ code: Int32) {
        lastExitCode = code
        if code != ExitCode.success { exitStatus = code }
    }

    func out(_ text: String) {
        events.flush()
        output.write(text + "\n", to: .output)
    }

    /// The stat block (after any event that came before it).
    func printStat(_ stat: Stat) {
        events.flush()
        output.write(ShellFormat.stat(stat), to: .output)
    }

    func err(_ text: String) {
        events.flush()
        output.write(text + "\n", to: .error)
    }

    /// The usage listing, as zkCli prints it (to stderr) for an unknown command.
    public static var usageListing: String { CommandTable.usageListing }

    private func dispatch(_ words: [String]) async throws {
        guard let name = words.first else { return }
        guard CommandTable.allNames.contains(name) else {
            output.write(CommandTable.usageListing, to: .error)
            throw CommandFailure("Command not found: Command not found \(name)", exitCode: ExitCode.commandNotFound)
        }
        // Built-ins: these work without a session.
        switch name {
        case "quit", "exit":
            await close()
            quitRequested = true
            // The exit code stays that of the commands before.
            throw QuitSignal()
        case "redo":
            try await redo(words)
            return
        case "history":
            for index in max(0, commandCount - 10)...commandCount {
                if let line = history[index] { out("\(index) - \(line)") }
            }
            return
        case "printwatches":
            if words.count == 1 {
                out("printwatches is \(events.printWatches ? "on" : "off")")
            } else {
                events.printWatches = words[1] == "on"
            }
            return
        case "connect":
            try await connect(words.count >= 2 ? words[1] : host)
            return
        case "help":
            output.write(CommandTable.usageListing, to: .output)
            return
        default:
            break
        }
        guard client.state.isAlive else {
            out("Not connected")
            throw CommandFailure.silent
        }
        do {
            try await runCommand(name, words)
        } catch var failure as CommandFailure where failure.showsUsage {
            // zkCli stops at the message; the usage line says what was expected.
            if let entry = CommandTable.entry(CommandTable.canonicalName(name)) {
                failure.message += "\n" + entry.usage
            }
            failure.showsUsage = false
            throw failure
        }
    }

    private func runCommand(_ name: String, _ words: [String]) async throws {
        switch name {
        case "ls": try await ls(words)
        case "ls2":
            err("'ls2' has been deprecated. Please use 'ls [-s] path' instead.")
            try await ls(["ls", "-s"] + words.dropFirst())
        case "get": try await get(words)
        case "stat": try await stat(words)
        case "set": try await set(words)
        case "create": try await create(words)
        case "delete": try await delete(words)
        case "deleteall": try await deleteAll(words)
        case "rmr":
            err("The command 'rmr' has been deprecated. Please use 'deleteall' instead.")
            try await deleteAll(["deleteall"] + words.dropFirst())
        case "getAcl": try await getAcl(words)
        case "setAcl": try await setAcl(words)
        case "sync": try await sync(words)
        case "addWatch": try await addWatch(words)
        case "removewatches": try await removeWatches(words)
        case "getEphemerals": try await getEphemerals(words)
        case "getAllChildrenNumber": try await getAllChildrenNumber(words)
        case "whoami": try await whoAmI()
        case "addauth": try await addAuth(words)
        case "config": try await config(words)
        case "reconfig": try await reconfig(words)
        case "setquota": try await setQuota(words)
        case "listquota": try await listQuota(words)
        case "delquota": try await delQuota(words)
        case "close": await client.close()
        case "version": try version(words)
        default:
            throw CommandFailure("Command not found: Command not found \(name)", exitCode: ExitCode.commandNotFound)
        }
    }

    /// `redo cmdno`: runs history entry `cmdno` again, in this line's history slot.
    private func redo(_ words: [String]) async throws {
        guard words.count >= 2 else { return }
        guard let index = Self.javaDecode(words[1]) else {
            throw CommandFailure("cmdno must be an int value: \(words[1])\nredo cmdno")
        }
        guard index >= 0, index < commandCount, let line = history[Int(index)] else {
            throw CommandFailure("Command index out of range")
        }
        let redoWords = CommandLineTokenizer.tokenize(line)
        if redoWords.first == "redo" { throw CommandFailure("No redoing redos") }
        history[commandCount] = line
        // Unlike zkCli (whose redo always exits 0), the redone command's failure is this line's failure.
        try await dispatch(redoWords)
    }

    private func connect(_ connectString: String) async throws {
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

extension CommandFailure {
    /// A failure whose message was already printed.
    static let silent = CommandFailure("")
}
