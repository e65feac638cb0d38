import DequeModule
import NIOCore
import ZooKeeperProtocol

/// Identifies one TCP connection attempt, so that late events from an abandoned connection are ignored.
typealias ConnectionID = Int

/// One client session across any number of connections, as a pure value: no sockets, no timers, no tasks.
///
/// Every input is a method named after what happened (`connectionEstablished`, `frameReceived`, `tick`, ...).
/// The machine answers by appending bytes to `outbound` (to be written to the current connection) and
/// `Output`s (open or close a connection, complete a request, deliver a watch event, report a state change),
/// in the order they must happen. `Token` is whatever the driver needs to resume a caller.
struct SessionStateMachine<Token: Sendable> {
    struct Settings {
        var hosts: [HostAndPort]
        var chroot: String?
        /// The session timeout asked of the server, in milliseconds.
        var requestedTimeout: Int32
        var canBeReadOnly: Bool
        var packetLimit: Int
        /// How long a request made while disconnected waits for a connection before failing.
        var queuedRequestTimeout: TimeAmount
        /// Upper bound of the jittered pause before reconnecting.
        var maximumReconnectDelay: TimeAmount
        var setWatchesBatchBytes: Int
        /// Resume this session instead of creating one.
        var resumeSession: (id: Int64, password: [UInt8])?

        init(
            hosts: [HostAndPort], chroot: String? = nil, requestedTimeout: Int32 = 30000, canBeReadOnly: Bool = false,
            packetLimit: Int = ZooKeeperFrameDecoder.defaultPacketLimit, queuedRequestTimeout: TimeAmount? = nil,
            maximumReconnectDelay: TimeAmount = .seconds(1), setWatchesBatchBytes: Int = 128 * 1024,
            resumeSession: (id: Int64, password: [UInt8])? = nil
        ) {
            self.hosts = hosts
            self.chroot = chroot
            self.requestedTimeout = requestedTimeout
            self.canBeReadOnly = canBeReadOnly
            self.packetLimit = packetLimit
            self.queuedRequestTimeout = queuedRequestTimeout ?? .milliseconds(Int64(requestedTimeout))
            self.maximumReconnectDelay = maximumReconnectDelay
            self.setWatchesBatchBytes = setWatchesBatchBytes
            self.resumeSession = resumeSession
        }
    }

    /// What to do with a watch once the reply of the request that asked for it arrives.
    struct WatchRegistration: Equatable, Sendable {
        enum Kind: Equatable, Sendable {
            case data, child, persistent, persistentRecursive
            /// exists: a data watch when the node exists, an exist watch when it does not.
            case exists
        }
        var kind: Kind
        var path: String
        var watcher: WatcherID
    }

    /// A removeWatches/checkWatches request: remove locally when the server agrees (or, with `local`, when no
    /// server can be asked).
    struct WatchRemoval: Equatable, Sendable {
        var path: String
        var type: WatcherType
        var local: Bool
        var remove: Bool
    }

    /// A request on its way: what to send and who is waiting.
    struct Submission: Sendable {
        var request: ZooKeeperRequest
        var token: Token?
        /// The caller's path (no chroot), for error messages.
        var clientPath: String?
        var watch: WatchRegistration?
        var removal: WatchRemoval?
    }

    enum Output {
        case openConnection(ConnectionID, HostAndPort, timeout: TimeAmount)
        case closeConnection(ConnectionID)
        case complete(Token, Result<ZooKeeperResponse, ZooKeeperError>)
        case deliver(WatchedEvent, to: [WatcherID])
        case stateChanged(ConnectionState, ConnectionEvent)
        /// Ask `isro` of these hosts; report one that answers `rw` with `readWriteServerFound`.
        case probeForReadWriteServer([HostAndPort])
        /// The session is over: no watcher will get another event.
        case finishWatchers
    }

    enum Terminal: Equatable {
        case closed, expired, authFailed
    }

