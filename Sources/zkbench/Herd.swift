import ArgumentParser
import Foundation
import ZooKeeper

#if canImport(Glibc)
    import Glibc
#endif

/// A herd: many sessions with ephemerals and watches, spread over worker processes, against a server that the
/// tool restarts round after round; every session must resume each time.
struct HerdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herd",
        abstract: "Restart a server under a herd of sessions and measure the reconnect storm.",
        discussion: """
            Starts the server with the command given after `--` (in --server-directory, output appended to
            --server-log), connects --sessions sessions spread over --processes worker processes (this program
            again), each with one ephemeral node and --watches watches (data and exists watches, alternately, on
            the shared nodes ROOT/w/0...), then for each of --rounds rounds stops the server (--stop kill: SIGKILL,
            term: SIGTERM), starts it again on the same data directory and waits until every session is connected
            again with its own session id and its ephemeral node. After the rounds, one change of every shared
            node must fire every watch. With --idle-seconds, the server's CPU (user + system, from /proc/PID/stat)
            is read over that many seconds after the set-up, while the sessions only ping. Prints one JSON object per line: the set-up, each round, the firing and a
            summary; exits 1 if a session was lost, an ephemeral missing or a watch did not fire.
            """)

    @Option(name: .long, help: "The server's address (host:port), as the command's configuration sets it.")
    var server = "127.0.0.1:2181"

    @Option(name: .long, help: "Sessions in total.")
    var sessions = 1_000

    @Option(name: .long, help: "Worker processes the sessions are spread over.")
    var processes = 2

    @Option(name: .long, help: "Watches per session (one per shared node).")
    var watches = 10

    @Option(name: .long, help: "Restart rounds.")
    var rounds = 3

    @Option(name: .long, help: "How the server is stopped: kill (SIGKILL) or term (SIGTERM, then SIGKILL after 30 s).")
    var stop = StopMode.kill

    @Option(name: .long, help: "Session timeout requested by every session, in seconds.")
    var sessionTimeout = 40

    @Option(
        name: .long,
        help: "Longest pause, in milliseconds, between a session's reconnection attempts (the client's default: 1000).")
    var reconnectDelay = 1_000

    @Option(name: .long, help: "Bound, in seconds, on each wait (server start, set-up, resumption, firing).")
    var waitLimit = 300

    @Option(name: .long, help: "Parent of the herd's nodes (removed at the end).")
    var root = "/zkherd"

    @Option(name: .long, help: "Seconds over which the server's CPU is read while the herd is idle (0: not read).")
    var idleSeconds = 0

    @Option(name: .long, help: "Working directory of the server command.")
    var serverDirectory = "."

    @Option(name: .long, help: "File the server's output is appended to.")
    var serverLog = "/dev/null"

    @Argument(parsing: .postTerminator, help: "The server's command line, after `--`.")
    var serverCommand: [String] = []

    enum StopMode: String, ExpressibleByArgument {
        case kill, term
    }

    func validate() throws {
        guard !serverCommand.isEmpty else { throw ValidationError("herd needs the server's command after --") }
        guard sessions > 0, processes > 0, processes <= sessions else {
            throw ValidationError("--sessions and --processes must be positive, with at least one session a process")
        }
        guard watches >= 0, rounds >= 0, idleSeconds >= 0, sessionTimeout > 0, waitLimit > 0, reconnectDelay >= 0 else {
            throw ValidationError(
                "--watches, --rounds and --idle-seconds must not be negative, the timeouts must be positive")
        }
        _ = try HostAndPortText(server)
    }

    mutating func run() async throws {
        raiseOpenFileLimit()
        let address = try HostAndPortText(server)
        let limit = Duration.seconds(waitLimit)
        var serverProcess = try await startServer(address: address, limit: limit)
        var workers: [WorkerProcess] = []
        var admin = try await ZooKeeperClient.connect(server)
        defer {
            for worker in workers { worker.terminate() }
            ServerProcess.stop(serverProcess, mode: .term)
        }
        try await removeTree(admin, root)
        try await admin.create(root)
        try await admin.create("\(root)/e")
        try await admin.create("\(root)/w")
        for index in 0..<watches { try await admin.create("\(root)/w/\(index)") }
        let empty = serverProcess.usage()

        // Sessions and their ephemerals first, then the watches, so that each has its own RSS figure.
        let setUpStart = ContinuousClock.now
        let perProcess = (sessions + processes - 1) / processes
        for index in 0..<processes {
            let first = index * perProcess
            let count = min(sessions, first + perProcess) - first
            workers.append(
                try WorkerProcess(arguments: [
                    "herd-worker", "--server", server, "--first", "\(first)", "--sessions", "\(count)",
                    "--watches", "\(watches)", "--session-timeout", "\(sessionTimeout)", "--root", root,
                    "--reconnect-delay", "\(reconnectDelay)",
                ]))
        }
        let connected = try await ask(workers, nil, limit: limit).map { $0["sessions"] ?? 0 }.reduce(0, +)
        let withSessions = serverProcess.usage()
        let watched = try await ask(workers, "watch", limit: limit).map { $0["watches"] ?? 0 }.reduce(0, +)
        let withWatches = serverProcess.usage()
        var idleCPUPercent = 0.0
        if idleSeconds > 0 {
            let before = serverProcess.cpuSeconds()
            let idleStart = ContinuousClock.now
            try await Task.sleep(for: .seconds(idleSeconds))
            idleCPUPercent = 100 * (serverProcess.cpuSeconds() - before) / (ContinuousClock.now - idleStart).seconds
        }
        printLine([
            "phase": .text("setup"), "idle_cpu_percent": .number(idleCPUPercent), "sessions": .integer(connected),
            "watches": .integer(watched),
            "seconds": .number((ContinuousClock.now - setUpStart).seconds),
            "rss_kib_empty": .integer(empty.rssKiB), "rss_kib_sessions": .integer(withSessions.rssKiB),
            "rss_kib_watches": .integer(withWatches.rssKiB), "fds_empty": .integer(empty.fds),
            "fds_sessions": .integer(withWatches.fds),
        ])
        var failed = connected != sessions || watched != sessions * watches

        var roundUsages: [ServerProcess.Usage] = []
        var stormSeconds: [Double] = []
        for round in 1...max(1, rounds) where rounds > 0 {
            ServerProcess.stop(serverProcess, mode: stop)
            let restart = ContinuousClock.now
            serverProcess = try await startServer(address: address, limit: limit)
            let serving = Date().timeIntervalSince1970
            let startSeconds = (ContinuousClock.now - restart).seconds
            let replies = try await ask(workers, "resume \(round) \(waitLimit)", limit: limit + .seconds(30))
            let resumed = replies.map { $0["resumed"] ?? 0 }.reduce(0, +)
            let expired = replies.map { $0["expired"] ?? 0 }.reduce(0, +)
            let ephemerals = replies.map { $0["ephemerals"] ?? 0 }.reduce(0, +)
            let lastResumed = replies.map { Double($0["last_resumed_ms"] ?? 0) / 1000 }.max() ?? serving
            let storm = max(0, lastResumed - serving)
            let usage = serverProcess.usage()
            roundUsages.append(usage)
            stormSeconds.append(storm)
            printLine([
                "phase": .text("round"), "round": .integer(round), "sessions": .integer(sessions),
                "resumed": .integer(resumed), "expired": .integer(expired), "ephemerals": .integer(ephemerals),
                "start_seconds": .number(startSeconds), "storm_seconds": .number(storm),
                "rss_kib": .integer(usage.rssKiB), "fds": .integer(usage.fds),
            ])
            if resumed != sessions || ephemerals != sessions { failed = true }
        }

        // Every watch set before the first restart must still be there: one change of each shared node fires
        // all of them.
        // The tool's own session may have expired in a storm that outlasted it: a new one then.
        if !admin.state.isAlive {
            await admin.close()
            admin = try await ZooKeeperClient.connect(server)
        }
        try await admin.waitUntilConnected(timeout: limit)
        for index in 0..<watches { _ = try await admin.setData("\(root)/w/\(index)", data: [0x31]) }
        let fired = try await ask(workers, "fired \(waitLimit)", limit: limit + .seconds(30))
            .map { $0["events"] ?? 0 }.reduce(0, +)
        printLine([
            "phase": .text("fire"), "expected": .integer(sessions * watches), "received": .integer(fired),
        ])
        if fired != sessions * watches { failed = true }

        var summary: [String: JSONValue] = [
            "phase": .text("summary"), "sessions": .integer(sessions), "watches": .integer(sessions * watches),
            "rounds": .integer(rounds), "ok": .boolean(!failed), "idle_cpu_percent": .number(idleCPUPercent),
            "rss_bytes_per_session": .number(Double(withSessions.rssKiB - empty.rssKiB) * 1024 / Double(sessions)),
            "rss_bytes_per_watch": .number(
                watches == 0 ? 0 : Double(withWatches.rssKiB - withSessions.rssKiB) * 1024 / Double(sessions * watches)),
        ]
        if let first = roundUsages.first, let last = roundUsages.last {
            summary["storm_seconds_median"] = .number(stormSeconds.sorted()[stormSeconds.count / 2])
            summary["storm_seconds_max"] = .number(stormSeconds.max() ?? 0)
            summary["rss_kib_first"] = .integer(first.rssKiB)
            summary["rss_kib_last"] = .integer(last.rssKiB)
            summary["fds_first"] = .integer(first.fds)
            summary["fds_last"] = .integer(last.fds)
            summary["rss_within_5_percent"] = .boolean(
                Double(abs(last.rssKiB - first.rssKiB)) <= 0.05 * Double(first.rssKiB))
            summary["fds_within_5_percent"] = .boolean(Double(abs(last.fds - first.fds)) <= 0.05 * Double(first.fds))
        }
        printLine(summary)

        _ = try? await ask(workers, "quit", limit: limit)
        for worker in workers { worker.waitForExit(limit: .seconds(30)) }
        workers = []
        try? await removeTree(admin, root)
        await admin.close()
        if failed { throw ExitCode(1) }
    }

    /// Starts the server and waits until `srvr` says it serves (bounded by `limit`).
    func startServer(address: HostAndPortText, limit: Duration) async throws -> ServerProcess {
        let process = try ServerProcess(command: serverCommand, directory: serverDirectory, log: serverLog)
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw HerdError("the server exited at start; see \(serverLog)") }
            if fourLetterWord("srvr", address)?.contains("Mode:") == true { return process }
            try await Task.sleep(for: .milliseconds(5))
        }
        ServerProcess.stop(process, mode: .kill)
        throw HerdError("the server did not serve within \(waitLimit) s; see \(serverLog)")
    }

    /// Sends `command` to every worker (nil: none, to read what they print unasked) and reads one reply of each.
    func ask(_ workers: [WorkerProcess], _ command: String?, limit: Duration) async throws -> [[String: Int]] {
        if let command { for worker in workers { worker.send(command) } }
        var replies: [[String: Int]] = []
        for worker in workers {
            guard let line = await worker.lines.next(limit: limit) else {
                throw HerdError("a herd worker gave no answer to \(command ?? "its set-up") within \(limit)")
            }
            replies.append(parseIntegers(line))
        }
        return replies
    }
}

