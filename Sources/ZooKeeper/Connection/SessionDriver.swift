import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import ZooKeeperProtocol

/// Carries out what the session state machine decides: opens and closes connections, writes its bytes, runs
/// its one timer, resumes callers and feeds watch streams. Everything here runs on one event loop; the
/// machine makes every protocol decision.
final class SessionDriver: @unchecked Sendable {
    typealias Token = Completion
    typealias Machine = SessionStateMachine<Token>

    /// Who gets a request's result: a caller suspended on it, or (for pipelined reads, which keep many requests
    /// in flight without a task each) a handler called on the event loop.
    enum Completion: Sendable {
        case caller(UnsafeContinuation<Result<ZooKeeperResponse, ZooKeeperError>, Never>)
        case handler(@Sendable (Result<ZooKeeperResponse, ZooKeeperError>) -> Void)

        func resume(returning result: Result<ZooKeeperResponse, ZooKeeperError>) {
            switch self {
            case .caller(let continuation): continuation.resume(returning: result)
            case .handler(let handler): handler(result)
            }
        }
    }

    struct Snapshot: Sendable {
        var state: ConnectionState = .connecting
        var sessionID: Int64 = 0
        var password: [UInt8] = []
        var negotiatedTimeout: Int32 = 0
        var server: HostAndPort?
        /// The authentication machine's credentials, as of the last `addAuth`.
        var credentials: [AuthPacket] = []
    }

    private struct Inbox {
        var submissions: [Machine.Submission] = []
        /// A task that takes the submissions is queued on the loop.
        var takeScheduled = false
    }

    private struct WatcherSink {
        var continuation: AsyncStream<WatchedEvent>.Continuation
        var oneShot: Bool
    }

    let eventLoop: any EventLoop
    /// The configured logger with the session's metadata (`zk_session`, `zk_server`) kept current: every line
    /// the client logs says which session and which server it is about.
    private var logger: Logger
    /// The session id and server that `logger`'s metadata shows.
    private var loggedSession: (id: Int64, server: HostAndPort)?
    private var machine: Machine
    /// The machine's packet limit, read once: a request's size is checked against it on every send.
    private let packetLimit: Int
    private var channels: [ConnectionID: any Channel] = [:]
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Actions not yet carried out; `run` appends, and drains them unless it is already draining.
    private var actionQueue: [Machine.Action] = []
    private var running = false
    /// Encoded messages for `outboundConnection`, written together by `flush`.
    private var outbound = ByteBuffer()
    private var outboundConnection: ConnectionID?
    private var flushScheduled = false
    /// Requests submitted from other threads, taken onto the loop together: one hop and one run of the actions
    /// for all that arrive before the loop gets to them, instead of one per request.
    private let inbox = NIOLockedValueBox(Inbox())
    /// The time of the read being handled: every frame of one read was received at the same moment.
    private var receivedAt: NIODeadline?
    private var watchers: [WatcherID: WatcherSink] = [:]
    private var connectWaiters: [Int: UnsafeContinuation<Result<Void, ZooKeeperError>, Never>] = [:]
    private var nextConnectWaiter = 0
    /// `ZooKeeperClient.run()` callers, resumed when the session ends or the service is told to stop.
    private var endWaiters: [UnsafeContinuation<Void, Never>] = []
    /// The service was told to stop (graceful shutdown or cancellation of `run()`).
    private var serviceStopRequested = false
    private let defaultEvents: AsyncStream<WatchedEvent>.Continuation
    private let defaultEventHandler: (@Sendable (WatchedEvent) -> Void)?
    private let connectionEvents: AsyncStream<ConnectionEvent>.Continuation
    private let snapshotBox = NIOLockedValueBox(Snapshot())
    private let nextWatcherID = NIOLockedValueBox(1)
    /// TLS for every connection, or nil for plaintext.
    private let tls: ClientTLS?
    /// Hosts whose last attempt failed in a way that retrying will not mend (TLS), with why. When it holds every
    /// host, callers waiting for a connection fail at once with the last reason instead of timing out.
    private var hopelessHosts: [HostAndPort: ZooKeeperError] = [:]
    private var lastHopelessReason: ZooKeeperError?
    /// Hosts being asked whether they speak TLS (after a plaintext connection was closed unanswered).
    private var tlsProbes: Set<HostAndPort> = []
    /// nil when no metrics backend is bootstrapped.
    private let metrics: ClientMetrics?
    /// The outstanding-requests count last reported to `metrics`.
    private var reportedOutstandingRequests = 0