    enum Phase {
        case idle
        case connecting(ConnectionID, deadline: NIODeadline)
        case handshaking(ConnectionID, deadline: NIODeadline)
        case connected(ConnectionID, readOnly: Bool)
        case waitingToReconnect(until: NIODeadline)
        case closing(ConnectionID?, deadline: NIODeadline)
        case terminated(Terminal)
    }

    private struct Pending {
        var xid: Int32
        var opCode: OpCode
        var submission: Submission?
        var isCloseSession: Bool { opCode == .closeSession }
    }

    private struct Queued {
        var submission: Submission
        var deadline: NIODeadline
    }

    let settings: Settings
    private(set) var phase: Phase = .idle
    private(set) var sessionID: Int64 = 0
    private(set) var password = [UInt8](repeating: 0, count: 16)
    /// Milliseconds, as the server granted; 0 before the first session.
    private(set) var negotiatedTimeout: Int32 = 0
    /// Taken from replies only, never from notifications (a multi fires several events with one zxid).
    private(set) var lastZxidSeen: Int64 = 0
    private(set) var watches = WatchRegistry()

    /// Bytes to write to the current connection.
    var outbound: ByteBuffer
    private var outputs: [Output] = []

    private var nextConnectionID: ConnectionID = 0
    private var hostIndex: Int
    private var failedAttemptsInRound = 0
    private var xid: Int32 = 0
    private var pending = Deque<Pending>()
    private var queued = Deque<Queued>()
    private var auths: [AuthPacket] = []
    /// Waiters for auth replies (xid -4), in send order; nil for auths re-sent on reconnect.
    private var authWaiters = Deque<Token?>()
    /// addAuth calls made while disconnected: sent with their waiters on the next connect.
    private var unsentAuths: [(packet: AuthPacket, waiter: Token)] = []
    private var closeWaiters: [Token] = []
    /// A close asked for while reconnecting: the session is ended on the next connection, if one comes before
    /// this deadline, so that the server removes its ephemerals at once.
    private var closeWhenConnectedBy: NIODeadline?
    private var hasHadSession = false
    private var seenReadWriteServer = false
    private var lastReceive = NIODeadline.uptimeNanoseconds(0)
    private var lastSend = NIODeadline.uptimeNanoseconds(0)
    /// When the last server of this session was heard from; the session is presumed expired one session
    /// timeout after it if no server can be reached.
    private var lastHeard = NIODeadline.uptimeNanoseconds(0)
    private var nextReadWriteProbe = NIODeadline.distantFuture
    private var readWriteProbeInterval = TimeAmount.milliseconds(100)
    private var random: SplitMix

    init(settings: Settings, randomSeed: UInt64, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        self.settings = settings
        self.outbound = allocator.buffer(capacity: 256)
        self.random = SplitMix(seed: randomSeed)
        self.hostIndex = 0
        if let resume = settings.resumeSession {
            sessionID = resume.id
            password = resume.password
            hasHadSession = true
            seenReadWriteServer = true
        }
    }

    // MARK: Queries

    var state: ConnectionState {
        switch phase {
        case .idle, .connecting, .handshaking, .waitingToReconnect: .connecting
        case .connected(_, let readOnly): readOnly ? .connectedReadOnly : .connected
        case .closing: .connected
        case .terminated(.authFailed): .authFailed
        case .terminated: .closed
        }
    }

    var currentConnection: ConnectionID? {
        switch phase {
        case .connecting(let id, _), .handshaking(let id, _), .connected(let id, _): id
        case .closing(let id, _): id
        case .idle, .waitingToReconnect, .terminated: nil
        }
    }

    /// The server of the current connection attempt or session.
    var currentHost: HostAndPort { settings.hosts[hostIndex] }

    var pendingCount: Int { pending.count }
    var queuedCount: Int { queued.count }