/// A herd that could not go on: a server that does not start, a worker that does not answer.
struct HerdError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One worker process of a herd: its share of the sessions, driven by one-line commands on stdin, answering one
/// JSON line each on stdout.
struct HerdWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herd-worker", abstract: "One process of a herd (started by `zkbench herd`).",
        shouldDisplay: false)

    @Option var server: String
    @Option var first: Int
    @Option var sessions: Int
    @Option var watches: Int
    @Option var sessionTimeout: Int
    @Option var root: String
    @Option var reconnectDelay: Int

    /// Sessions connecting or setting watches at once: enough to keep the server busy, few enough that no
    /// session waits on the others past its timeout.
    static let concurrency = 64

    mutating func run() async throws {
        raiseOpenFileLimit()
        let tally = HerdTally(sessions: sessions)
        let commands = LineQueue(descriptor: 0)
        var settings = ZooKeeperClient.Configuration()
        settings.sessionTimeout = .seconds(sessionTimeout)
        settings.maximumReconnectDelay = .milliseconds(reconnectDelay)
        settings.defaultEventHandler = { event in
            if event.type == .nodeDataChanged { tally.recordEvent() }
        }
        let configuration = settings
        let (server, root, first) = (self.server, self.root, self.first)
        let clients = try await Self.bounded(0..<sessions) { index in
            let client = try await ZooKeeperClient.connect(server, configuration: configuration)
            let sessionID = client.sessionID
            tally.setSessionID(index, sessionID)
            Task {
                for await event in client.connectionEvents {
                    switch event {
                    case .reconnected: tally.recordReconnect(index)
                    case .expired: tally.recordExpiry(index)
                    case .connecting, .connected, .connectedReadOnly, .disconnected, .authFailed, .closed: break
                    }
                }
            }
            try await client.create("\(root)/e/\(first + index)", mode: .ephemeral)
            return client
        }
        reply(["sessions": clients.count])

        while let line = await commands.next(limit: nil) {
            let words = line.split(separator: " ").map(String.init)
            switch words.first {
            case "watch":
                let watches = self.watches
                let set = try await Self.bounded(0..<clients.count) { index in
                    // A session's watches all in flight at once, as a program arming them would pipeline them.
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for node in 0..<watches {
                            let path = "\(root)/w/\(node)"
                            // Data and exists watches alternately, so that both kinds are held.
                            if (first + index + node) % 2 == 0 {
                                group.addTask { _ = try await clients[index].getData(path, watch: true) }
                            } else {
                                group.addTask { _ = try await clients[index].exists(path, watch: true) }
                            }
                        }
                        try await group.waitForAll()
                    }
                    return watches
                }
                reply(["watches": set.reduce(0, +)])
            case "resume":
                let round = words.count > 1 ? Int(words[1]) ?? 1 : 1
                let limit = Duration.seconds(words.count > 2 ? Int(words[2]) ?? 300 : 300)
                let deadline = ContinuousClock.now + limit
                while !tally.allSettled(round: round), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                let summary = tally.summary(round: round)
                // The ephemeral of each resumed session is there and still owned by it.
                let owned = try await Self.bounded(0..<clients.count) { index in
                    guard summary.resumedIndices.contains(index) else { return 0 }
                    let stat = try? await clients[index].exists("\(root)/e/\(first + index)")
                    let owner = tally.sessionID(index)
                    return stat?.ephemeralOwner == owner && clients[index].sessionID == owner ? 1 : 0
                }
                reply([
                    "resumed": summary.resumedIndices.count, "expired": summary.expired,
                    "ephemerals": owned.reduce(0, +), "last_resumed_ms": summary.lastResumedMilliseconds,
                ])
            case "fired":
                let limit = Duration.seconds(words.count > 1 ? Int(words[1]) ?? 300 : 300)
                // Only live sessions' watches can fire; an expired one's would keep us waiting for nothing.
                let expected = tally.liveSessions * watches
                let deadline = ContinuousClock.now + limit
                while tally.events < expected, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                reply(["events": tally.events])
            case "quit":
                _ = try await Self.bounded(0..<clients.count) { index in
                    await clients[index].close()
                    return 0
                }
                reply(["closed": clients.count])
                return
            default:
                throw HerdError("unknown herd command: \(line)")
            }
        }
    }

    func reply(_ fields: [String: Int]) {
        print("{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}")
        fflush(nil)
    }

    /// `body` over `range`, at most `concurrency` at once, results in order.
    static func bounded<Result: Sendable>(
        _ range: Range<Int>, _ body: @escaping @Sendable (Int) async throws -> Result
    ) async throws -> [Result] {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results: [Result?] = Array(repeating: nil, count: range.count)
            var next = range.lowerBound
            while next < range.upperBound, next - range.lowerBound < concurrency {
                let index = next
                group.addTask { (index, try await body(index)) }
                next += 1
            }
            while let (index, result) = try await group.next() {
                results[index - range.lowerBound] = result
                if next < range.upperBound {
                    let index = next
                    group.addTask { (index, try await body(index)) }
                    next += 1
                }
            }
            return results.compactMap { $0 }
        }
    }
}