    init(
        settings: Machine.Settings, eventLoop: any EventLoop, logger: Logger,
        defaultEvents: AsyncStream<WatchedEvent>.Continuation,
        connectionEvents: AsyncStream<ConnectionEvent>.Continuation,
        defaultEventHandler: (@Sendable (WatchedEvent) -> Void)? = nil, tls: ClientTLS? = nil,
        metrics: ClientMetrics? = nil
    ) {
        self.tls = tls
        self.metrics = metrics
        self.defaultEventHandler = defaultEventHandler
        self.eventLoop = eventLoop
        self.logger = logger
        self.machine = Machine(settings: settings, randomSeed: UInt64.random(in: 0...UInt64.max))
        self.packetLimit = settings.packetLimit
        self.defaultEvents = defaultEvents
        self.connectionEvents = connectionEvents
        updateLogMetadata()
    }

    var snapshot: Snapshot { snapshotBox.withLockedValue { $0 } }

    // MARK: Entry points (any thread)

    func start() {
        onLoop { driver in driver.machine.start(now: .now()) }
    }

    /// Sends a request; the continuation resumes with its result.
    func submit(_ submission: Machine.Submission) {
        if eventLoop.inEventLoop {
            takeInbox()
            run(machine.submit(submission, now: .now()))
            return
        }
        let scheduleTake = inbox.withLockedValue { inbox in
            inbox.submissions.append(submission)
            if inbox.takeScheduled { return false }
            inbox.takeScheduled = true
            return true
        }
        if scheduleTake { eventLoop.execute { self.takeInbox() } }
    }

    /// Submits what the inbox holds, in the order it was submitted, and carries out the actions together.
    private func takeInbox() {
        let submissions = inbox.withLockedValue { inbox in
            inbox.takeScheduled = false
            if inbox.submissions.isEmpty { return [Machine.Submission]() }
            // Swapped, not copied: the next submissions go to a fresh array while these are sent.
            var taken: [Machine.Submission] = []
            swap(&taken, &inbox.submissions)
            return taken
        }
        if submissions.isEmpty { return }
        let now = NIODeadline.now()
        carryingOutTogether {
            for submission in submissions { actionQueue += machine.submit(submission, now: now) }
        }
    }

    /// Sends requests in order, in one hop onto the event loop (and so, usually, in one write).
    func submit(_ submissions: [Machine.Submission]) {
        onLoop { driver in
            let now = NIODeadline.now()
            var actions: [Machine.Action] = []
            for submission in submissions { actions += driver.machine.submit(submission, now: now) }
            return actions
        }
    }

    /// Registers a watch stream, then sends the request that arms it, in one step on the loop so that no event
    /// can slip between the two.
    func submit(
        _ submission: Machine.Submission, watcher: WatcherID, continuation: AsyncStream<WatchedEvent>.Continuation,
        oneShot: Bool
    ) {
        onLoop { driver in
            driver.watchers[watcher] = WatcherSink(continuation: continuation, oneShot: oneShot)
            return driver.machine.submit(submission, now: .now())
        }
    }