    private var readTimeout: TimeAmount {
        .milliseconds(Int64(negotiatedTimeout > 0 ? negotiatedTimeout : settings.requestedTimeout) * 2 / 3)
    }

    private var connectTimeout: TimeAmount {
        let timeout = Int64(negotiatedTimeout > 0 ? negotiatedTimeout : settings.requestedTimeout)
        return .milliseconds(max(500, timeout / Int64(settings.hosts.count)))
    }

    private var pingInterval: TimeAmount {
        min(.nanoseconds(readTimeout.nanoseconds / 2), .seconds(10))
    }

    /// The earliest moment at which `tick` has something to do.
    var nextDeadline: NIODeadline? {
        var deadline: NIODeadline?
        func consider(_ candidate: NIODeadline) {
            if deadline == nil || candidate < deadline! { deadline = candidate }
        }
        switch phase {
        case .idle, .terminated:
            return nil
        case .connecting(_, let until), .handshaking(_, let until):
            consider(until)
        case .waitingToReconnect(let until):
            consider(until)
        case .connected(_, let readOnly):
            consider(lastReceive + readTimeout)
            consider(lastSend + pingInterval)
            if readOnly { consider(nextReadWriteProbe) }
        case .closing(_, let until):
            consider(until)
        }
        if let first = queued.first { consider(first.deadline) }
        if let closeDeadline = closeWhenConnectedBy { consider(closeDeadline) }
        if isReconnecting && hasHadSession && negotiatedTimeout > 0 {
            consider(lastHeard + .milliseconds(Int64(negotiatedTimeout)))
        }
        return deadline
    }

    /// Looking for a server while the session may still be alive.
    private var isReconnecting: Bool {
        switch phase {
        case .connecting, .handshaking, .waitingToReconnect: true
        case .idle, .connected, .closing, .terminated: false
        }
    }

    mutating func drainOutputs(into other: inout [Output]) {
        swap(&outputs, &other)
    }

    // MARK: Inputs

    /// Begins connecting to the first host.
    mutating func start(now: NIODeadline) {
        guard case .idle = phase else { return }
        outputs.append(.stateChanged(.connecting, .connecting))
        openConnection(now: now)
    }

    /// The TCP connection is up: send the handshake.
    mutating func connectionEstablished(_ id: ConnectionID, now: NIODeadline) {
        guard case .connecting(id, let deadline) = phase else { return }
        let request = ConnectRequest(
            lastZxidSeen: lastZxidSeen, timeout: settings.requestedTimeout,
            sessionID: seenReadWriteServer ? sessionID : 0,
            password: seenReadWriteServer ? password : [UInt8](repeating: 0, count: 16),
            readOnly: settings.canBeReadOnly)
        outbound.writeZooKeeperFrame { request.encode(into: &$0) }
        lastSend = now
        phase = .handshaking(id, deadline: deadline)
    }

    /// The connection `id` failed to open or closed.
    mutating func connectionClosed(_ id: ConnectionID, now: NIODeadline) {
        guard currentConnection == id else { return }
        connectionLost(now: now, closeConnection: false)
    }

    /// Connection `id` announced a reply above the packet limit: the oldest request (whose reply it is) fails
    /// with PacketTooLarge, and the connection is replaced.
    mutating func oversizedReplyReceived(_ id: ConnectionID, now: NIODeadline) {
        guard currentConnection == id, case .connected = phase else { return }
        if let head = pending.popFirst(), let submission = head.submission {
            fail(submission, with: .packetTooLarge)
        }
        connectionLost(now: now, closeConnection: true)
    }

    /// A frame arrived on connection `id`.
    mutating func frameReceived(_ id: ConnectionID, _ frame: ByteBuffer, now: NIODeadline) {
        guard currentConnection == id else { return }
        lastReceive = now
        switch phase {
        case .handshaking:
            handshakeReceived(frame, now: now)
        case .connected, .closing:
            lastHeard = now
            do {
                try replyReceived(frame, now: now)
            } catch {
                // A reply we cannot make sense of: the connection is unusable.
                connectionLost(now: now, closeConnection: true)
            }
        case .idle, .connecting, .waitingToReconnect, .terminated:
            break
        }
    }

