import Logging
import NIOCore
import NIOPosix
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Joins the pure core to the network: owns the core, the connection table, the timers, the statistics, and
/// the group-commit loop. Everything here runs on one event loop (the one every connection uses), so no state
/// is locked and no request waits for a thread. The one exception is a Kerberos login's library calls, which
/// run on a thread pool while their connection waits (`acceptKerberosToken`).
final class ServerRuntime: @unchecked Sendable {
    let eventLoop: any EventLoop
    /// Replaced only when the log fails (by the state reloaded from disk).
    private(set) var core: ServerCore
    /// The data directory's log and snapshots; nil for an in-memory server.
    let store: DurableStore?
    let configuration: ServerConfiguration
    let logger: Logger
    let clock: any ServerClock
    let version: String
    /// The plaintext port bound (0 when none), and the TLS-only port (0 when none), as `conf` reports them.
    var port = 0
    var securePort = 0
    private(set) var statistics = ServerStatistics()

    private var handlers: [ConnectionID: ConnectionHandler] = [:]
    private var nextConnectionID = 1
    private var connectionsPerAddress: [String: Int] = [:]
    private var dirty: [ConnectionHandler] = []
    private var flushing: [ConnectionHandler] = []
    private var flushScheduled = false
    /// The connections holding replies until the log makes them durable: a sync releases these, not every
    /// connection (10,000 idle sessions would cost each sync 10,000 visits).
    private var waitingForLog: [ConnectionHandler] = []
    private var releasing: [ConnectionHandler] = []
    private var syncInFlight = false
    private var syncScheduled = false
    /// When the server gives free heap pages back to the kernel: after write bursts and closed connections.
    private var heapRelease: HeapRelease
    /// Set when even the durable state could not be reloaded after a log failure: no connection is admitted.
    private var notServing = false
    private var timers: [RepeatedTask] = []
    private let startTime: Int64
    /// Each Kerberos login's acceptor (its security context), from its connection's first GSSAPI token on.
    private var kerberosAcceptors: [ConnectionID: GSSAPIServerMechanism] = [:]