    func addAuth(_ packet: AuthPacket, token: Token) {
        onLoop { driver in
            let actions = driver.machine.addAuth(packet, token: token, now: .now())
            // Published here, the only place the list grows: readers need not hop onto the loop.
            let credentials = driver.machine.authentication.credentials
            driver.snapshotBox.withLockedValue { $0.credentials = credentials }
            return actions
        }
    }

    func close(token: Token?) {
        onLoop { driver in driver.machine.close(token: token, now: .now()) }
    }

    func makeWatcherID() -> WatcherID {
        nextWatcherID.withLockedValue { value in
            defer { value += 1 }
            return value
        }
    }

    /// The owner of a watch stream stopped listening, or its request failed.
    func dropWatcher(_ watcher: WatcherID) {
        onLoop { driver in
            if let sink = driver.watchers.removeValue(forKey: watcher) { sink.continuation.finish() }
            driver.machine.watcherDropped(watcher)
            return []
        }
    }

    /// Resumes when the session is connected (read-write or read-only); fails on a terminal state or timeout.
    func waitUntilConnected(timeout: TimeAmount, continuation: UnsafeContinuation<Result<Void, ZooKeeperError>, Never>)
    {
        onLoop { driver in
            switch driver.machine.connectionState {
            case .connected, .connectedReadOnly:
                continuation.resume(returning: .success(()))
            case .closed:
                continuation.resume(returning: .failure(ZooKeeperError(.sessionExpired)))
            case .authFailed:
                continuation.resume(returning: .failure(driver.machine.terminalError ?? ZooKeeperError(.authFailed)))
            case .connecting:
                if let reason = driver.reasonEveryHostFailed {
                    continuation.resume(returning: .failure(reason))
                    return []
                }
                driver.nextConnectWaiter += 1
                let key = driver.nextConnectWaiter
                driver.connectWaiters[key] = continuation
                driver.eventLoop.scheduleTask(in: timeout) {
                    driver.connectWaiters.removeValue(forKey: key)?.resume(
                        returning: .failure(ZooKeeperError(.connectionLoss)))
                }
            }
            return []
        }
    }

    /// Resumes when the session has ended (closed, expired, authentication failed) or `stopWaitingForEnd` was
    /// called, whichever comes first.
    func waitUntilEnded(continuation: UnsafeContinuation<Void, Never>) {
        onLoop { driver in
            if driver.serviceStopRequested || !driver.machine.connectionState.isAlive {
                continuation.resume()
            } else {
                driver.endWaiters.append(continuation)
            }
            return []
        }
    }

    /// Releases the `waitUntilEnded` callers (the service is stopping), and those that come later.
    func stopWaitingForEnd() {
        onLoop { driver in
            driver.serviceStopRequested = true
            driver.resumeEndWaiters()
            return []
        }
    }