    /// A caller's request. Sent at once when connected; otherwise queued until the session is (re)established.
    mutating func submit(_ submission: Submission, now: NIODeadline) {
        switch phase {
        case .connected:
            send(submission, now: now)
        case .idle, .connecting, .handshaking, .waitingToReconnect:
            if closeWhenConnectedBy != nil {
                fail(submission, with: .clientClosed)
            } else {
                queued.append(Queued(submission: submission, deadline: now + settings.queuedRequestTimeout))
            }
        case .closing:
            fail(submission, with: .clientClosed)
        case .terminated(let terminal):
            fail(submission, with: Self.errorCode(for: terminal))
        }
    }

    /// Adds credentials; they are re-sent on every reconnect. `token` completes when the server answers.
    mutating func addAuth(_ packet: AuthPacket, token: Token, now: NIODeadline) {
        switch phase {
        case .terminated(let terminal):
            outputs.append(.complete(token, .failure(ZooKeeperError(Self.errorCode(for: terminal)))))
            return
        case .closing:
            outputs.append(.complete(token, .failure(ZooKeeperError(.clientClosed))))
            return
        case .connected:
            if !auths.contains(packet) { auths.append(packet) }
            sendAuth(packet, waiter: token, now: now)
        case .idle, .connecting, .handshaking, .waitingToReconnect:
            if !auths.contains(packet) { auths.append(packet) }
            unsentAuths.append((packet, token))
        }
    }

    /// Ends the session: closeSession when connected, otherwise at once.
    mutating func close(token: Token?, now: NIODeadline) {
        if let token { closeWaiters.append(token) }
        switch phase {
        case .connected(let id, _):
            let xid = nextXid()
            ZooKeeperRequest.closeSession.encodeFrame(xid: xid, into: &outbound)
            pending.append(Pending(xid: xid, opCode: .closeSession, submission: nil))
            lastSend = now
            phase = .closing(id, deadline: now + readTimeout)
        case .connecting, .handshaking, .waitingToReconnect:
            if hasHadSession {
                // The server may still hold the session: end it there once connected, within a short bound.
                if closeWhenConnectedBy == nil {
                    closeWhenConnectedBy = now + min(settings.queuedRequestTimeout, .seconds(2))
                    while let next = queued.popFirst() { fail(next.submission, with: .clientClosed) }
                }
            } else {
                if let id = currentConnection { outputs.append(.closeConnection(id)) }
                terminate(.closed)
            }
        case .idle:
            terminate(.closed)
        case .closing:
            break
        case .terminated:
            completeCloseWaiters()
        }
    }

    /// Time passed: pings, read and connect timeouts, reconnects, queued-request timeouts, local expiry.
    mutating func tick(now: NIODeadline) {
        if let deadline = closeWhenConnectedBy, now >= deadline, isReconnecting {
            if let id = currentConnection { outputs.append(.closeConnection(id)) }
            terminate(.closed)
            return
        }
        // Requests that waited too long for a connection.
        while let first = queued.first, first.deadline <= now {
            queued.removeFirst()
            fail(first.submission, with: .connectionLoss)
        }
        if isReconnecting && hasHadSession && negotiatedTimeout > 0
            && now >= lastHeard + .milliseconds(Int64(negotiatedTimeout))
        {
            // No server of the ensemble answered within the session timeout: the session is gone.
            if let id = currentConnection { outputs.append(.closeConnection(id)) }
            terminate(.expired)
            return
        }
        switch phase {
        case .connecting(_, let deadline), .handshaking(_, let deadline):
            if now >= deadline { connectionLost(now: now, closeConnection: true) }
        case .waitingToReconnect(let until):
            if now >= until { openConnection(now: now) }
        case .connected(_, let readOnly):
            if now >= lastReceive + readTimeout {
                connectionLost(now: now, closeConnection: true)
                return
            }
            if now >= lastSend + pingInterval {
                ZooKeeperRequest.ping.encodeFrame(xid: SpecialXid.ping, into: &outbound)
                lastSend = now
            }
            if readOnly && now >= nextReadWriteProbe {
                let others = settings.hosts.enumerated().filter { $0.offset != hostIndex }.map(\.element)
                if !others.isEmpty { outputs.append(.probeForReadWriteServer(others)) }
                readWriteProbeInterval = min(readWriteProbeInterval * 2, .seconds(60))
                nextReadWriteProbe = now + readWriteProbeInterval
            }
        case .closing(let id, let deadline):
            if now >= deadline {
                if let id { outputs.append(.closeConnection(id)) }
                terminate(.closed)
            }
        case .idle, .terminated:
            break
        }
    }