/// What a worker's sessions went through: reconnections (with their wall-clock time), expiries, watch events.
final class HerdTally: @unchecked Sendable {
    private let lock = NSLock()
    private var reconnects: [Int]
    private var lastReconnect: [Double]
    private var expired: [Bool]
    private var sessionIDs: [Int64]
    private var eventCount = 0

    init(sessions: Int) {
        reconnects = Array(repeating: 0, count: sessions)
        lastReconnect = Array(repeating: 0, count: sessions)
        expired = Array(repeating: false, count: sessions)
        sessionIDs = Array(repeating: 0, count: sessions)
    }

    func setSessionID(_ index: Int, _ id: Int64) { lock.withLock { sessionIDs[index] = id } }
    func sessionID(_ index: Int) -> Int64 { lock.withLock { sessionIDs[index] } }
    func recordEvent() { lock.withLock { eventCount += 1 } }
    var events: Int { lock.withLock { eventCount } }

    func recordReconnect(_ index: Int) {
        let now = Date().timeIntervalSince1970
        lock.withLock {
            reconnects[index] += 1
            lastReconnect[index] = now
        }
    }

    func recordExpiry(_ index: Int) { lock.withLock { expired[index] = true } }
    var liveSessions: Int { lock.withLock { expired.filter { !$0 }.count } }