    private func resumeEndWaiters() {
        let waiters = endWaiters
        endWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// Why the session ended, or nil while it is alive or when the program closed it.
    var endReason: ZooKeeperError? {
        eventLoop.preconditionInEventLoop()
        guard let error = machine.terminalError, error.code != .clientClosed else { return nil }
        return error
    }

    /// `endReason`, read on the loop.
    func sessionEndReason() async -> ZooKeeperError? {
        await withUnsafeContinuation { continuation in
            onLoop { driver in
                continuation.resume(returning: driver.endReason)
                return []
            }
        }
    }

    // MARK: From the channel (on the loop)

    func frameReceived(_ id: ConnectionID, _ frame: ByteBuffer) {
        run(machine.frameReceived(id, frame, now: receivedAt ?? .now()))
    }

    /// Runs `body`, which hands the machine the frames of one read, then carries out all their actions together
    /// (one write, one timer check, callers resumed in reply order).
    func framesReceived(_ body: () throws -> Void) rethrows {
        receivedAt = .now()
        defer { receivedAt = nil }
        try carryingOutTogether(body)
    }

    func channelClosed(_ id: ConnectionID) {
        updateLogMetadata()
        if channels.removeValue(forKey: id) != nil, machine.currentConnection == id {
            logger.debug(
                "connection to \(machine.currentHost) closed", metadata: ["zk_state": "\(machine.connectionState)"])
        }
        run(machine.connectionClosed(id, now: .now()))
    }

    /// The server sent a frame above the packet limit: the request it answers fails with PacketTooLarge.
    func oversizedFrameReceived(_ id: ConnectionID) {
        run(machine.oversizedReplyReceived(id, now: .now()))
    }

    // MARK: Running the machine

    /// Requests still in the inbox go first: nothing overtakes a request submitted before it.
    private func onLoop(_ body: @escaping @Sendable (SessionDriver) -> [Machine.Action]) {
        if eventLoop.inEventLoop {
            takeInbox()
            run(body(self))
        } else {
            eventLoop.execute {
                self.takeInbox()
                self.run(body(self))
            }
        }
    }

    /// Runs `body`, whose `run` calls only queue their actions, then carries them all out at once.
    private func carryingOutTogether(_ body: () throws -> Void) rethrows {
        if running { return try body() }
        running = true
        defer {
            running = false
            run([])
        }
        try body()
    }

    /// Carries out the machine's actions in order, then schedules the write and re-arms the timer.
    ///
    /// Not re-entrant: carrying out an action can call back into the driver synchronously (closing a channel
    /// fires `channelInactive`); the actions of such calls are queued behind the ones being carried out.
    private func run(_ actions: [Machine.Action]) {
        actionQueue += actions
        if running { return }
        running = true
        defer { running = false }
        var index = 0
        while index < actionQueue.count {
            perform(actionQueue[index])
            index += 1
        }
        actionQueue.removeAll(keepingCapacity: true)
        if outbound.readableBytes > 0 && !flushScheduled {
            // Coalesce: every request submitted before this runs goes out in one write.
            flushScheduled = true
            eventLoop.execute { self.flush() }
        }
        armTimer()
        if let metrics {
            let outstanding = machine.pendingCount + machine.queuedCount
            if outstanding != reportedOutstandingRequests {
                reportedOutstandingRequests = outstanding
                metrics.outstandingRequestsChanged(to: outstanding)
            }
        }
    }

    /// Encodes one message for connection `id`; bytes encoded for an earlier connection are dropped.
    private func encode(_ message: Machine.OutboundMessage, for id: ConnectionID) {
        if outboundConnection != id {
            outboundConnection = id
            outbound.clear()
        }
        switch message {
        case .connect(let request):
            outbound.writeZooKeeperFrame { request.encode(into: &$0) }
        case .request(let xid, let request):
            let start = outbound.writerIndex
            request.encodeFrame(xid: xid, into: &outbound)
            if outbound.writerIndex - start - 4 > packetLimit {
                outbound.moveWriterIndex(to: start)
                actionQueue += machine.requestTooLarge(id, xid: xid)
            }
        }
    }

    private func flush() {
        flushScheduled = false
        guard outbound.readableBytes > 0 else { return }
        guard let id = outboundConnection, id == machine.currentConnection, let channel = channels[id] else {
            return
        }
        let bytes = outbound
        // The storage now belongs to the write too; a plain clear() would allocate a buffer as large as the
        // largest request ever sent.
        outbound.clear(minimumCapacity: 256)
        channel.writeAndFlush(bytes, promise: nil)
    }

    private func armTimer() {
        guard let deadline = machine.nextDeadline else {
            timer?.cancel()
            timer = nil
            timerDeadline = nil
            return
        }
        if let timerDeadline, timerDeadline <= deadline { return }
        timer?.cancel()
        timerDeadline = deadline
        timer = eventLoop.scheduleTask(deadline: deadline) { [self] in
            timerDeadline = nil
            timer = nil
            run(machine.tick(now: .now()))
        }
    }

    /// Sets `zk_session` (hex, as Apache logs it: `0x…`) and `zk_server` (`host:port`) when either changed.
    private func updateLogMetadata() {
        let session = (id: machine.sessionID, server: machine.currentHost)
        if let loggedSession, loggedSession == session { return }
        loggedSession = session
        logger[metadataKey: "zk_session"] = "\(Self.sessionHex(session.id))"
        logger[metadataKey: "zk_server"] = "\(session.server)"
    }

    /// A session id as Apache writes it in logs and four-letter words: `0x` and unsigned lowercase hex.
    static func sessionHex(_ id: Int64) -> String {
        "0x" + String(UInt64(bitPattern: id), radix: 16)
    }

    private func perform(_ action: Machine.Action) {
        switch action {
        case .openConnection(let id, let host, let timeout):
            updateLogMetadata()
            logger.trace("connecting to \(host)")
            open(id, host: host, timeout: timeout)
        case .closeConnection(let id):
            // Anything queued for the old connection belongs to it alone.
            if let channel = channels.removeValue(forKey: id) {
                channel.close(promise: nil)
            }
        case .send(let id, let message):
            encode(message, for: id)
        case .complete(let token, let result):
            // A call that gave up waiting for a connection says why none could be made, when TLS is the reason.
            if case .failure(let error) = result, error.code == .connectionLoss, let reason = reasonEveryHostFailed {
                token.resume(
                    returning: .failure(ZooKeeperError(reason.code, path: error.path, message: reason.message)))
            } else {
                token.resume(returning: result)
            }
        case .deliver(let event, let targets):
            for target in targets {
                if target == 0 {
                    defaultEvents.yield(event)
                    defaultEventHandler?(event)
                } else if let sink = watchers[target] {
                    sink.continuation.yield(event)
                    let removed =
                        event.type == .dataWatchRemoved || event.type == .childWatchRemoved
                        || event.type == .persistentWatchRemoved
                    if (sink.oneShot && event.type != .none) || removed {
                        watchers.removeValue(forKey: target)
                        sink.continuation.finish()
                    }
                }
            }
        case .stateChanged(let state, let event):
            let machine = self.machine
            let host = machine.currentHost
            snapshotBox.withLockedValue { snapshot in
                snapshot.state = state
                snapshot.sessionID = machine.sessionID
                snapshot.password = machine.password
                snapshot.negotiatedTimeout = machine.negotiatedTimeout
                snapshot.server = host
            }
            updateLogMetadata()
            logger.debug("connection \(event)", metadata: ["zk_state": "\(state)"])
            metrics?.connectionChanged(event)
            connectionEvents.yield(event)
            resolveConnectWaiters(state)
        case .probeForReadWriteServer(let hosts):
            for host in hosts { probe(host) }
        case .finishWatchers:
            for (_, sink) in watchers { sink.continuation.finish() }
            watchers = [:]
            defaultEvents.finish()
            connectionEvents.finish()
            timer?.cancel()
        }
    }

    private func resolveConnectWaiters(_ state: ConnectionState) {
        let result: Result<Void, ZooKeeperError>
        switch state {
        case .connected, .connectedReadOnly: result = .success(())
        case .closed: result = .failure(ZooKeeperError(.sessionExpired))
        case .authFailed: result = .failure(machine.terminalError ?? ZooKeeperError(.authFailed))
        case .connecting: return
        }
        if !state.isAlive { resumeEndWaiters() }
        let waiters = connectWaiters
        connectWaiters = [:]
        for (_, waiter) in waiters { waiter.resume(returning: result) }
    }

    private func open(_ id: ConnectionID, host: HostAndPort, timeout: TimeAmount) {
        let packetLimit = machine.settings.packetLimit
        let tls = self.tls
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls {
                        // Requests written before the handshake completes wait in the TLS handler.
                        let observer = TLSHandshakeObserver(host: host, offersCertificate: tls.offersCertificate) {
                            [self] result in self.handshakeFinished(host: host, result)
                        }
                        try pipeline.addHandler(try tls.makeHandler(for: host))
                        try pipeline.addHandler(observer)
                    }
                    try pipeline.addHandler(
                        ZooKeeperClientChannelHandler(
                            driver: self, id: id, host: host, plaintext: tls == nil, packetLimit: packetLimit))
                }
            }
        let connected: EventLoopFuture<any Channel>
        if let address = try? SocketAddress(ipAddress: host.host, port: host.port) {
            // An address needs no lookup; NIO would still run getaddrinfo for it, on a thread it starts for that.
            connected = bootstrap.connect(to: address)
        } else {
            connected = bootstrap.connect(host: host.host, port: host.port)
        }
        connected.whenComplete { [self] result in
            switch result {
            case .success(let channel):
                guard machine.currentConnection == id else {
                    channel.close(promise: nil)
                    return
                }
                channels[id] = channel
                run(machine.connectionEstablished(id, now: .now()))
                flush()
            case .failure(let error):
                logger.debug("cannot connect to \(host): \(error)")
                run(machine.connectionClosed(id, now: .now()))
            }
        }
    }

    // MARK: Failures retrying cannot mend

    /// The reason to give callers waiting for a connection when every host has failed in a way retrying will
    /// not mend; nil while some host may still work.
    private var reasonEveryHostFailed: ZooKeeperError? {
        guard let lastHopelessReason, Set(machine.settings.hosts).isSubset(of: hopelessHosts.keys) else { return nil }
        return lastHopelessReason
    }

    private func handshakeFinished(host: HostAndPort, _ result: Result<Void, ZooKeeperError>) {
        switch result {
        case .success:
            hopelessHosts.removeAll()
            lastHopelessReason = nil
        case .failure(let reason):
            hostFailed(host, reason)
        }
    }

    private func hostFailed(_ host: HostAndPort, _ reason: ZooKeeperError) {
        logger.debug("\(reason)")
        hopelessHosts[host] = reason
        lastHopelessReason = reason
        guard let reason = reasonEveryHostFailed else { return }
        let waiters = connectWaiters
        connectWaiters = [:]
        for (_, waiter) in waiters { waiter.resume(returning: .failure(reason)) }
    }

    /// A server answered the session handshake: whatever failed there before is mended.
    func hostAnswered(_ host: HostAndPort) {
        if hopelessHosts.removeValue(forKey: host) != nil, hopelessHosts.isEmpty { lastHopelessReason = nil }
    }

    /// A plaintext connection that the server closed before answering: a TLS-only port does that. Asks the host
    /// with a TLS handshake (any certificate accepted: only whether it speaks TLS matters).
    func closedUnanswered(_ host: HostAndPort) {
        guard tls == nil, !tlsProbes.contains(host) else { return }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        guard let context = try? NIOSSLContext(configuration: configuration) else { return }
        tlsProbes.insert(host)
        let speaksTLS = NIOLoopBoundBox(false, eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: context, serverHostname: nil))
                    try channel.pipeline.syncOperations.addHandler(TLSProbeHandler(speaksTLS: speaksTLS))
                }
            }
            .connect(host: host.host, port: host.port)
            .whenComplete { [self] result in
                switch result {
                case .failure:
                    tlsProbes.remove(host)
                case .success(let channel):
                    _ = channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
                    channel.closeFuture.whenComplete { [self] _ in
                        tlsProbes.remove(host)
                        guard speaksTLS.value else { return }
                        hostFailed(
                            host,
                            ZooKeeperError(
                                .tlsRequiredByServer,
                                message:
                                    "TLS: \(host) accepts only TLS connections; enable TLS (zookeeper.client.secure=true and a trust store)"
                            ))
                    }
                }
            }
    }

    /// Asks `host` whether it is a read-write server (`isro` answers `rw`).
    private func probe(_ host: HostAndPort) {
        let answer = NIOLoopBoundBox(ByteBuffer(), eventLoop: eventLoop)
        ClientBootstrap(group: eventLoop)
            .connectTimeout(.seconds(1))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CollectingHandler(sink: answer))
                }
            }
            .connect(host: host.host, port: host.port)
            .whenSuccess { channel in
                channel.writeAndFlush(ByteBuffer(string: "isro"), promise: nil)
                channel.closeFuture.whenComplete { [self] _ in
                    if answer.value.readableBytesView.elementsEqual("rw".utf8) {
                        run(machine.readWriteServerFound(host, now: .now()))
                    }
                }
                _ = channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
            }
    }
}