    /// While read-only, a read-write server answered the probe: move the session there.
    mutating func readWriteServerFound(_ host: HostAndPort, now: NIODeadline) {
        guard case .connected(_, true) = phase, let index = settings.hosts.firstIndex(of: host) else { return }
        connectionLost(now: now, closeConnection: true)
        hostIndex = index
        failedAttemptsInRound = 0
        phase = .waitingToReconnect(until: now)
        openConnection(now: now)
    }

    /// A watcher's owner stopped listening: forget its watches so they are not re-registered.
    mutating func watcherDropped(_ watcher: WatcherID) {
        watches.removeWatcher(watcher)
    }

    // MARK: Connecting

    private mutating func openConnection(now: NIODeadline) {
        nextConnectionID += 1
        let id = nextConnectionID
        phase = .connecting(id, deadline: now + connectTimeout)
        outbound.clear()
        outputs.append(.openConnection(id, settings.hosts[hostIndex], timeout: connectTimeout))
    }

    private mutating func handshakeReceived(_ frame: ByteBuffer, now: NIODeadline) {
        guard case .handshaking(let id, _) = phase else { return }
        guard let response = try? ConnectResponse.decodeWhole(frame) else {
            connectionLost(now: now, closeConnection: true)
            return
        }
        guard response.timeout > 0 else {
            outputs.append(.closeConnection(id))
            terminate(.expired)
            return
        }
        let isNewSession = response.sessionID != sessionID
        let wasConnectedBefore = hasHadSession && !isNewSession
        sessionID = response.sessionID
        password = response.password
        negotiatedTimeout = response.timeout
        hasHadSession = true
        seenReadWriteServer = seenReadWriteServer || !response.readOnly
        failedAttemptsInRound = 0
        lastHeard = now
        lastReceive = now
        phase = .connected(id, readOnly: response.readOnly)
        if response.readOnly {
            readWriteProbeInterval = .milliseconds(100)
            nextReadWriteProbe = now + readWriteProbeInterval
        }

        if closeWhenConnectedBy != nil {
            closeWhenConnectedBy = nil
            let xid = nextXid()
            ZooKeeperRequest.closeSession.encodeFrame(xid: xid, into: &outbound)
            pending.append(Pending(xid: xid, opCode: .closeSession, submission: nil))
            lastSend = now
            phase = .closing(id, deadline: now + readTimeout)
            return
        }

        // Before any caller's request: credentials, then the watches, then what waited for the connection.
        // Credentials added while disconnected go again with their waiters; sending one twice is harmless.
        for packet in auths where !unsentAuths.contains(where: { $0.packet == packet }) {
            sendAuth(packet, waiter: nil, now: now)
        }
        for (packet, waiter) in unsentAuths {
            sendAuth(packet, waiter: waiter, now: now)
        }
        unsentAuths = []
        if !watches.isEmpty {
            let chroot = settings.chroot
            for batch in watches.setWatchesBatches(
                relativeZxid: lastZxidSeen, maximumPathBytes: settings.setWatchesBatchBytes,
                serverPath: { Self.serverPath($0, chroot: chroot) })
            {
                let request: ZooKeeperRequest = batch.needsVersion2 ? .setWatches2(batch) : .setWatches(batch)
                let xid = nextXid()
                request.encodeFrame(xid: xid, into: &outbound)
                pending.append(Pending(xid: xid, opCode: request.opCode, submission: nil))
            }
        }
        while let next = queued.popFirst() {
            send(next.submission, now: now)
        }
        lastSend = now

        let keeperState: KeeperState = response.readOnly ? .connectedReadOnly : .syncConnected
        deliverStateEvent(keeperState)
        let event: ConnectionEvent =
            response.readOnly && !wasConnectedBefore
            ? .connectedReadOnly : (wasConnectedBefore ? .reconnected : .connected)
        outputs.append(.stateChanged(response.readOnly ? .connectedReadOnly : .connected, event))
    }

