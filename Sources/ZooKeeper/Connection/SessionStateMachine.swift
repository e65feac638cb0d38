import DequeModule
import NIOCore
import ZooKeeperProtocol

/// Identifies one TCP connection attempt, so that late events from an abandoned connection are ignored.
typealias ConnectionID = Int

/// How a session connects: its servers, timeouts and credentials.
///
/// Outside the generic `SessionStateMachine` (its `Settings`) so that its type metadata is static: the metadata
/// of a type nested in a generic one is made at run time, and checking the generic requirements of
/// `SessionStateMachine<UnsafeContinuation<Result<ZooKeeperResponse, ZooKeeperError>, Never>>` costs a one-shot
/// `zkcli` two scans of every protocol conformance record in the binary (BENCHMARKS.md, issue 17).
struct SessionSettings {
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
    /// Authenticate every connection with SASL before any request.
    var sasl: SASLCredentials?
    /// A fresh client nonce for each SASL exchange.
    var makeNonce: @Sendable () -> String = Self.randomNonce

    init(
        hosts: [HostAndPort], chroot: String? = nil, requestedTimeout: Int32 = 30000, canBeReadOnly: Bool = false,
        packetLimit: Int = ZooKeeperFrameDecoder.defaultPacketLimit, queuedRequestTimeout: TimeAmount? = nil,
        maximumReconnectDelay: TimeAmount = .seconds(1), setWatchesBatchBytes: Int = 128 * 1024,
        resumeSession: (id: Int64, password: [UInt8])? = nil, sasl: SASLCredentials? = nil
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
        self.sasl = sasl
    }