/// Cuts the connection's bytes into frames and hands them, and the connection's end, to the driver; makes no
/// decisions. The frames of one read go to the driver together, which carries out their actions at once.
///
/// It frames the bytes itself with `ZooKeeperFrameDecoder` instead of sitting behind NIO's `ByteToMessageHandler`:
/// that handler's first use in a process costs a one-shot a fifth of its instructions (three scans of every
/// protocol-conformance record in the binary for its generic type and casts, and a failed lookup of Foundation's
/// `__SwiftValue` by name behind its `self as? CanDequeueWrites`; BENCHMARKS.md, issue 17).
final class ZooKeeperClientChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let driver: SessionDriver
    private let id: ConnectionID
    private let host: HostAndPort
    private let plaintext: Bool
    private var answered = false
    private var decoder: ZooKeeperFrameDecoder
    /// The start of a frame whose end has not arrived yet.
    private var partialFrame: ByteBuffer?
    /// After a frame over the packet limit the connection is being closed: what follows is not read.
    private var framingFailed = false

    init(driver: SessionDriver, id: ConnectionID, host: HostAndPort, plaintext: Bool, packetLimit: Int) {
        self.driver = driver
        self.id = id
        self.host = host
        self.plaintext = plaintext
        self.decoder = ZooKeeperFrameDecoder(maximumFrameLength: packetLimit)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !framingFailed else { return }
        var bytes = unwrapInboundIn(data)
        if var partialFrame {
            self.partialFrame = nil
            partialFrame.writeBuffer(&bytes)
            bytes = partialFrame
        }
        do {
            // All frames of this read first, then their actions together (one write, one timer check).
            try driver.framesReceived {
                while let frame = try decoder.decode(buffer: &bytes) {
                    if !answered {
                        answered = true
                        driver.hostAnswered(host)
                    }
                    driver.frameReceived(id, frame)
                }
            }
        } catch {
            framingFailed = true
            errorCaught(context: context, error: error)
            return
        }
        if bytes.readableBytes > 0 { partialFrame = bytes }
    }

    func channelInactive(context: ChannelHandlerContext) {
        partialFrame = nil
        if plaintext && !answered { driver.closedUnanswered(host) }
        driver.channelClosed(id)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A frame over the packet limit, a reset: this connection is done; the session goes on.
        if let error = error as? ProtocolError, error.code == .frameTooLarge {
            driver.oversizedFrameReceived(id)
        }
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ZooKeeperClientChannelHandler: Sendable {}

/// Tells whether the peer answered a TLS handshake: it completed, or the peer sent a TLS alert.
private final class TLSProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let speaksTLS: NIOLoopBoundBox<Bool>

    init(speaksTLS: NIOLoopBoundBox<Bool>) { self.speaksTLS = speaksTLS }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            speaksTLS.value = true
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if String(describing: error).contains("ALERT") { speaksTLS.value = true }
        context.close(promise: nil)
    }
}

/// Collects everything a four-letter-word answer contains.
private final class CollectingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let sink: NIOLoopBoundBox<ByteBuffer>

    init(sink: NIOLoopBoundBox<ByteBuffer>) { self.sink = sink }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        sink.value.writeBuffer(&buffer)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