    /// The connection is gone (or unusable): fail what was in flight, tell the watchers, reconnect.
    private mutating func connectionLost(now: NIODeadline, closeConnection: Bool) {
        if closeConnection, let id = currentConnection { outputs.append(.closeConnection(id)) }
        switch phase {
        case .connected:
            failInFlight(with: .connectionLoss)
            deliverStateEvent(.disconnected)
            outputs.append(.stateChanged(.connecting, .disconnected))
            advanceHost()
            phase = .waitingToReconnect(
                until: now + jitter(upTo: .nanoseconds(settings.maximumReconnectDelay.nanoseconds / 4)))
        case .connecting, .handshaking:
            failedAttemptsInRound += 1
            advanceHost()
            if failedAttemptsInRound >= settings.hosts.count {
                // Every host failed in this round: back off before the next.
                failedAttemptsInRound = 0
                let half = TimeAmount.nanoseconds(settings.maximumReconnectDelay.nanoseconds / 2)
                phase = .waitingToReconnect(until: now + half + jitter(upTo: half))
            } else {
                phase = .waitingToReconnect(
                    until: now + jitter(upTo: .nanoseconds(settings.maximumReconnectDelay.nanoseconds / 10)))
            }
        case .closing:
            failInFlight(with: .connectionLoss)
            terminate(.closed)
        case .idle, .waitingToReconnect, .terminated:
            break
        }
    }

    private mutating func advanceHost() {
        hostIndex = (hostIndex + 1) % settings.hosts.count
    }