    /// Whether every session has reconnected `round` times or expired.
    func allSettled(round: Int) -> Bool {
        lock.withLock { zip(reconnects, expired).allSatisfy { $0 >= round || $1 } }
    }

    func summary(round: Int) -> (resumedIndices: Set<Int>, expired: Int, lastResumedMilliseconds: Int) {
        lock.withLock {
            let resumed = Set(reconnects.indices.filter { reconnects[$0] >= round && !expired[$0] })
            let last = resumed.map { lastReconnect[$0] }.max() ?? 0
            return (resumed, expired.filter { $0 }.count, Int(last * 1000))
        }
    }
}

/// Lines read from a file descriptor by a thread of their own (so that no task blocks in read(2)).
final class LineQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private var ended = false

    init(descriptor: Int32) {
        let thread = Thread { [self] in
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(descriptor, &buffer, buffer.count)
                if count <= 0 { break }
                for byte in buffer[0..<count] {
                    if byte == UInt8(ascii: "\n") {
                        let line = String(decoding: pending, as: UTF8.self)
                        lock.withLock { lines.append(line) }
                        pending.removeAll(keepingCapacity: true)
                    } else {
                        pending.append(byte)
                    }
                }
            }
            lock.withLock { ended = true }
        }
        thread.start()
    }

    /// The next line, or nil at the end of the input or after `limit` (nil: no limit).
    func next(limit: Duration?) async -> String? {
        let deadline = limit.map { ContinuousClock.now + $0 }
        while true {
            let (line, done): (String?, Bool) = lock.withLock {
                if !lines.isEmpty { return (lines.removeFirst(), false) }
                return (nil, ended)
            }
            if let line { return line }
            if done { return nil }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// This program run again as a herd worker, its stdin and stdout piped to us (its stderr is ours).
final class WorkerProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    let lines: LineQueue

    init(arguments: [String]) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        lines = LineQueue(descriptor: output.fileHandleForReading.fileDescriptor)
    }

    func send(_ command: String) {
        try? input.fileHandleForWriting.write(contentsOf: Array((command + "\n").utf8))
    }

    func waitForExit(limit: Duration) {
        let deadline = ContinuousClock.now + limit
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        terminate()
    }

    func terminate() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// The server under test, started from its command line; its RSS and open descriptors are read from /proc.
final class ServerProcess: @unchecked Sendable {
    private let process = Process()

    struct Usage {
        var rssKiB: Int
        var fds: Int
    }

    init(command: [String], directory: String, log: String) throws {
        let executable = command[0].contains("/") ? command[0] : try Self.which(command[0])
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(command.dropFirst())
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        guard let output = FileHandle(forWritingAtPath: log) else { throw HerdError("cannot write \(log)") }
        output.seekToEndOfFile()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    func usage() -> Usage { Self.usage(pid: process.processIdentifier) }

    /// CPU seconds (user + system, all threads) the server has used so far.
    func cpuSeconds() -> Double { Self.cpuSeconds(pid: process.processIdentifier) }

    /// The resident set and open descriptors of any process.
    static func usage(pid: Int32) -> Usage {
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        {
            rss = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        return Usage(rssKiB: rss, fds: fds)
    }

    /// utime + stime of /proc/PID/stat (fields 14 and 15, counted after the parenthesised command name).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3): utime is field 14, stime field 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// SIGKILL, or SIGTERM and SIGKILL after 30 s; returns once the process is gone (at most 60 s).
    static func stop(_ server: ServerProcess, mode: HerdCommand.StopMode) {
        let process = server.process
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        switch mode {
        case .kill: kill(pid, SIGKILL)
        case .term: kill(pid, SIGTERM)
        }
        for step in 0..<6_000 where process.isRunning {
            if step == 3_000 { kill(pid, SIGKILL) }
            usleep(10_000)
        }
    }

    static func which(_ name: String) throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw HerdError("\(name) is not on PATH")
    }
}

/// `host:port` of the server (for its four-letter words).
struct HostAndPortText {
    var host: String
    var port: UInt16

    init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            throw ValidationError("--server must be host:port, not \(text)")
        }
        host = String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = port
    }
}