    init(
        eventLoop: any EventLoop, configuration: ServerConfiguration, clock: any ServerClock,
        core: ServerCore, store: DurableStore?, logger: Logger, version: String
    ) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.version = version
        self.core = core
        self.store = store
        startTime = clock.monotonicMilliseconds()
        heapRelease = HeapRelease(lastZxid: core.lastZxid)
        store?.snapshotter.onSnapshotTimed = { [weak self] milliseconds in
            guard let self else { return }
            statistics.snapshotTime.observe(milliseconds, at: clock.monotonicMilliseconds())
        }
    }

    // MARK: Lifecycle

    /// Starts the session-expiry tick and the container sweep.
    func startTimers() {
        eventLoop.assertInEventLoop()
        let tick = TimeAmount.milliseconds(Int64(max(1, configuration.tickTime)))
        timers.append(
            eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { [self] _ in
                let sessions = core.sessions.sessions.count
                perform(core.expireSessions())
                statistics.expiredSessions += Int64(max(0, sessions - core.sessions.sessions.count))
            })
        let interval = max(1, configuration.containerCheckInterval)
        let limit = max(1, configuration.containerMaxPerMinute * interval / 60_000)
        timers.append(
            eventLoop.scheduleRepeatedTask(
                initialDelay: .milliseconds(Int64(interval)), delay: .milliseconds(Int64(interval))
            ) { [self] _ in
                perform(core.sweepContainers(limit: limit))
            })
    }

    func stopTimers() {
        for timer in timers { timer.cancel() }
        timers.removeAll()
    }

    // MARK: Connections

    /// Admits a connection, or refuses it (nil) when its address already has `maxClientCnxns`.
    func register(_ handler: ConnectionHandler) -> ConnectionID? {
        if notServing { return nil }
        let address = handler.remoteIP
        let limit = configuration.maxClientConnections
        if limit > 0, connectionsPerAddress[address, default: 0] >= limit {
            statistics.rejectedConnections += 1
            logger.warning("Too many connections from \(address) - max is \(limit)")
            return nil
        }
        connectionsPerAddress[address, default: 0] += 1
        let id = ConnectionID(nextConnectionID)
        nextConnectionID += 1
        statistics.acceptedConnections += 1
        if !handler.isSecure {
            if Self.isLoopback(address) {
                statistics.plaintextLocalConnections += 1
            } else {
                statistics.plaintextRemoteConnections += 1
            }
        }
        handlers[id] = handler
        core.connectionOpened(id, remoteAddress: address)
        return id
    }

    /// Java's `InetAddress.isLoopbackAddress`: 127.0.0.0/8 and ::1 (an IPv4-mapped address counts as IPv4).
    static func isLoopback(_ ip: String) -> Bool {
        ip.hasPrefix("127.") || ip == "::1" || ip.lowercased().hasPrefix("::ffff:127.")
    }

    func unregister(_ id: ConnectionID) {
        guard let handler = handlers.removeValue(forKey: id) else { return }
        let address = handler.remoteIP
        connectionsPerAddress[address, default: 1] -= 1
        if connectionsPerAddress[address] == 0 { connectionsPerAddress[address] = nil }
        kerberosAcceptors[id] = nil
        core.connectionClosed(id)
        if heapRelease.connectionClosed() {
            // Later, once the connection's buffers are gone too (and those of others closing with it).
            eventLoop.scheduleTask(in: .milliseconds(HeapRelease.delayAfterClose)) { [self] in
                heapRelease.scheduledReleaseRuns(at: core.lastZxid)
                HeapRelease.releaseFreePages()
            }
        }
    }

    /// Closes every connection (shutdown).
    func closeAllConnections() {
        for handler in handlers.values { handler.requestClose() }
    }

    // MARK: Requests

    func connect(_ handler: ConnectionHandler, request: ConnectRequest) {
        guard let id = handler.id else { return }
        perform(core.connect(id, request: request))
    }

    func request(_ handler: ConnectionHandler, header: RequestHeader, body: inout ByteBuffer) {
        guard let id = handler.id else { return }
        statistics.requestsByOpCode[header.opCode, default: 0] += 1
        perform(core.request(id, header: header, body: &body))
        if header.opCode == .sasl { logSASLFailures(from: handler.remoteAddress) }
    }

    private func logSASLFailures(from remoteAddress: String) {
        for reason in core.takeSASLFailures() {
            logger.warning("SASL login from \(remoteAddress) failed, connection closed: \(reason)")
        }
    }

    /// Runs one step of the connection's Kerberos login on a thread pool thread: the library reads the keytab
    /// and writes the replay cache, which must not stall the other connections. The connection reads no further
    /// request meanwhile, so its requests stay in order and its acceptor is used by one thread at a time.
    private func acceptKerberosToken(_ token: [UInt8], xid: Int32, connection id: ConnectionID) {
        guard let handler = handlers[id], let login = configuration.sasl.kerberos else { return }
        let acceptor: GSSAPIServerMechanism
        if let existing = kerberosAcceptors[id] {
            acceptor = existing
        } else {
            acceptor = GSSAPIServerMechanism(login: login)
            kerberosAcceptors[id] = acceptor
        }
        handler.suspendRequests()
        NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            acceptor.responseReceived(token)
        }.whenComplete { [self] result in
            eventLoop.assertInEventLoop()
            let step: GSSAPIServerMechanism.Step
            switch result {
            case .success(let answer): step = answer
            case .failure(let error): step = .failed("Kerberos: the login could not run: \(error)")
            }
            perform(core.kerberosStepFinished(step, xid: xid, connection: id))
            let handler = handlers[id]
            logSASLFailures(from: handler?.remoteAddress ?? "a closed connection")
            handler?.resumeRequests()
        }
    }

    /// The connection's TLS handshake verified a client certificate with this subject.
    func authenticated(_ handler: ConnectionHandler, x509Subject: String) {
        guard let id = handler.id else { return }
        core.authenticated(id, x509Subject: x509Subject)
    }

    // MARK: Statistics the connections report

    /// A request frame of `bytes` bytes (its length prefix included) came in.
    func recordPacketReceived(bytes: Int) {
        statistics.packetsReceived += 1
        statistics.bytesReceived += Int64(bytes)
    }

    /// A reply of `size` bytes went out, `latency` ms after its request came in.
    func recordReply(latency: Int64, size: Int) {
        statistics.latency.record(latency)
        statistics.recordResponse(size: size)
    }

    /// The client ended its connection's stream.
    func recordClientDisconnect() {
        statistics.clientDisconnects += 1
    }

    /// A connection sent no ConnectRequest within `nio.sessionlessCnxnTimeout` and was closed.
    func recordSessionlessConnectionExpired() {
        statistics.sessionlessConnectionsExpired += 1
    }

    /// A connection's TLS handshake failed, or did not complete in time.
    func recordFailedHandshake(timedOut: Bool) {
        statistics.failedHandshakes += 1
        if timedOut { statistics.timedOutHandshakes += 1 }
    }

    /// The reply to a request went out `latency` ms after the request came in.
    func recordRequestLatency(_ latency: Int64, update: Bool, at now: Int64) {
        if update {
            statistics.updateLatency.observe(latency, at: now)
        } else {
            statistics.readLatency.observe(latency, at: now)
        }
    }

    /// A frame (reply, notification or handshake response) went out.
    func recordPacketSent() {
        statistics.packetsSent += 1
    }

    /// Hands the core's outputs to their connections. Everything produced now may reflect the latest
    /// transaction, so it waits until the log has made that transaction durable.
    func perform(_ outputs: [CoreOutput]) {
        guard !outputs.isEmpty else { return }
        let required = core.lastZxid
        let durable = core.log.durableZxid
        for output in outputs {
            if case .acceptKerberosToken(let id, let xid, let token) = output {
                acceptKerberosToken(token, xid: xid, connection: id)
                continue
            }
            guard let handler = handlers[output.connection] else { continue }
            let wasWaiting = handler.queuedCount > 0
            handler.enqueue(output, requiredZxid: required, durableZxid: durable)
            if !wasWaiting && handler.queuedCount > 0 { waitingForLog.append(handler) }
        }
        if durable < required { requestSync() }
    }

    /// Group commit: one sync in flight at a time covers everything appended before it started. It is
    /// started at the end of the tick, so that the first batch already holds every write of the tick.
    private func requestSync() {
        guard !syncScheduled else { return }
        syncScheduled = true
        eventLoop.execute { [self] in
            syncScheduled = false
            store?.afterTick(core: core)
            startSync()
        }
    }

    private func startSync() {
        guard !syncInFlight, core.log.durableZxid < core.lastZxid, !core.refusesWrites else { return }
        syncInFlight = true
        let log = core.log
        let started = clock.monotonicMilliseconds()
        let durableBefore = log.durableZxid
        log.sync { [self] result in
            eventLoop.assertInEventLoop()
            syncInFlight = false
            switch result {
            case .success(let durable):
                let now = clock.monotonicMilliseconds()
                statistics.fsyncTime.observe(now - started, at: now)
                statistics.syncBatchSize.observe(durable - durableBefore, at: now)
                guard log === core.log, !core.refusesWrites else { return }
                swap(&waitingForLog, &releasing)
                for handler in releasing {
                    handler.release(durableZxid: durable)
                    if handler.queuedCount > 0 { waitingForLog.append(handler) }
                }
                releasing.removeAll(keepingCapacity: true)
                store?.logDurable(durable)
                if durable < core.lastZxid {
                    requestSync()
                } else if heapRelease.logCaughtUp(at: durable) {
                    // After this tick's flush, which frees the replies just released.
                    eventLoop.execute { HeapRelease.releaseFreePages() }
                }
            case .failure(let error):
                logFailed(error)
            }
        }
    }

    /// The log cannot write: nothing it did not make durable may be seen. Every connection is dropped (with the
    /// replies it was holding), the state goes back to what is on disk, and from now on writes are refused
    /// with NotReadOnly while reads are served, until a restart.
    private func logFailed(_ error: PersistenceError) {
        guard !core.refusesWrites, !notServing else { return }
        logger.error(
            "the transaction log failed: \(error). zkserver now refuses writes (clients get NOTREADONLY) and serves reads of what is on disk; restart it once the disk is fixed"
        )
        for handler in handlers.values { handler.drop() }
        waitingForLog.removeAll()
        guard let store else { return }
        do {
            let activity = core.activity
            core = try store.reloadDurableState(clock: clock)
            core.activity = activity
        } catch {
            logger.critical("cannot reload the durable state after the log failed (\(error)); not serving")
            notServing = true
        }
    }

    /// Flushes every connection written to in this tick, once, after the tick's reads.
    func markDirty(_ handler: ConnectionHandler) {
        if !handler.isDirty {
            handler.isDirty = true
            dirty.append(handler)
        }
        if !flushScheduled {
            flushScheduled = true
            eventLoop.execute { [self] in
                flushScheduled = false
                // Two arrays swapped in turn, so that neither is copied nor reallocated per tick.
                swap(&dirty, &flushing)
                for handler in flushing { handler.flush() }
                flushing.removeAll(keepingCapacity: true)
            }
        }
    }

    // MARK: Four-letter words

    /// The answer to a four-letter word received on a connection (counted as a packet of the server and of the
    /// connection, which `cons` and `stat` then list with `recved=1`, as Apache does).
    func fourLetterWordText(_ word: FourLetterWord, on channel: any Channel) -> String {
        statistics.packetsReceived += 1
        if let handler = try? channel.pipeline.syncOperations.handler(type: ConnectionHandler.self) {
            handler.statistics.packetsReceived += 1
        }
        guard configuration.allowsFourLetterWord(word.rawValue) else { return word.notWhitelistedText }
        switch word {
        case .srst:
            resetServerStatistics()
        case .crst:
            resetConnectionStatistics()
        case .ruok, .stat, .srvr, .conf, .cons, .dump, .envi, .mntr, .wchs, .wchc, .wchp, .isro, .dirs:
            break
        }
        return report(includeEnvironment: word == .envi).text(for: word)
    }

    /// `srst`: the server's figures and `mntr`'s summaries start again.
    private func resetServerStatistics() {
        let now = clock.monotonicMilliseconds()
        statistics.reset(at: now)
        core.activity.restartMonitorFigures(at: now)
    }

    private func resetConnectionStatistics() {
        for handler in handlers.values { handler.statistics.reset() }
    }

    // MARK: AdminServer

    /// The JSON answer to an AdminServer command named `name` (a primary or a short name); Apache's error JSON
    /// for a name that is no command. An HTTP request is not a client connection: it is not counted.
    func adminAnswer(_ name: String) -> JSONValue {
        guard let command = AdminCommand(name: name) else { return ServerReport.unknownCommandJSON(name) }
        switch command {
        case .statReset:
            resetServerStatistics()
        case .connectionStatReset:
            resetConnectionStatistics()
        case .configuration, .connections, .dirs, .dump, .environment, .getTraceMask, .hash, .initialConfiguration,
            .isReadOnly, .lastSnapshot, .monitor, .ruok, .serverStats, .stats, .systemProperties, .watchSummary,
            .watches, .watchesByPath, .zabstate:
            break
        }
        return report(includeEnvironment: command == .environment || command == .systemProperties).json(for: command)
    }

    /// One snapshot of the state for a four-letter word or an AdminServer command. The environment (`envi`,
    /// `environment`, `system_properties`) is read from the system only when asked for.
    func report(includeEnvironment: Bool = false) -> ServerReport {
        let nowMonotonic = clock.monotonicMilliseconds()
        let nowWall = clock.wallMilliseconds()
        let connectionReports = handlers.sorted { $0.key < $1.key }.map { id, handler in
            ServerReport.Connection(
                remote: handler.remoteAddress, sessionID: core.sessionID(of: id), timeout: handler.negotiatedTimeout,
                queued: handler.queuedCount, statistics: handler.statistics, isSecure: handler.isSecure)
        }
        let sessionEntries = core.sessions.sessions.values.map {
            ServerReport.SessionEntry(id: $0.id, expiresAt: nowWall + ($0.expiresAt - nowMonotonic))
        }
        let ephemerals = core.tree.ephemerals.sorted { $0.key < $1.key }.map { ($0.key, $0.value.sorted()) }
        let sessionOf: (ConnectionID) -> Int64 = { [core] in core.sessionID(of: $0) ?? 0 }
        let byConnection = core.watches.dataTablePathsByConnection().map { (sessionOf($0.0), $0.1) }
        let byPath = core.watches.dataTableConnectionsByPath().map { ($0.0, $0.1.map(sessionOf)) }
        let dataSize = configuration.dataDirectory.map(Self.directorySize) ?? 0
        let logSize = (configuration.dataLogDirectory ?? configuration.dataDirectory).map(Self.directorySize) ?? 0
        let descriptors = Self.fileDescriptorCounts()
        var report = ServerReport(
            version: version, configuration: configuration, port: port, securePort: securePort, statistics: statistics,
            connections: connectionReports, lastZxid: core.lastZxid, nodeCount: core.tree.nodeCount + 1,
            ephemeralsCount: core.tree.ephemerals.values.reduce(0) { $0 + $1.count },
            watchCount: core.watches.totalWatchCount, approximateDataSize: core.tree.approximateDataSize,
            outstandingRequests: handlers.values.reduce(0) { $0 + $1.queuedCount },
            uptimeMilliseconds: nowMonotonic - startTime, sessions: sessionEntries, ephemerals: ephemerals,
            watchesByConnection: byConnection, watchesByPath: byPath, dataDirectorySize: dataSize,
            logDirectorySize: logSize, openFileDescriptors: descriptors.open,
            maximumFileDescriptors: descriptors.maximum,
            environment: includeEnvironment ? environment() : [],
            systemProperties: includeEnvironment ? systemProperties() : [], refusesWrites: core.refusesWrites,
            lastSnapshot: lastSnapshot(), snapshotsTaken: store?.snapshotter.completedCount ?? 0)
        report.now = nowMonotonic
        report.activity = core.activity
        report.quotaFigures = core.tree.quotaFigures()
        report.outstandingHandshakes = handlers.values.reduce(0) { $0 + ($1.isHandshaking ? 1 : 0) }
        return report
    }

    /// The newest snapshot file in the data directory.
    private func lastSnapshot() -> ServerReport.SnapshotInfo? {
        guard let store, let newest = try? store.directory.snapshotFiles(store.fileSystem).last else { return nil }
        var info = stat()
        guard stat(newest.path, &info) == 0 else { return nil }
        return ServerReport.SnapshotInfo(zxid: newest.zxid, timestampSeconds: Int64(info.st_mtim.tv_sec))
    }

    /// Java's name for the machine (`os.arch`): `amd64` for x86_64, the kernel's name otherwise.
    private static func javaArchitecture(_ machine: String) -> String {
        machine == "x86_64" ? "amd64" : machine
    }

    /// The process's counterparts of the Java system properties that mean something outside a JVM.
    private func systemProperties() -> [(String, String)] {
        let environment = Dictionary(environment(), uniquingKeysWith: { first, _ in first })
        var properties: [(String, String)] = [
            ("file.separator", "/"),
            ("line.separator", "\n"),
            ("os.arch", environment["os.arch"] ?? ""),
            ("os.name", environment["os.name"] ?? ""),
            ("os.version", environment["os.version"] ?? ""),
            ("path.separator", ":"),
            ("user.dir", environment["user.dir"] ?? ""),
            ("user.home", environment["user.home"] ?? ""),
            ("user.name", environment["user.name"] ?? ""),
        ]
        if let zone = getenv("TZ").map({ String(cString: $0) }), !zone.isEmpty {
            properties.append(("user.timezone", zone))
        }
        return properties.sorted { $0.0 < $1.0 }
    }

    private func environment() -> [(String, String)] {
        var system = utsname()
        _ = uname(&system)
        func field<T>(_ value: T) -> String {
            withUnsafeBytes(of: value) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        func variable(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        var hostBytes = [CChar](repeating: 0, count: 256)
        gethostname(&hostBytes, hostBytes.count - 1)
        let hostName = String(decoding: hostBytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = [CChar](repeating: 0, count: 4096)
        let currentDirectory = getcwd(&directory, directory.count).map { String(cString: $0) } ?? ""
        let account = getpwuid(getuid())
        return [
            ("zookeeper.version", version),
            ("host.name", hostName),
            ("os.name", field(system.sysname)),
            ("os.arch", Self.javaArchitecture(field(system.machine))),
            ("os.version", field(system.release)),
            ("user.name", variable("USER") ?? account.map { String(cString: $0.pointee.pw_name) } ?? ""),
            ("user.home", variable("HOME") ?? account.map { String(cString: $0.pointee.pw_dir) } ?? ""),
            ("user.dir", currentDirectory),
        ] + ProcessMemory.current().environmentEntries
    }

    /// The bytes of the regular files under `path`, recursively.
    private static func directorySize(_ path: String) -> Int64 {
        guard let names = try? PosixFileSystem().list(path) else { return 0 }
        var total: Int64 = 0
        for name in names {
            let child = path + "/" + name
            var info = stat()
            guard lstat(child, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                total += directorySize(child)
            } else if (info.st_mode & S_IFMT) == S_IFREG {
                total += Int64(info.st_size)
            }
        }
        return total
    }

    private static func fileDescriptorCounts() -> (open: Int, maximum: Int) {
        let open = (try? PosixFileSystem().list("/proc/self/fd").count) ?? 0
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return (open, Int(limit.rlim_cur))
    }
}