    private mutating func jitter(upTo maximum: TimeAmount) -> TimeAmount {
        guard maximum.nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64(random.next() % UInt64(maximum.nanoseconds)))
    }

    // MARK: Replies

    private enum ReplyFailure: Error { case violation }

    private mutating func replyReceived(_ frame: ByteBuffer, now: NIODeadline) throws(ReplyFailure) {
        var frame = frame
        guard let header = try? ReplyHeader(from: &frame) else { throw .violation }
        switch header.xid {
        case SpecialXid.ping:
            return
        case SpecialXid.notification:
            guard let event = try? WatcherEvent.decodeWhole(frame) else { throw .violation }
            let path = Self.clientPath(event.path, chroot: settings.chroot)
            let watchers = watches.materialize(type: event.type, path: path)
            if !watchers.isEmpty {
                outputs.append(
                    .deliver(
                        WatchedEvent(type: event.type, state: event.state, path: path, zxid: header.zxid),
                        to: watchers))
            }
            return
        case SpecialXid.auth:
            let waiter = authWaiters.popFirst() ?? nil
            if header.error == .authFailed {
                if let waiter { outputs.append(.complete(waiter, .failure(ZooKeeperError(.authFailed)))) }
                if let id = currentConnection { outputs.append(.closeConnection(id)) }
                terminate(.authFailed)
            } else if let waiter {
                let result: Result<ZooKeeperResponse, ZooKeeperError> =
                    header.error == .ok ? .success(.empty) : .failure(ZooKeeperError(header.error))
                outputs.append(.complete(waiter, result))
            }
            return
        default:
            break
        }
        guard let head = pending.first, head.xid == header.xid else { throw .violation }
        pending.removeFirst()
        if header.zxid > 0 { lastZxidSeen = header.zxid }

        if head.isCloseSession {
            if let id = currentConnection { outputs.append(.closeConnection(id)) }
            terminate(.closed)
            return
        }
        guard let submission = head.submission else {
            // SetWatches: nothing waits for it.
            return
        }
        var result: Result<ZooKeeperResponse, ZooKeeperError>
        if header.error == .ok {
            guard let response = try? ZooKeeperResponse.decode(for: head.opCode, from: &frame) else {
                fail(submission, with: .marshallingError)
                throw .violation
            }
            result = .success(stripChroot(response))
        } else {
            result = .failure(ZooKeeperError(header.error, path: submission.clientPath))
        }
        if let watch = submission.watch {
            register(watch, result: header.error)
        }
        if let removal = submission.removal, header.error == .ok, removal.remove {
            removeWatches(removal)
        }
        if let token = submission.token {
            outputs.append(.complete(token, result))
        }
    }

    private mutating func register(_ watch: WatchRegistration, result: ZooKeeperError.Code) {
        switch (watch.kind, result) {
        case (.data, .ok): watches.add(.data, path: watch.path, watcher: watch.watcher)
        case (.child, .ok): watches.add(.child, path: watch.path, watcher: watch.watcher)
        case (.persistent, .ok): watches.add(.persistent, path: watch.path, watcher: watch.watcher)
        case (.persistentRecursive, .ok):
            watches.add(.persistentRecursive, path: watch.path, watcher: watch.watcher)
        case (.exists, .ok): watches.add(.data, path: watch.path, watcher: watch.watcher)
        case (.exists, .noNode): watches.add(.exist, path: watch.path, watcher: watch.watcher)
        default: break
        }
    }

    private mutating func removeWatches(_ removal: WatchRemoval) {
        for (watcher, type) in watches.remove(path: removal.path, type: removal.type) {
            outputs.append(
                .deliver(WatchedEvent(type: type, state: .syncConnected, path: removal.path), to: [watcher]))
        }
    }

    // MARK: Sending

    private mutating func nextXid() -> Int32 {
        // Wrap to 1, never into the reserved negative xids.
        xid = xid == Int32.max ? 1 : xid + 1
        return xid
    }

    private mutating func send(_ submission: Submission, now: NIODeadline) {
        if case .removeWatches = submission.request, let removal = submission.removal,
            !watches.contains(path: removal.path, type: removal.type)
        {
            fail(submission, with: .noWatcher)
            return
        }
        if case .checkWatches = submission.request, let removal = submission.removal,
            !watches.contains(path: removal.path, type: removal.type)
        {
            fail(submission, with: .noWatcher)
            return
        }
        let xid = nextXid()
        let start = outbound.writerIndex
        submission.request.encodeFrame(xid: xid, into: &outbound)
        if outbound.writerIndex - start - 4 > settings.packetLimit {
            outbound.moveWriterIndex(to: start)
            fail(submission, with: .packetTooLarge)
            return
        }
        pending.append(
            Pending(xid: xid, opCode: submission.request.opCode, submission: submission))
        lastSend = now
    }

    private mutating func sendAuth(_ packet: AuthPacket, waiter: Token?, now: NIODeadline) {
        ZooKeeperRequest.auth(packet).encodeFrame(xid: SpecialXid.auth, into: &outbound)
        authWaiters.append(waiter)
        lastSend = now
    }

    // MARK: Failing and ending

    private mutating func fail(_ submission: Submission, with code: ZooKeeperError.Code) {
        if let removal = submission.removal, removal.local, removal.remove, code == .connectionLoss {
            // `removewatches -l`: forget locally when no server can be asked.
            removeWatches(removal)
            if let token = submission.token { outputs.append(.complete(token, .success(.empty))) }
            return
        }
        if let token = submission.token {
            outputs.append(.complete(token, .failure(ZooKeeperError(code, path: submission.clientPath))))
        }
    }

    private mutating func failInFlight(with code: ZooKeeperError.Code) {
        while let next = pending.popFirst() {
            if let submission = next.submission { fail(submission, with: code) }
        }
        while let waiter = authWaiters.popFirst() {
            if let waiter { outputs.append(.complete(waiter, .failure(ZooKeeperError(code)))) }
        }
    }

    private mutating func terminate(_ terminal: Terminal) {
        if case .terminated = phase { return }
        phase = .terminated(terminal)
        let code = Self.errorCode(for: terminal)
        failInFlight(with: code)
        while let next = queued.popFirst() { fail(next.submission, with: code) }
        for (_, waiter) in unsentAuths { outputs.append(.complete(waiter, .failure(ZooKeeperError(code)))) }
        unsentAuths = []
        switch terminal {
        case .closed:
            deliverStateEvent(.closed)
            outputs.append(.stateChanged(.closed, .closed))
        case .expired:
            deliverStateEvent(.expired)
            outputs.append(.stateChanged(.closed, .expired))
        case .authFailed:
            deliverStateEvent(.authFailed)
            outputs.append(.stateChanged(.authFailed, .authFailed))
        }
        watches.removeAll()
        outputs.append(.finishWatchers)
        completeCloseWaiters()
    }

    private mutating func completeCloseWaiters() {
        for waiter in closeWaiters { outputs.append(.complete(waiter, .success(.empty))) }
        closeWaiters = []
    }

    private static func errorCode(for terminal: Terminal) -> ZooKeeperError.Code {
        switch terminal {
        case .closed: .clientClosed
        case .expired: .sessionExpired
        case .authFailed: .authFailed
        }
    }

    /// Connection-state events go to the default watcher and to every watcher with a watch.
    private mutating func deliverStateEvent(_ state: KeeperState) {
        var watchers = watches.allWatchers
        watchers.insert(0)
        outputs.append(.deliver(WatchedEvent(type: .none, state: state, path: nil), to: watchers.sorted()))
    }

    // MARK: Chroot

    static func serverPath(_ clientPath: String, chroot: String?) -> String {
        guard let chroot else { return clientPath }
        return clientPath == "/" ? chroot : chroot + clientPath
    }

    static func clientPath(_ serverPath: String, chroot: String?) -> String {
        guard let chroot else { return serverPath }
        if serverPath == chroot { return "/" }
        if serverPath.hasPrefix(chroot), serverPath.utf8.dropFirst(chroot.utf8.count).first == UInt8(ascii: "/") {
            return String(serverPath.dropFirst(chroot.count))
        }
        return serverPath
    }

    private func stripChroot(_ response: ZooKeeperResponse) -> ZooKeeperResponse {
        guard let chroot = settings.chroot else { return response }
        switch response {
        case .path(let path):
            return .path(Self.clientPath(path, chroot: chroot))
        case .pathAndStat(let path, let stat):
            return .pathAndStat(Self.clientPath(path, chroot: chroot), stat)
        case .multi(let multi):
            return .multi(
                MultiResponse(
                    multi.results.map { result in
                        switch result {
                        case .create(let path): .create(path: Self.clientPath(path, chroot: chroot))
                        case .create2(let path, let stat):
                            .create2(path: Self.clientPath(path, chroot: chroot), stat: stat)
                        default: result
                        }
                    }))
        case .empty, .stat, .data, .acl, .children, .childrenAndStat, .count, .clientInfo, .errorCode, .token:
            return response
        }
    }
}

/// A small deterministic generator for reconnect jitter (seeded by the driver, fixed in tests).
struct SplitMix: Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