/// Sends a four-letter word over IPv4 or IPv6 and returns the answer (nil if the server could not be reached).
func fourLetterWord(_ word: String, _ address: HostAndPortText) -> String? {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    guard getaddrinfo(address.host, "\(address.port)", &hints, &list) == 0, let info = list else { return nil }
    defer { freeaddrinfo(list) }
    let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    guard connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else { return nil }
    let bytes = Array(word.utf8)
    guard write(fd, bytes, bytes.count) == bytes.count else { return nil }
    var answer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    // Bounded: srvr's answer is a few hundred bytes.
    for _ in 0..<64 {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { break }
        answer.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: answer, as: UTF8.self)
}

/// Raises the soft limit of open files to the hard limit: each session is a socket.
func raiseOpenFileLimit() {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}

enum JSONValue {
    case integer(Int)
    case number(Double)
    case text(String)
    case boolean(Bool)

    var encoded: String {
        switch self {
        case .integer(let value): "\(value)"
        case .number(let value): value.isFinite ? "\((value * 1000).rounded() / 1000)" : "null"
        case .text(let value): "\"\(value)\""
        case .boolean(let value): value ? "true" : "false"
        }
    }
}

/// One JSON object on one line, keys sorted, flushed at once (a reader follows the rounds as they end).
func printLine(_ fields: [String: JSONValue]) {
    print(
        "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value.encoded)" }.joined(separator: ",") + "}"
    )
    fflush(nil)
}

/// The integer fields of a worker's one-line JSON answer.
func parseIntegers(_ line: String) -> [String: Int] {
    var fields: [String: Int] = [:]
    let body = line.trimmingCharacters(in: CharacterSet(charactersIn: "{} \r"))
    for pair in body.split(separator: ",") {
        let parts = pair.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let value = Int(parts[1]) else { continue }
        fields[parts[0].trimmingCharacters(in: CharacterSet(charactersIn: "\""))] = value
    }
    return fields
}