    /// 128 random bits, in hex.
    @Sendable static func randomNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return MD5.hex((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// One client session across any number of connections, as a pure value: no sockets, no timers, no tasks.
///
/// Every input is a method named after what happened (`connectionEstablished`, `frameReceived`, `tick`, ...)
/// and returns the actions the driver must carry out, in order: open or close a connection, send a message,
/// complete a request, deliver a watch event, report a state change. `Token` is whatever the driver needs to
/// resume a caller.
///
/// What only one phase needs lives in that phase's case of `State`: the requests waiting for a connection
/// (`Backlog`), the connection's requests in flight and its timers (`Connection`), a close in progress
/// (`CloseStateMachine`), the read-only probe (`ReadOnlyProbeStateMachine`). What the session keeps across
/// connections (its id, password, zxid, watches, credentials) sits beside it.
struct SessionStateMachine<Token: Sendable> {
    typealias Settings = SessionSettings

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

    /// One message for the driver to encode and write.
    enum OutboundMessage: Hashable, Sendable {
        /// The handshake, first on every connection.
        case connect(ConnectRequest)
        /// A request with its xid (special xids for ping and auth).
        case request(xid: Int32, ZooKeeperRequest)
    }

    enum Action {
        case openConnection(ConnectionID, HostAndPort, timeout: TimeAmount)
        case closeConnection(ConnectionID)
        /// Encode and write on the connection; writes may be coalesced but keep their order. A request whose
        /// frame exceeds the packet limit is not written: report it with `requestTooLarge`.
        case send(ConnectionID, OutboundMessage)
        case complete(Token, Result<ZooKeeperResponse, ZooKeeperError>)
        case deliver(WatchedEvent, to: [WatcherID])
        case stateChanged(ConnectionState, ConnectionEvent)
        /// Ask `isro` of these hosts; report one that answers `rw` with `readWriteServerFound`.
        case probeForReadWriteServer([HostAndPort])
        /// The session is over: no watcher will get another event.
        case finishWatchers
    }

    enum Terminal: Equatable {
        case closed, expired
        /// The server rejected a credential; `reason` says which and why, when known.
        case authFailed(reason: String?)
    }

    /// Requests that wait for the session to be usable, and a close asked for meanwhile.
    struct Backlog {
        var queued = Deque<Queued>()
        /// Set once the caller asked to close: nothing more is queued, and the session is ended on the next
        /// connection (so that the server removes its ephemerals at once) or given up after a short bound.
        var close: CloseStateMachine<Token>?
    }

    struct Queued {
        var submission: Submission
        var deadline: NIODeadline
    }

    /// A connection being opened, or handshaking.
    struct Attempt {
        var id: ConnectionID
        var deadline: NIODeadline
        var backlog: Backlog
    }

    /// How the session came to this connection, for the events reported once it is ready.
    struct SessionOpening {
        var readOnly: Bool
        /// The same session as before (a reconnect), not a new one.
        var resumed: Bool
    }

    /// A connection that carries the session.
    struct Connection {
        let id: ConnectionID
        var pending = Deque<Pending>()
        var lastReceive: NIODeadline
        var lastSend: NIODeadline
        /// Set while the server is read-only.
        var readOnlyProbe: ReadOnlyProbeStateMachine?
    }

    struct Pending {
        enum Purpose {
            case caller(Submission)
            case setWatches
            case closeSession
            case sasl
        }
        var xid: Int32
        var opCode: OpCode
        var purpose: Purpose
    }

    enum State {
        case idle(Backlog)
        /// Opening the TCP connection.
        case connecting(Attempt)
        /// ConnectRequest sent, waiting for the ConnectResponse.
        case handshaking(Attempt)
        case waitingToReconnect(until: NIODeadline, Backlog)
        /// The session is established; the SASL exchange runs before any caller's request.
        case authenticating(Connection, SASLStateMachine, Backlog, SessionOpening)
        case connected(Connection)
        /// closeSession sent, waiting for its reply.
        case closing(Connection, CloseStateMachine<Token>)
        case terminated(Terminal)
        /// Only while a transition changes a case's payload in place (no copy-on-write copies).
        case modifying
    }

    let settings: Settings
    private(set) var state: State = .idle(Backlog())
    private(set) var sessionID: Int64 = 0
    private(set) var password = [UInt8](repeating: 0, count: 16)
    /// Milliseconds, as the server granted; 0 before the first session.
    private(set) var negotiatedTimeout: Int32 = 0
    /// Taken from replies only, never from notifications (a multi fires several events with one zxid).
    private(set) var lastZxidSeen: Int64 = 0
    private(set) var watches = WatchRegistry()
    private(set) var authentication = AuthenticationStateMachine<Token>()
    /// Whether a server ever gave this client a session (the next handshake resumes it).
    private var hasHadSession = false
    /// A session made on a read-only server is not resumed until a read-write server has been seen (as
    /// Apache's client does).
    private var seenReadWriteServer = false
    private var hostIndex = 0
    private var failedAttemptsInRound = 0
    private var nextConnectionID: ConnectionID = 0
    private var xid: Int32 = 0
    private var random: SplitMix
    private var actions: [Action] = []

    init(settings: Settings, randomSeed: UInt64) {
        self.settings = settings
        self.random = SplitMix(seed: randomSeed)
        if let resume = settings.resumeSession {
            sessionID = resume.id
            password = resume.password
            hasHadSession = true
            seenReadWriteServer = true
        }
    }

    // MARK: Queries

    var connectionState: ConnectionState {
        switch state {
        case .idle, .connecting, .handshaking, .waitingToReconnect, .authenticating: .connecting
        case .connected(let connection): connection.readOnlyProbe != nil ? .connectedReadOnly : .connected
        case .closing: .connected
        case .terminated(.authFailed): .authFailed
        case .terminated(.closed), .terminated(.expired): .closed
        case .modifying: preconditionFailure("Invalid state: \(state)")
        }
    }

    /// Why the session ended, as callers see it; nil while it lives.
    var terminalError: ZooKeeperError? {
        guard case .terminated(let terminal) = state else { return nil }
        return Self.error(for: terminal)
    }

    var currentConnection: ConnectionID? {
        switch state {
        case .connecting(let attempt), .handshaking(let attempt): attempt.id
        case .connected(let connection), .closing(let connection, _), .authenticating(let connection, _, _, _):
            connection.id
        case .idle, .waitingToReconnect, .terminated: nil
        case .modifying: preconditionFailure("Invalid state: \(state)")
        }
    }

    /// The server of the current connection attempt or session.
    var currentHost: HostAndPort { settings.hosts[hostIndex] }

    var pendingCount: Int {
        switch state {
        case .connected(let connection), .closing(let connection, _), .authenticating(let connection, _, _, _):
            connection.pending.count
        case .idle, .connecting, .handshaking, .waitingToReconnect, .terminated: 0
        case .modifying: preconditionFailure("Invalid state: \(state)")
        }
    }

    var queuedCount: Int { backlog?.queued.count ?? 0 }

    private var backlog: Backlog? {
        switch state {
        case .idle(let backlog), .waitingToReconnect(_, let backlog), .authenticating(_, _, let backlog, _): backlog
        case .connecting(let attempt), .handshaking(let attempt): attempt.backlog
        case .connected, .closing, .terminated: nil
        case .modifying: preconditionFailure("Invalid state: \(state)")
        }
    }

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
        func consider(_ candidate: NIODeadline?) {
            guard let candidate else { return }
            if deadline == nil || candidate < deadline! { deadline = candidate }
        }
        func consider(_ backlog: Backlog) {
            consider(backlog.queued.first?.deadline)
            consider(backlog.close?.giveUpAt)
        }
        switch state {
        case .idle(let backlog):
            consider(backlog)
        case .connecting(let attempt), .handshaking(let attempt):
            consider(attempt.deadline)
            consider(attempt.backlog)
        case .waitingToReconnect(let until, let backlog):
            consider(until)
            consider(backlog)
        case .authenticating(let connection, _, let backlog, _):
            consider(connection.lastReceive + readTimeout)
            consider(connection.lastSend + pingInterval)
            consider(backlog)
        case .connected(let connection):
            consider(connection.lastReceive + readTimeout)
            consider(connection.lastSend + pingInterval)
            consider(connection.readOnlyProbe?.nextProbe)
        case .closing(_, let close):
            consider(close.giveUpAt)
        case .terminated:
            return nil
        case .modifying:
            preconditionFailure("Invalid state: \(state)")
        }
        return deadline
    }

    // MARK: Inputs

    /// Begins connecting to the first host.
    mutating func start(now: NIODeadline) -> [Action] {
        guard case .idle(let backlog) = state else { return [] }
        emit(.stateChanged(.connecting, .connecting))
        openConnection(backlog, now: now)
        return takeActions()
    }

    /// The TCP connection is up: send the handshake.
    mutating func connectionEstablished(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        guard case .connecting(let attempt) = state, attempt.id == id else { return [] }
        let request = ConnectRequest(
            lastZxidSeen: lastZxidSeen, timeout: settings.requestedTimeout,
            sessionID: seenReadWriteServer ? sessionID : 0,
            password: seenReadWriteServer ? password : [UInt8](repeating: 0, count: 16),
            readOnly: settings.canBeReadOnly)
        emit(.send(id, .connect(request)))
        state = .handshaking(attempt)
        return takeActions()
    }

    /// The connection `id` failed to open or closed.
    mutating func connectionClosed(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        guard currentConnection == id else { return [] }
        connectionLost(now: now, closeConnection: false)
        return takeActions()
    }

    /// Connection `id` announced a reply above the packet limit: the oldest request (whose reply it is) fails
    /// with PacketTooLarge, and the connection is replaced.
    mutating func oversizedReplyReceived(_ id: ConnectionID, now: NIODeadline) -> [Action] {
        guard case .connected(var connection) = state, connection.id == id else { return [] }
        state = .modifying
        let head = connection.pending.popFirst()
        state = .connected(connection)
        if case .caller(let submission) = head?.purpose {
            fail(submission, with: .packetTooLarge)
        }
        connectionLost(now: now, closeConnection: true)
        return takeActions()
    }

    /// The driver did not write request `xid` on connection `id`: its frame exceeds the packet limit.
    mutating func requestTooLarge(_ id: ConnectionID, xid: Int32) -> [Action] {
        if case .authenticating(let connection, _, _, _) = state, connection.id == id {
            emit(.closeConnection(id))
            terminate(.authFailed(reason: "SASL authentication failed: a token exceeds the packet limit"))
            return takeActions()
        }
        guard case .connected(var connection) = state, connection.id == id,
            let index = connection.pending.firstIndex(where: { $0.xid == xid })
        else { return [] }
        state = .modifying
        let removed = connection.pending.remove(at: index)
        state = .connected(connection)
        if case .caller(let submission) = removed.purpose {
            fail(submission, with: .packetTooLarge)
        }
        return takeActions()
    }

    /// A frame arrived on connection `id`.
    mutating func frameReceived(_ id: ConnectionID, _ frame: ByteBuffer, now: NIODeadline) -> [Action] {
        if case .handshaking(let attempt) = state {
            if attempt.id == id { handshakeReceived(frame, attempt: attempt, now: now) }
            return takeActions()
        }
        // Not inside a switch over the state: no copy of the connection may be alive while the reply changes
        // it, or every change would copy its queue of requests in flight.
        if noteReceived(on: id, now: now) { replyReceived(frame, now: now) }
        return takeActions()
    }

    /// Notes that connection `id` was heard from; whether the frame is a reply for the session to handle.
    private mutating func noteReceived(on id: ConnectionID, now: NIODeadline) -> Bool {
        switch state {
        case .connected(var connection):
            guard connection.id == id else { return false }
            state = .modifying
            connection.lastReceive = now
            state = .connected(connection)
        case .closing(var connection, let close):
            guard connection.id == id else { return false }
            state = .modifying
            connection.lastReceive = now
            state = .closing(connection, close)
        case .authenticating(var connection, let sasl, let backlog, let opening):
            guard connection.id == id else { return false }
            state = .modifying
            connection.lastReceive = now
            state = .authenticating(connection, sasl, backlog, opening)
        case .idle, .connecting, .handshaking, .waitingToReconnect, .terminated:
            return false
        case .modifying:
            preconditionFailure("Invalid state: \(state)")
        }
        return true
    }

    /// A caller's request. Sent at once when connected; otherwise queued until the session is (re)established.
    mutating func submit(_ submission: Submission, now: NIODeadline) -> [Action] {
        switch state {
        case .connected(var connection):
            state = .modifying
            send(submission, on: &connection, now: now)
            state = .connected(connection)
        case .idle(var backlog):
            state = .modifying
            enqueue(submission, in: &backlog, now: now)
            state = .idle(backlog)
        case .connecting(var attempt):
            state = .modifying
            enqueue(submission, in: &attempt.backlog, now: now)
            state = .connecting(attempt)
        case .handshaking(var attempt):
            state = .modifying
            enqueue(submission, in: &attempt.backlog, now: now)
            state = .handshaking(attempt)
        case .waitingToReconnect(let until, var backlog):
            state = .modifying
            enqueue(submission, in: &backlog, now: now)
            state = .waitingToReconnect(until: until, backlog)
        case .authenticating(let connection, let sasl, var backlog, let opening):
            state = .modifying
            enqueue(submission, in: &backlog, now: now)
            state = .authenticating(connection, sasl, backlog, opening)
        case .closing:
            fail(submission, with: .clientClosed)
        case .terminated(let terminal):
            fail(submission, error: Self.error(for: terminal))
        case .modifying:
            preconditionFailure("Invalid state: \(state)")
        }
        return takeActions()
    }

    /// Adds credentials; they are re-sent on every reconnect. `token` completes when the server answers.
    mutating func addAuth(_ packet: AuthPacket, token: Token, now: NIODeadline) -> [Action] {
        switch state {
        case .terminated(let terminal):
            emit(.complete(token, .failure(Self.error(for: terminal))))
        case .closing:
            emit(.complete(token, .failure(ZooKeeperError(.clientClosed))))
        case .connected(var connection):
            if let packet = authentication.add(packet, waiter: token, connectionReady: true) {
                state = .modifying
                connection.lastSend = now
                state = .connected(connection)
                emit(.send(connection.id, .request(xid: SpecialXid.auth, .auth(packet))))
            }
        case .idle, .connecting, .handshaking, .waitingToReconnect, .authenticating:
            _ = authentication.add(packet, waiter: token, connectionReady: false)
        case .modifying:
            preconditionFailure("Invalid state: \(state)")
        }
        return takeActions()
    }

    /// Ends the session: closeSession when connected, otherwise at once (or on the next connection, if a
    /// server may still hold the session).
    mutating func close(token: Token?, now: NIODeadline) -> [Action] {
        switch state {
        case .connected(var connection):
            state = .modifying
            let xid = sendCloseSession(on: &connection, now: now)
            state = .closing(connection, .sent(xid: xid, now: now, replyTimeout: readTimeout, waiter: token))
        case .closing(let connection, var close):
            state = .modifying
            close.add(waiter: token)
            state = .closing(connection, close)
        case .authenticating(var connection, _, let backlog, _):
            // The server holds the session already: end it there now, SASL or not.
            state = .modifying
            for next in backlog.queued { fail(next.submission, with: .clientClosed) }
            let xid = sendCloseSession(on: &connection, now: now)
            state = .closing(connection, .sent(xid: xid, now: now, replyTimeout: readTimeout, waiter: token))
        case .idle(let backlog):
            state = .idle(closeRequested(backlog, token: token, now: now))
            terminate(.closed)
        case .connecting(var attempt):
            state = .modifying
            attempt.backlog = closeRequested(attempt.backlog, token: token, now: now)
            state = .connecting(attempt)
            if !hasHadSession {
                emit(.closeConnection(attempt.id))
                terminate(.closed)
            }
        case .handshaking(var attempt):
            state = .modifying
            attempt.backlog = closeRequested(attempt.backlog, token: token, now: now)
            state = .handshaking(attempt)
            if !hasHadSession {
                emit(.closeConnection(attempt.id))
                terminate(.closed)
            }
        case .waitingToReconnect(let until, let backlog):
            state = .waitingToReconnect(
                until: until, closeRequested(backlog, token: token, now: now))
            if !hasHadSession { terminate(.closed) }
        case .terminated:
            if let token { emit(.complete(token, .success(.empty))) }
        case .modifying:
            preconditionFailure("Invalid state: \(state)")
        }
        return takeActions()
    }

    /// Time passed: pings, read and connect timeouts, reconnects, queued-request timeouts, a close given up.
    ///
    /// Never expiry: however long no server answers, the session is expired only when a server says so (a
    /// ConnectResponse with timeout <= 0), as Apache's client and kazoo decide. A silence longer than the session
    /// timeout proves nothing: an ensemble that elects a new leader gives every session a fresh timeout, so the
    /// session may well live on when a server is reachable again.
    mutating func tick(now: NIODeadline) -> [Action] {
        switch state {
        case .idle(var backlog):
            state = .modifying
            expireQueued(&backlog, now: now)
            state = .idle(backlog)
        case .connecting(var attempt), .handshaking(var attempt):
            let handshaking = if case .handshaking = state { true } else { false }
            if attempt.backlog.close?.hasGivenUp(now: now) == true {
                emit(.closeConnection(attempt.id))
                terminate(.closed)
                break
            }
            state = .modifying
            expireQueued(&attempt.backlog, now: now)
            state = handshaking ? .handshaking(attempt) : .connecting(attempt)
            if now >= attempt.deadline { connectionLost(now: now, closeConnection: true) }
        case .waitingToReconnect(let until, var backlog):
            if backlog.close?.hasGivenUp(now: now) == true {
                terminate(.closed)
                break
            }
            state = .modifying
            expireQueued(&backlog, now: now)
            state = .waitingToReconnect(until: until, backlog)
            if now >= until { openConnection(backlog, now: now) }
        case .authenticating(var connection, let sasl, var backlog, let opening):
            if now >= connection.lastReceive + readTimeout {
                connectionLost(now: now, closeConnection: true)
                break
            }
            state = .modifying
            expireQueued(&backlog, now: now)
            if now >= connection.lastSend + pingInterval {
                emit(.send(connection.id, .request(xid: SpecialXid.ping, .ping)))
                connection.lastSend = now
            }
            state = .authenticating(connection, sasl, backlog, opening)
        case .connected(var connection):
            if now >= connection.lastReceive + readTimeout {
                connectionLost(now: now, closeConnection: true)
                break
            }
            state = .modifying
            if now >= connection.lastSend + pingInterval {
                emit(.send(connection.id, .request(xid: SpecialXid.ping, .ping)))
                connection.lastSend = now
            }
            if connection.readOnlyProbe?.tick(now: now) == true {
                let others = settings.hosts.enumerated().filter { $0.offset != hostIndex }.map(\.element)
                if !others.isEmpty { emit(.probeForReadWriteServer(others)) }
            }
            state = .connected(connection)
        case .closing(let connection, let close):
            if close.hasGivenUp(now: now) {
                emit(.closeConnection(connection.id))
                terminate(.closed)
            }
        case .terminated:
            break
        case .modifying:
            preconditionFailure("Invalid state: \(state)")
        }
        return takeActions()
    }

    /// While read-only, a read-write server answered the probe: move the session there.
    mutating func readWriteServerFound(_ host: HostAndPort, now: NIODeadline) -> [Action] {
        guard case .connected(let connection) = state, connection.readOnlyProbe != nil,
            let index = settings.hosts.firstIndex(of: host)
        else { return [] }
        connectionLost(now: now, closeConnection: true)
        guard case .waitingToReconnect(_, let backlog) = state else { return takeActions() }
        hostIndex = index
        failedAttemptsInRound = 0
        openConnection(backlog, now: now)
        return takeActions()
    }

    /// A watcher's owner stopped listening: forget its watches so they are not re-registered. Nothing to do
    /// on the wire: the server drops one-shot watches when they fire.
    mutating func watcherDropped(_ watcher: WatcherID) {
        watches.removeWatcher(watcher)
    }

    // MARK: Connecting

    private mutating func emit(_ action: Action) {
        actions.append(action)
    }

    private mutating func takeActions() -> [Action] {
        defer { actions = [] }
        return actions
    }

    private mutating func openConnection(_ backlog: Backlog, now: NIODeadline) {
        nextConnectionID += 1
        let id = nextConnectionID
        state = .connecting(Attempt(id: id, deadline: now + connectTimeout, backlog: backlog))
        emit(.openConnection(id, settings.hosts[hostIndex], timeout: connectTimeout))
    }

    private mutating func enqueue(_ submission: Submission, in backlog: inout Backlog, now: NIODeadline) {
        if backlog.close != nil {
            fail(submission, with: .clientClosed)
        } else {
            backlog.queued.append(Queued(submission: submission, deadline: now + settings.queuedRequestTimeout))
        }
    }

    /// Requests that waited too long for a connection fail with ConnectionLoss.
    private mutating func expireQueued(_ backlog: inout Backlog, now: NIODeadline) {
        while let first = backlog.queued.first, first.deadline <= now {
            backlog.queued.removeFirst()
            fail(first.submission, with: .connectionLoss)
        }
    }

    /// A close asked for while no connection carries the session: what waited is failed at once. With a
    /// session a server may still hold, the close waits (briefly) for a connection to end it there.
    private mutating func closeRequested(_ backlog: Backlog, token: Token?, now: NIODeadline) -> Backlog {
        var backlog = backlog
        if var close = backlog.close {
            close.add(waiter: token)
            backlog.close = close
            return backlog
        }
        while let next = backlog.queued.popFirst() { fail(next.submission, with: .clientClosed) }
        backlog.close = .whileReconnecting(
            now: now, bound: min(settings.queuedRequestTimeout, .seconds(2)), waiter: token)
        return backlog
    }

    private mutating func handshakeReceived(_ frame: ByteBuffer, attempt: Attempt, now: NIODeadline) {
        guard let response = try? ConnectResponse.decodeWhole(frame) else {
            connectionLost(now: now, closeConnection: true)
            return
        }
        guard response.timeout > 0 else {
            emit(.closeConnection(attempt.id))
            terminate(.expired)
            return
        }
        let resumed = hasHadSession && response.sessionID == sessionID
        sessionID = response.sessionID
        password = response.password
        negotiatedTimeout = response.timeout
        hasHadSession = true
        seenReadWriteServer = seenReadWriteServer || !response.readOnly
        failedAttemptsInRound = 0
        var connection = Connection(
            id: attempt.id, lastReceive: now, lastSend: now,
            readOnlyProbe: response.readOnly ? ReadOnlyProbeStateMachine(connectedAt: now) : nil)

        if var close = attempt.backlog.close {
            let xid = sendCloseSession(on: &connection, now: now)
            close.connected(xid: xid, now: now, replyTimeout: readTimeout)
            state = .closing(connection, close)
            return
        }
        let opening = SessionOpening(readOnly: response.readOnly, resumed: resumed)
        if let credentials = settings.sasl {
            let sasl = SASLStateMachine(
                credentials: credentials, cnonce: settings.makeNonce(), serverHost: currentHost.host)
            switch sasl.start() {
            case .send(let token):
                sendSASL(token, on: &connection, now: now)
                state = .authenticating(connection, sasl, attempt.backlog, opening)
            case .completed:
                sessionReady(connection, backlog: attempt.backlog, opening: opening, authenticated: true, now: now)
            case .failed(let reason):
                // No ticket, no library: nothing the server could change, so no retry.
                state = .authenticating(connection, sasl, attempt.backlog, opening)
                emit(.closeConnection(connection.id))
                terminate(.authFailed(reason: reason))
            }
            return
        }
        sessionReady(connection, backlog: attempt.backlog, opening: opening, now: now)
    }

    private mutating func sendSASL(_ token: [UInt8], on connection: inout Connection, now: NIODeadline) {
        let xid = nextXid()
        emit(.send(connection.id, .request(xid: xid, .sasl(token: token))))
        connection.pending.append(Pending(xid: xid, opCode: .sasl, purpose: .sasl))
        connection.lastSend = now
    }

    /// The server answered a SASL token: send the next, or finish opening the session, or give up.
    private mutating func saslReplyReceived(_ header: ReplyHeader, body frame: inout ByteBuffer, now: NIODeadline) {
        // In `closing`, a late SASL reply means nothing.
        guard case .authenticating(var connection, var sasl, let backlog, let opening) = state else { return }
        var token: [UInt8]?
        if header.error == .ok {
            guard case .token(let received)? = try? ZooKeeperResponse.decode(for: .sasl, from: &frame) else {
                connectionLost(now: now, closeConnection: true)
                return
            }
            token = received
        }
        state = .modifying
        let step = sasl.replyReceived(error: header.error, token: token)
        switch step {
        case .send(let next):
            sendSASL(next, on: &connection, now: now)
            state = .authenticating(connection, sasl, backlog, opening)
        case .completed:
            state = .authenticating(connection, sasl, backlog, opening)
            sessionReady(connection, backlog: backlog, opening: opening, authenticated: true, now: now)
        case .failed(let reason):
            state = .authenticating(connection, sasl, backlog, opening)
            emit(.closeConnection(connection.id))
            terminate(.authFailed(reason: reason))
        }
    }

    /// The session can carry requests: credentials first, then the watches, then what waited for it.
    private mutating func sessionReady(
        _ connection: Connection, backlog: Backlog, opening: SessionOpening, authenticated: Bool = false,
        now: NIODeadline
    ) {
        var connection = connection
        var backlog = backlog
        for packet in authentication.connectionReady() {
            emit(.send(connection.id, .request(xid: SpecialXid.auth, .auth(packet))))
        }
        if !watches.isEmpty {
            let chroot = settings.chroot
            for batch in watches.setWatchesBatches(
                relativeZxid: lastZxidSeen, maximumPathBytes: settings.setWatchesBatchBytes,
                serverPath: { Self.serverPath($0, chroot: chroot) })
            {
                let request: ZooKeeperRequest = batch.needsVersion2 ? .setWatches2(batch) : .setWatches(batch)
                let xid = nextXid()
                emit(.send(connection.id, .request(xid: xid, request)))
                connection.pending.append(Pending(xid: xid, opCode: request.opCode, purpose: .setWatches))
            }
        }
        while let next = backlog.queued.popFirst() {
            send(next.submission, on: &connection, now: now)
        }
        connection.lastSend = now
        state = .connected(connection)

        deliverStateEvent(opening.readOnly ? .connectedReadOnly : .syncConnected)
        if authenticated { deliverStateEvent(.saslAuthenticated) }
        let event: ConnectionEvent =
            opening.readOnly && !opening.resumed ? .connectedReadOnly : (opening.resumed ? .reconnected : .connected)
        emit(.stateChanged(opening.readOnly ? .connectedReadOnly : .connected, event))
    }

    /// The connection is gone (or unusable): fail what was in flight, tell the watchers, reconnect.
    private mutating func connectionLost(now: NIODeadline, closeConnection: Bool) {
        switch state {
        case .connected(let connection):
            if closeConnection { emit(.closeConnection(connection.id)) }
            failInFlight(connection, with: .connectionLoss)
            deliverStateEvent(.disconnected)
            emit(.stateChanged(.connecting, .disconnected))
            advanceHost()
            state = .waitingToReconnect(
                until: now + jitter(upTo: .nanoseconds(settings.maximumReconnectDelay.nanoseconds / 4)), Backlog())
        case .connecting(let attempt), .handshaking(let attempt):
            if closeConnection { emit(.closeConnection(attempt.id)) }
            attemptFailed(attempt.backlog, now: now)
        case .authenticating(let connection, _, let backlog, _):
            // Callers never saw this connection: like a failed handshake, with what waits kept waiting.
            if closeConnection { emit(.closeConnection(connection.id)) }
            failInFlight(connection, with: .connectionLoss)
            attemptFailed(backlog, now: now)
        case .closing(var connection, let close):
            if closeConnection { emit(.closeConnection(connection.id)) }
            failInFlight(connection, with: .connectionLoss)
            connection.pending = []
            state = .closing(connection, close)
            terminate(.closed)
        case .idle, .waitingToReconnect, .terminated:
            break
        case .modifying:
            preconditionFailure("Invalid state: \(state)")
        }
    }

    /// A connection attempt failed: try the next host, after a pause once every host failed in this round.
    private mutating func attemptFailed(_ backlog: Backlog, now: NIODeadline) {
        failedAttemptsInRound += 1
        advanceHost()
        if failedAttemptsInRound >= settings.hosts.count {
            failedAttemptsInRound = 0
            let half = TimeAmount.nanoseconds(settings.maximumReconnectDelay.nanoseconds / 2)
            state = .waitingToReconnect(until: now + half + jitter(upTo: half), backlog)
        } else {
            state = .waitingToReconnect(
                until: now + jitter(upTo: .nanoseconds(settings.maximumReconnectDelay.nanoseconds / 10)), backlog)
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

    /// A frame on a connection that carries the session: a reply, a notification, a ping or auth answer.
    private mutating func replyReceived(_ frame: ByteBuffer, now: NIODeadline) {
        var frame = frame
        guard let header = try? ReplyHeader(from: &frame) else {
            // A reply we cannot make sense of: the connection is unusable.
            connectionLost(now: now, closeConnection: true)
            return
        }
        switch header.xid {
        case SpecialXid.ping:
            return
        case SpecialXid.notification:
            guard let event = try? WatcherEvent.decodeWhole(frame) else {
                connectionLost(now: now, closeConnection: true)
                return
            }
            let path = Self.clientPath(event.path, chroot: settings.chroot)
            let watchers = watches.materialize(type: event.type, path: path)
            if !watchers.isEmpty {
                emit(
                    .deliver(
                        WatchedEvent(type: event.type, state: event.state, path: path, zxid: header.zxid), to: watchers)
                )
            }
            return
        case SpecialXid.auth:
            switch authentication.replyReceived(header.error) {
            case .answered(let waiter, let result):
                if let waiter { emit(.complete(waiter, result)) }
            case .rejected(let waiter):
                let error = ZooKeeperError(.authFailed)
                if let waiter { emit(.complete(waiter, .failure(error))) }
                if let id = currentConnection { emit(.closeConnection(id)) }
                terminate(.authFailed(reason: nil))
            }
            return
        default:
            break
        }
        guard let head = popPending(xid: header.xid) else {
            connectionLost(now: now, closeConnection: true)
            return
        }
        if header.zxid > 0 { lastZxidSeen = header.zxid }

        switch head.purpose {
        case .closeSession:
            if let id = currentConnection { emit(.closeConnection(id)) }
            terminate(.closed)
        case .setWatches:
            // Nothing waits for it.
            break
        case .sasl:
            saslReplyReceived(header, body: &frame, now: now)
        case .caller(let submission):
            callerReplyReceived(header, body: &frame, opCode: head.opCode, submission: submission, now: now)
        }
    }

    /// Removes the oldest request in flight if `xid` answers it; replies come in request order.
    private mutating func popPending(xid: Int32) -> Pending? {
        switch state {
        case .connected(var connection):
            guard connection.pending.first?.xid == xid else { return nil }
            state = .modifying
            let head = connection.pending.removeFirst()
            state = .connected(connection)
            return head
        case .closing(var connection, let close):
            guard connection.pending.first?.xid == xid else { return nil }
            state = .modifying
            let head = connection.pending.removeFirst()
            state = .closing(connection, close)
            return head
        case .authenticating(var connection, let sasl, let backlog, let opening):
            guard connection.pending.first?.xid == xid else { return nil }
            state = .modifying
            let head = connection.pending.removeFirst()
            state = .authenticating(connection, sasl, backlog, opening)
            return head
        case .idle, .connecting, .handshaking, .waitingToReconnect, .terminated:
            return nil
        case .modifying:
            preconditionFailure("Invalid state: \(state)")
        }
    }

    private mutating func callerReplyReceived(
        _ header: ReplyHeader, body frame: inout ByteBuffer, opCode: OpCode, submission: Submission, now: NIODeadline
    ) {
        var result: Result<ZooKeeperResponse, ZooKeeperError>
        if header.error == .ok {
            guard let response = try? ZooKeeperResponse.decode(for: opCode, from: &frame) else {
                fail(submission, with: .marshallingError)
                connectionLost(now: now, closeConnection: true)
                return
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
            emit(.complete(token, result))
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
            emit(.deliver(WatchedEvent(type: type, state: .syncConnected, path: removal.path), to: [watcher]))
        }
    }

    // MARK: Sending

    private mutating func nextXid() -> Int32 {
        // Wrap to 1, never into the reserved negative xids.
        xid = xid == Int32.max ? 1 : xid + 1
        return xid
    }

    private mutating func send(_ submission: Submission, on connection: inout Connection, now: NIODeadline) {
        switch submission.request {
        case .removeWatches, .checkWatches:
            if let removal = submission.removal, !watches.contains(path: removal.path, type: removal.type) {
                fail(submission, with: .noWatcher)
                return
            }
        default:
            break
        }
        let xid = nextXid()
        emit(.send(connection.id, .request(xid: xid, submission.request)))
        connection.pending.append(Pending(xid: xid, opCode: submission.request.opCode, purpose: .caller(submission)))
        connection.lastSend = now
    }

    private mutating func sendCloseSession(on connection: inout Connection, now: NIODeadline) -> Int32 {
        let xid = nextXid()
        emit(.send(connection.id, .request(xid: xid, .closeSession)))
        connection.pending.append(Pending(xid: xid, opCode: .closeSession, purpose: .closeSession))
        connection.lastSend = now
        return xid
    }

    // MARK: Failing and ending

    private mutating func fail(_ submission: Submission, with code: ZooKeeperError.Code) {
        if let removal = submission.removal, removal.local, removal.remove, code == .connectionLoss {
            // `removewatches -l`: forget locally when no server can be asked.
            removeWatches(removal)
            if let token = submission.token { emit(.complete(token, .success(.empty))) }
            return
        }
        fail(submission, error: ZooKeeperError(code, path: submission.clientPath))
    }

    private mutating func fail(_ submission: Submission, error: ZooKeeperError) {
        if let token = submission.token {
            var error = error
            error.path = error.path ?? submission.clientPath
            emit(.complete(token, .failure(error)))
        }
    }

    /// Fails the connection's requests in flight, then the waiters of its auth packets.
    private mutating func failInFlight(_ connection: Connection, with code: ZooKeeperError.Code) {
        for next in connection.pending {
            if case .caller(let submission) = next.purpose { fail(submission, with: code) }
        }
        for waiter in authentication.connectionLost() {
            emit(.complete(waiter, .failure(ZooKeeperError(code))))
        }
    }

    private mutating func terminate(_ terminal: Terminal) {
        let previous = state
        state = .terminated(terminal)
        let error = Self.error(for: terminal)
        var closeWaiters: [Token] = []
        var backlog: Backlog?
        switch previous {
        case .idle(let waiting), .waitingToReconnect(_, let waiting):
            backlog = waiting
        case .connecting(let attempt), .handshaking(let attempt):
            backlog = attempt.backlog
        case .connected(let connection):
            failInFlight(connection, with: error.code)
        case .authenticating(let connection, _, let waiting, _):
            failInFlight(connection, with: error.code)
            backlog = waiting
        case .closing(let connection, let close):
            failInFlight(connection, with: error.code)
            closeWaiters = close.waiters
        case .terminated:
            state = previous
            return
        case .modifying:
            preconditionFailure("Invalid state: \(previous)")
        }
        if let backlog {
            for next in backlog.queued { fail(next.submission, error: error) }
            closeWaiters = backlog.close?.waiters ?? []
        }
        for waiter in authentication.sessionEnded() {
            emit(.complete(waiter, .failure(error)))
        }
        switch terminal {
        case .closed:
            deliverStateEvent(.closed)
            emit(.stateChanged(.closed, .closed))
        case .expired:
            deliverStateEvent(.expired)
            emit(.stateChanged(.closed, .expired))
        case .authFailed:
            deliverStateEvent(.authFailed)
            emit(.stateChanged(.authFailed, .authFailed))
        }
        watches.removeAll()
        emit(.finishWatchers)
        for waiter in closeWaiters { emit(.complete(waiter, .success(.empty))) }
    }

    private static func error(for terminal: Terminal) -> ZooKeeperError {
        switch terminal {
        case .closed: ZooKeeperError(.clientClosed)
        case .expired: ZooKeeperError(.sessionExpired)
        case .authFailed(let reason): ZooKeeperError(.authFailed, message: reason)
        }
    }

    /// Connection-state events go to the default watcher and to every watcher with a watch.
    private mutating func deliverStateEvent(_ state: KeeperState) {
        var watchers = watches.allWatchers
        watchers.insert(0)
        emit(.deliver(WatchedEvent(type: .none, state: state, path: nil), to: watchers.sorted()))
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
