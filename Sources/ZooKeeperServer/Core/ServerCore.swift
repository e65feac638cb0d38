import NIOCore
import ZooKeeperProtocol

/// Something the core wants sent or done on a connection. The network layer carries these out in order.
enum CoreOutput: Sendable, Hashable {
    case connectResponse(ConnectionID, ConnectResponse)
    case reply(ConnectionID, ReplyHeader, ZooKeeperResponse)
    /// A watch notification: `zxid` is the transaction that fired it (-1 for events from SetWatches).
    case notification(ConnectionID, zxid: Int64, WatcherEvent)
    /// Close the connection once everything before this has been written.
    case close(ConnectionID)
    /// Hand the client's GSSAPI `token` (the SASL request `xid`) to the connection's Kerberos acceptor, away from
    /// the event loop; the connection reads no further request until `kerberosStepFinished` has its answer.
    case acceptKerberosToken(ConnectionID, xid: Int32, token: [UInt8])

    var connection: ConnectionID {
        switch self {
        case .connectResponse(let id, _), .reply(let id, _, _), .notification(let id, _, _), .close(let id),
            .acceptKerberosToken(let id, _, _):
            id
        }
    }
}

/// A server error code raised while preparing a request.
struct KeeperFailure: Error {
    let code: ZooKeeperError.Code
    init(_ code: ZooKeeperError.Code) { self.code = code }
}

/// The whole server state and its rules, with no I/O: znodes, sessions, watches, ACLs, and the request
/// processor that turns each request into a read result or a transaction.
///
/// Single-threaded by design: the network layer calls it from one event loop. Every state change is a
/// `Transaction` with the next zxid, applied by `apply(_:)` and handed to the `TransactionLog`.
final class ServerCore {
    let configuration: ServerConfiguration
    let clock: any ServerClock
    let log: any TransactionLog
    private let makePassword: () -> [UInt8]

    var tree = DataTree()
    var sessions: SessionTracker
    var watches = WatchManager()
    var connections: [ConnectionID: ConnectionContext] = [:]
    /// The zxid of the last transaction applied.
    private(set) var lastZxid: Int64 = 0
    var outputs: [CoreOutput] = []
    /// Set once the transaction log has failed: state-changing requests get NotReadOnly, sessions come and go
    /// in memory only (no zxid), and the tree stays as it is on disk until a restart.
    var refusesWrites = false
    /// What `mntr` and `/metrics` report of the core's work beyond the network's statistics.
    var activity = CoreActivity()

    /// The largest transaction logged: jute.maxbuffer plus as much again of headroom (Apache's
    /// `jute.maxbuffer.extrasize` default), so that every logged transaction can be read back (ZOOKEEPER-3496).
    var transactionSizeLimit: Int { configuration.packetLimit * 2 }

    /// A connection's SASL login in progress, by mechanism.
    enum SASLServerLogin {
        case digestMD5(DigestMD5Server)
        /// Kerberos: the acceptor (a library context) belongs to the network layer, which runs its steps.
        case gssapi
    }

    struct ConnectionContext {
        let remoteAddress: String
        var identities: ConnectionIdentities
        var sessionID: Int64?
        var isClosing = false
        /// The connection's SASL login, from its first SASL request on.
        var sasl: SASLServerLogin?
    }

    init(
        configuration: ServerConfiguration, clock: any ServerClock = SystemClock(),
        log: any TransactionLog = InMemoryTransactionLog(),
        makePassword: @escaping () -> [UInt8] = { (0..<16).map { _ in UInt8.random(in: 0...255) } }
    ) {
        self.configuration = configuration
        self.clock = clock
        self.log = log
        self.makePassword = makePassword
        sessions = SessionTracker(
            tickTime: Int64(configuration.tickTime), seedMilliseconds: clock.wallMilliseconds())
    }

    // MARK: Connections

    /// A connection was accepted from `remoteAddress` (an IP address without port).
    func connectionOpened(_ connection: ConnectionID, remoteAddress: String) {
        connections[connection] = ConnectionContext(
            remoteAddress: remoteAddress, identities: ConnectionIdentities(Id(scheme: "ip", id: remoteAddress)),
            sessionID: nil)
    }

    /// The connection's TLS handshake verified a client certificate whose subject is `x509Subject` (as Apache
    /// writes it): the connection gets that `x509` identity, and the super user's when the subject is
    /// `X509AuthenticationProvider.superUser`, as Apache's `X509AuthenticationProvider` gives them.
    func authenticated(_ connection: ConnectionID, x509Subject: String) {
        var added: [Id] = []
        if let superUser = configuration.x509SuperUser, superUser == x509Subject {
            added.append(Id(scheme: AccessControl.superScheme, id: x509Subject))
        }
        added.append(Id(scheme: AccessControl.x509Scheme, id: x509Subject))
        for id in added { connections[connection]?.identities.insert(id) }
    }

    /// The connection is gone: its watches go with it; its session lives on until it expires or is resumed.
    func connectionClosed(_ connection: ConnectionID) {
        guard let context = connections.removeValue(forKey: connection) else { return }
        watches.removeAll(for: connection)
        if let sessionID = context.sessionID {
            sessions.detach(sessionID, from: connection)
        }
    }

    /// The session a connection carries, if any.
    func sessionID(of connection: ConnectionID) -> Int64? {
        connections[connection]?.sessionID
    }

    // MARK: Handshake

    /// Handles the first frame of a connection.
    func connect(_ connection: ConnectionID, request: ConnectRequest) -> [CoreOutput] {
        guard connections[connection] != nil else { return [.close(connection)] }
        // A client that has seen a newer state than ours must look for another server.
        if request.lastZxidSeen > lastZxid {
            connections[connection]?.isClosing = true
            return [.close(connection)]
        }
        let now = clock.monotonicMilliseconds()
        let timeout = Int32(
            clamping: min(
                max(Int(request.timeout), configuration.effectiveMinSessionTimeout),
                configuration.effectiveMaxSessionTimeout))
        if request.sessionID == 0 {
            let sessionID = sessions.allocateID()
            let password = makePassword()
            if refusesWrites {
                sessions.add(id: sessionID, password: password, timeout: timeout, now: now)
            } else {
                commit(sessionID: sessionID, body: .createSession(timeout: timeout, password: password))
            }
            sessions.attach(sessionID, to: connection, now: now)
            connections[connection]?.sessionID = sessionID
            outputs.append(
                .connectResponse(
                    connection,
                    ConnectResponse(
                        timeout: timeout, sessionID: sessionID, password: password, readOnly: false,
                        hasReadOnlyField: request.hasReadOnlyField)))
            return takeOutputs()
        }
        guard let session = sessions[request.sessionID], session.password == request.password else {
            connections[connection]?.isClosing = true
            return [
                .connectResponse(connection, .invalidSession(hasReadOnlyField: request.hasReadOnlyField)),
                .close(connection),
            ]
        }
        if let previous = session.connection, previous != connection {
            // The session moves here; the old connection is closed (and its watches dropped).
            connections[previous]?.sessionID = nil
            connections[previous]?.isClosing = true
            outputs.append(.close(previous))
        }
        sessions.attach(session.id, to: connection, timeout: timeout, now: now)
        connections[connection]?.sessionID = session.id
        outputs.append(
            .connectResponse(
                connection,
                ConnectResponse(
                    timeout: timeout, sessionID: session.id, password: session.password, readOnly: false,
                    hasReadOnlyField: request.hasReadOnlyField)))
        return takeOutputs()
    }

    // MARK: Requests

    /// Opcodes this server answers; anything else gets Unimplemented and the connection is closed.
    static let servedOpCodes: Set<OpCode> = [
        .create, .delete, .exists, .getData, .setData, .getACL, .setACL, .getChildren, .sync, .ping,
        .getChildren2, .multi, .create2, .reconfig, .checkWatches, .removeWatches, .createContainer,
        .deleteContainer, .createTTL, .multiRead, .auth, .setWatches, .sasl, .getEphemerals,
        .getAllChildrenNumber, .setWatches2, .addWatch, .whoAmI, .closeSession,
    ]

    /// Handles one request frame (after the handshake) whose header has been read; `body` holds the rest.
    func request(_ connection: ConnectionID, header: RequestHeader, body: inout ByteBuffer) -> [CoreOutput] {
        guard let context = connections[connection], !context.isClosing, let sessionID = context.sessionID else {
            return []
        }
        sessions.touch(sessionID, now: clock.monotonicMilliseconds())
        let xid = header.xid
        if header.opCode != .auth && header.opCode != .sasl, let schemes = configuration.sasl.enforcedSchemes,
            !context.identities.ids.contains(where: { schemes.contains($0.scheme) })
        {
            // Apache's AuthenticationHelper: anything but auth and SASL from a session that has not authenticated
            // with an enforced scheme is refused and its connection closed (the session lives on until it expires).
            connections[connection]?.isClosing = true
            return [
                .reply(connection, ReplyHeader(xid: xid, zxid: 0, error: .sessionClosedRequireSaslAuth), .empty),
                .close(connection),
            ]
        }
        guard Self.servedOpCodes.contains(header.opCode) else {
            connections[connection]?.isClosing = true
            return [
                .reply(connection, ReplyHeader(xid: xid, zxid: -1, error: .unimplemented), .empty),
                .close(connection),
            ]
        }
        let request: ZooKeeperRequest
        do {
            request = try ZooKeeperRequest.decode(opCode: header.opCode, from: &body)
        } catch {
            // The frame itself was sound, so the connection can go on, as in Apache.
            return [.reply(connection, ReplyHeader(xid: xid, zxid: lastZxid, error: .marshallingError), .empty)]
        }
        handle(request, xid: xid, connection: connection, sessionID: sessionID)
        return takeOutputs()
    }

    /// Whether `request` would change the state (and so needs the log).
    static func changesState(_ request: ZooKeeperRequest) -> Bool {
        switch request {
        case .create, .create2, .createContainer, .createTTL, .delete, .deleteContainer, .setData, .setACL, .multi,
            .reconfig:
            true
        case .ping, .exists, .getData, .getChildren, .getChildren2, .getACL, .getAllChildrenNumber, .getEphemerals,
            .sync, .whoAmI, .multiRead, .setWatches, .setWatches2, .addWatch, .checkWatches, .removeWatches, .auth,
            .sasl, .check, .closeSession:
            false
        }
    }

    private func handle(_ request: ZooKeeperRequest, xid: Int32, connection: ConnectionID, sessionID: Int64) {
        if refusesWrites && Self.changesState(request) {
            reply(connection, xid: xid, .empty, error: .notReadOnly)
            return
        }
        switch request {
        case .ping:
            // Apache answers pings with the ping xid whatever the client sent.
            reply(connection, xid: SpecialXid.ping, .empty)
        case .exists(let r):
            read(connection, xid: xid) { () throws(KeeperFailure) in try exists(r, connection: connection) }
        case .getData(let r):
            read(connection, xid: xid) { () throws(KeeperFailure) in try getData(r, connection: connection) }
        case .getChildren(let r):
            read(connection, xid: xid) { () throws(KeeperFailure) in
                .children(try getChildren(r, connection: connection).0)
            }
        case .getChildren2(let r):
            read(connection, xid: xid) { () throws(KeeperFailure) in
                let (children, stat) = try getChildren(r, connection: connection)
                return .childrenAndStat(children, stat)
            }
        case .getACL(let r):
            read(connection, xid: xid) { () throws(KeeperFailure) in try getACL(r.path, connection: connection) }
        case .getAllChildrenNumber(let r):
            read(connection, xid: xid) { () throws(KeeperFailure) in
                let node = try readableNode(r.path, connection: connection)
                return .count(Int32(clamping: tree.descendantCount(of: node)))
            }
        case .getEphemerals(let r):
            let prefix = r.path
            let paths = (tree.ephemerals[sessionID] ?? []).filter { prefix.isEmpty || $0.hasPrefix(prefix) }
            reply(connection, xid: xid, .children(paths.sorted()))
        case .sync(let r):
            reply(connection, xid: xid, .path(r.path))
        case .whoAmI:
            reply(connection, xid: xid, .clientInfo(clientInfo(of: connection)))
        case .multiRead(let r):
            guard r.operations.allSatisfy(\.isRead) else {
                reply(connection, xid: xid, .empty, error: .marshallingError)
                return
            }
            reply(connection, xid: xid, .multi(MultiResponse(r.operations.map { multiRead($0, connection) })))
        case .setWatches(let r), .setWatches2(let r):
            setWatches(r, connection: connection)
            reply(connection, xid: xid, .empty)
        case .addWatch(let r):
            let kind: WatchKind
            switch AddWatchMode(rawValue: r.mode) {
            case .persistent: kind = .persistent
            case .persistentRecursive: kind = .persistentRecursive
            case nil:
                reply(connection, xid: xid, .empty, error: .badArguments)
                return
            }
            watches.add(kind, path: r.path, connection: connection)
            reply(connection, xid: xid, .errorCode(.ok))
        case .checkWatches(let r), .removeWatches(let r):
            let isRemoval = request.opCode == .removeWatches
            let code = watchRemoval(r, connection: connection, remove: isRemoval)
            reply(connection, xid: xid, .empty, error: code)
        case .auth(let packet):
            authenticate(packet, xid: xid, connection: connection)
        case .sasl(let token):
            saslLogin(token ?? [], xid: xid, connection: connection)
        case .check:
            // Only valid inside a multi.
            connections[connection]?.isClosing = true
            outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: -1, error: .unimplemented), .empty))
            outputs.append(.close(connection))
        case .closeSession:
            let zxid: Int64
            if refusesWrites {
                sessions.remove(sessionID)
                zxid = lastZxid
            } else {
                zxid = commit(sessionID: sessionID, body: closeSessionBody(sessionID))
            }
            outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: zxid), .empty))
            connections[connection]?.sessionID = nil
            connections[connection]?.isClosing = true
            outputs.append(.close(connection))
        case .reconfig:
            write(connection, xid: xid, sessionID: sessionID) {
                () throws(KeeperFailure) -> (TransactionBody, ResponseBuilder) in
                throw KeeperFailure(.reconfigDisabled)
            }
        case .create(let r):
            write(connection, xid: xid, sessionID: sessionID) { () throws(KeeperFailure) in
                let body = try prepareCreate(r, ttl: -1, connection: connection, sessionID: sessionID)
                return (body, { _ in .path(body.createdPath) })
            }
        case .create2(let r), .createContainer(let r):
            write(connection, xid: xid, sessionID: sessionID) { () throws(KeeperFailure) in
                let body = try prepareCreate(r, ttl: -1, connection: connection, sessionID: sessionID)
                return (body, { core in .pathAndStat(body.createdPath, core.stat(at: body.createdPath)) })
            }
        case .createTTL(let r):
            write(connection, xid: xid, sessionID: sessionID) { () throws(KeeperFailure) in
                let body = try prepareCreate(r, connection: connection, sessionID: sessionID)
                return (body, { core in .pathAndStat(body.createdPath, core.stat(at: body.createdPath)) })
            }
        case .delete(let r):
            write(connection, xid: xid, sessionID: sessionID) { () throws(KeeperFailure) in
                (try prepareDelete(r, connection: connection), { _ in .empty })
            }
        case .deleteContainer(let path):
            write(connection, xid: xid, sessionID: sessionID) { () throws(KeeperFailure) in
                (try prepareDeleteContainer(path, connection: connection), { _ in .empty })
            }
        case .setData(let r):
            write(connection, xid: xid, sessionID: sessionID) { () throws(KeeperFailure) in
                (try prepareSetData(r, connection: connection), { core in .stat(core.stat(at: r.path)) })
            }
        case .setACL(let r):
            write(connection, xid: xid, sessionID: sessionID) { () throws(KeeperFailure) in
                (try prepareSetACL(r, connection: connection), { core in .stat(core.stat(at: r.path)) })
            }
        case .multi(let r):
            guard !r.operations.contains(where: \.isRead) else {
                reply(connection, xid: xid, .empty, error: .marshallingError)
                return
            }
            multi(r.operations, xid: xid, connection: connection, sessionID: sessionID)
        }
    }

    // MARK: Replies

    func reply(
        _ connection: ConnectionID, xid: Int32, _ response: ZooKeeperResponse, error: ZooKeeperError.Code = .ok
    ) {
        outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: lastZxid, error: error), response))
    }

    private func read(
        _ connection: ConnectionID, xid: Int32, _ body: () throws(KeeperFailure) -> ZooKeeperResponse
    ) {
        do {
            reply(connection, xid: xid, try body())
        } catch {
            reply(connection, xid: xid, .empty, error: error.code)
        }
    }

    func takeOutputs() -> [CoreOutput] {
        // Swapped out rather than copied and cleared: clearing storage the caller still holds would allocate a
        // new buffer as large as the largest burst so far, on every request.
        var taken: [CoreOutput] = []
        swap(&taken, &outputs)
        return taken
    }

    // MARK: Permissions

    func ids(of connection: ConnectionID) -> [Id] {
        connections[connection]?.identities.ids ?? []
    }

    func isAllowed(_ permission: Permissions, _ node: Znode, ids: [Id]) -> Bool {
        AccessControl.isAllowed(permission, acl: tree.acl(of: node), ids: ids, skipACL: configuration.skipACL)
    }

    private func clientInfo(of connection: ConnectionID) -> [ClientInfo] {
        // Already in Apache's order (ConnectionIdentities).
        ids(of: connection).map { id in
            switch id.scheme {
            case "digest":
                let user = id.id.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
                return ClientInfo(authScheme: "digest", user: String(user))
            case AccessControl.superScheme:
                return ClientInfo(authScheme: id.scheme, user: "")
            default:
                return ClientInfo(authScheme: id.scheme, user: id.id)
            }
        }
    }

    private func authenticate(_ packet: AuthPacket, xid: Int32, connection: ConnectionID) {
        var added: [Id] = []
        switch packet.scheme {
        case "digest":
            if let credentials = packet.auth {
                let digest = AccessControl.digest(credentials: credentials)
                added.append(Id(scheme: "digest", id: digest))
                if let superDigest = configuration.superDigest, digest == superDigest {
                    added.append(Id(scheme: AccessControl.superScheme, id: ""))
                }
            }
        case "ip":
            if packet.auth != nil, let address = connections[connection]?.remoteAddress {
                added.append(Id(scheme: "ip", id: address))
            }
        default:
            break
        }
        guard !added.isEmpty else {
            connections[connection]?.isClosing = true
            outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: 0, error: .authFailed), .empty))
            outputs.append(.close(connection))
            return
        }
        for id in added { connections[connection]?.identities.insert(id) }
        outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: 0), .empty))
    }

    // MARK: SASL

    /// One step of the connection's SASL login: GSSAPI when the JAAS section has a Kerberos login, DIGEST-MD5
    /// otherwise. A failure, a token after the login completed included, costs the connection (AuthFailed, or
    /// SessionClosedRequireSaslAuth when SASL is required), as in Apache.
    ///
    /// A GSSAPI token goes out as `acceptKerberosToken`: the library's calls read the keytab and the replay cache,
    /// so they run away from the event loop, and the answer comes back through `kerberosStepFinished`.
    private func saslLogin(_ token: [UInt8], xid: Int32, connection: ConnectionID) {
        guard let users = configuration.sasl.digestUsers else {
            // No JAAS login: Apache answers with no token and the client goes on unauthenticated.
            outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: 0), .token(nil)))
            return
        }
        let login =
            connections[connection]?.sasl
            ?? (configuration.sasl.kerberos != nil
                ? .gssapi : .digestMD5(DigestMD5Server(passwords: users, nonce: makeNonce())))
        connections[connection]?.sasl = login
        switch login {
        case .digestMD5(var digest):
            let step = digest.responseReceived(token)
            connections[connection]?.sasl = .digestMD5(digest)
            switch step {
            case .challenge(let challenge):
                outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: 0), .token(challenge)))
            case .completed(let username, let proof):
                saslLoggedIn(username, xid: xid, connection: connection, token: proof)
            case .failed(let reason):
                saslLoginFailed(reason, xid: xid, connection: connection)
            }
        case .gssapi:
            outputs.append(.acceptKerberosToken(connection, xid: xid, token: token))
        }
    }

    /// The connection's Kerberos acceptor answered the token of the SASL request `xid` with `step`. Nothing
    /// happens when the connection has gone or is closing meanwhile.
    func kerberosStepFinished(_ step: GSSAPIServerMechanism.Step, xid: Int32, connection: ConnectionID)
        -> [CoreOutput]
    {
        guard let context = connections[connection], !context.isClosing else { return [] }
        switch step {
        case .challenge(let challenge):
            outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: 0), .token(challenge)))
        case .completed(let principal):
            let identity = configuration.sasl.saslIdentity(ofPrincipal: principal)
            saslLoggedIn(identity, xid: xid, connection: connection, token: nil)
        case .failed(let reason):
            saslLoginFailed(reason, xid: xid, connection: connection)
        }
        return takeOutputs()
    }

    private func saslLoggedIn(_ identity: String, xid: Int32, connection: ConnectionID, token: [UInt8]?) {
        var added = [Id(scheme: AccessControl.saslScheme, id: identity)]
        if configuration.sasl.superUser == identity { added.append(Id(scheme: AccessControl.superScheme, id: "")) }
        for id in added { connections[connection]?.identities.insert(id) }
        outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: 0), .token(token)))
    }

    private func saslLoginFailed(_ reason: String, xid: Int32, connection: ConnectionID) {
        saslFailures.append(reason)
        let code: ZooKeeperError.Code =
            configuration.sasl.isSASLAuthRequired ? .sessionClosedRequireSaslAuth : .authFailed
        connections[connection]?.isClosing = true
        outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: 0, error: code), .token(nil)))
        outputs.append(.close(connection))
    }

    /// Why SASL logins failed, oldest first, for the network layer to log (`takeSASLFailures()`).
    private var saslFailures: [String] = []

    /// The reasons of the SASL logins that failed since the last call.
    func takeSASLFailures() -> [String] {
        defer { saslFailures.removeAll() }
        return saslFailures
    }

    /// 128 random bits in hex.
    private func makeNonce() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let word = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - word.count) + word
        }.joined()
    }

    // MARK: Reads

    /// The node at `path` if it exists and the connection may read it.
    private func readableNode(_ path: String, connection: ConnectionID) throws(KeeperFailure) -> Znode {
        guard let node = tree.node(at: path) else { throw KeeperFailure(.noNode) }
        guard isAllowed(.read, node, ids: ids(of: connection)) else { throw KeeperFailure(.noAuth) }
        return node
    }

    private func exists(_ r: PathWatchRequest, connection: ConnectionID) throws(KeeperFailure) -> ZooKeeperResponse {
        if r.path.utf8.contains(0) { throw KeeperFailure(.badArguments) }
        guard let node = tree.node(at: r.path) else {
            // A watch on a missing node waits for its creation.
            if r.watch { watches.add(.data, path: r.path, connection: connection) }
            throw KeeperFailure(.noNode)
        }
        guard isAllowed(.read, node, ids: ids(of: connection)) else { throw KeeperFailure(.noAuth) }
        if r.watch { watches.add(.data, path: r.path, connection: connection) }
        activity.recordRead(path: r.path, bytes: 0, at: clock.monotonicMilliseconds())
        return .stat(node.stat)
    }

    private func getData(_ r: PathWatchRequest, connection: ConnectionID) throws(KeeperFailure) -> ZooKeeperResponse {
        let node = try readableNode(r.path, connection: connection)
        if r.watch { watches.add(.data, path: r.path, connection: connection) }
        recordDataRead(path: r.path, node)
        return .data(node.data, node.stat)
    }

    private func getChildren(_ r: PathWatchRequest, connection: ConnectionID) throws(KeeperFailure) -> (
        [String], Stat
    ) {
        let node = try readableNode(r.path, connection: connection)
        if r.watch { watches.add(.child, path: r.path, connection: connection) }
        let children = node.childNames
        recordChildrenRead(path: r.path, children)
        return (children, node.stat)
    }

    /// Apache's `DataTree.getData` counts the path and the data in the namespace's reads.
    private func recordDataRead(path: String, _ node: Znode) {
        activity.recordRead(path: path, bytes: Int64(node.dataLength), at: clock.monotonicMilliseconds())
    }

    /// Apache's `DataTree.getChildren` counts the path and the children's names (in Java characters).
    private func recordChildrenRead(path: String, _ children: [String]) {
        let bytes = children.reduce(Int64(0)) { $0 + CoreActivity.javaLength($1) }
        activity.recordRead(path: path, bytes: bytes, at: clock.monotonicMilliseconds())
    }

    private func getACL(_ path: String, connection: ConnectionID) throws(KeeperFailure) -> ZooKeeperResponse {
        guard let node = tree.node(at: path) else { throw KeeperFailure(.noNode) }
        let ids = ids(of: connection)
        let canAdminister = isAllowed(.admin, node, ids: ids)
        guard canAdminister || isAllowed(.read, node, ids: ids) else { throw KeeperFailure(.noAuth) }
        let acl = tree.acl(of: node)
        return .acl(canAdminister ? acl : AccessControl.redactingDigests(acl), node.stat)
    }

    private func multiRead(_ operation: MultiOperation, _ connection: ConnectionID) -> MultiResult {
        do throws(KeeperFailure) {
            switch operation {
            case .getChildren(let path):
                let node = try readableNode(path, connection: connection)
                let children = node.childNames
                recordChildrenRead(path: path, children)
                return .getChildren(children: children)
            case .getData(let path):
                let node = try readableNode(path, connection: connection)
                recordDataRead(path: path, node)
                return .getData(data: node.data, stat: node.stat)
            case .create, .create2, .createContainer, .createTTL, .delete, .setData, .check:
                return .error(.marshallingError)
            }
        } catch {
            return .error(error.code)
        }
    }

    // MARK: Watches

    /// Re-installs a reconnecting client's watches; anything that changed after `relativeZxid` fires at once.
    private func setWatches(_ r: SetWatches, connection: ConnectionID) {
        /// A data or child watch: fires at once when its node changed after the client's zxid, or is gone.
        func rearm(_ paths: [String], _ kind: WatchKind, changed: KeyPath<Znode, Int64>, event: EventType) {
            for path in paths {
                if let node = tree.node(at: path) {
                    if node[keyPath: changed] > r.relativeZxid {
                        notify(connection, event, path: path, zxid: -1, node: node)
                    } else {
                        watches.add(kind, path: path, connection: connection)
                    }
                } else {
                    notify(connection, .nodeDeleted, path: path, zxid: -1, node: nil)
                }
            }
        }
        // Apache's order: data, exist, child.
        rearm(r.dataWatches, .data, changed: \.mzxid, event: .nodeDataChanged)
        for path in r.existWatches {
            if let node = tree.node(at: path) {
                notify(connection, .nodeCreated, path: path, zxid: -1, node: node)
            } else {
                watches.add(.data, path: path, connection: connection)
            }
        }
        rearm(r.childWatches, .child, changed: \.pzxid, event: .nodeChildrenChanged)
        for path in r.persistentWatches {
            watches.add(.persistent, path: path, connection: connection)
        }
        for path in r.persistentRecursiveWatches {
            watches.add(.persistentRecursive, path: path, connection: connection)
        }
    }

    private func notify(
        _ connection: ConnectionID, _ type: EventType, path: String, zxid: Int64, node: Znode?
    ) {
        if let node, !isAllowed(.read, node, ids: ids(of: connection)) { return }
        outputs.append(
            .notification(connection, zxid: zxid, WatcherEvent(type: type, state: .syncConnected, path: path)))
    }

    /// checkWatches / removeWatches: NoWatcher when the connection holds no watch of that type on the path.
    private func watchRemoval(_ r: WatchesRequest, connection: ConnectionID, remove: Bool) -> ZooKeeperError.Code {
        let kinds: [WatchKind]
        switch r.type {
        case .children: kinds = [.child]
        case .data: kinds = [.data]
        case .any: kinds = WatchKind.allCases
        case .persistent: kinds = [.persistent]
        case .persistentRecursive: kinds = [.persistentRecursive]
        default: return .badArguments
        }
        var found = false
        for kind in kinds where watches.contains(kind, path: r.path, connection: connection) {
            found = true
            if remove { watches.remove(kind, path: r.path, connection: connection) }
        }
        return found ? .ok : .noWatcher
    }

    /// Delivers the events of an applied transaction to the connections watching, in order, each only to
    /// connections that may read the node (so persistent watches never reveal unreadable paths).
    func dispatch(_ events: [WatchTrigger], zxid: Int64) {
        let now = events.isEmpty ? 0 : clock.monotonicMilliseconds()
        for event in events {
            for size in watches.apacheTriggerSizes(event.type, path: event.path) {
                activity.recordWatchTrigger(event.type, watchers: size, at: now)
            }
            let targets = watches.trigger(event.type, path: event.path)
            for connection in targets {
                if !AccessControl.isAllowed(
                    .read, acl: event.acl, ids: ids(of: connection), skipACL: configuration.skipACL)
                {
                    continue
                }
                outputs.append(
                    .notification(
                        connection, zxid: zxid,
                        WatcherEvent(type: event.type, state: .syncConnected, path: event.path)))
            }
        }
    }

    // MARK: Transactions

    /// Assigns the next zxid to `body`, applies it, logs it, and delivers its watch events. Returns the zxid.
    @discardableResult
    func commit(sessionID: Int64, body: TransactionBody) -> Int64 {
        assert(!refusesWrites, "a transaction while the log refuses writes")
        let transaction = Transaction(
            zxid: lastZxid + 1, time: clock.wallMilliseconds(), sessionID: sessionID, body: body)
        let events = apply(transaction)
        dispatch(events, zxid: transaction.zxid)
        return transaction.zxid
    }

    /// Applies one transaction to the state and logs it. The only way state changes; replaying a log through
    /// it rebuilds the same state. Returns the watch events it fires, in order.
    @discardableResult
    func apply(_ transaction: Transaction) -> [WatchTrigger] {
        var events: [WatchTrigger] = []
        applyBody(transaction.body, transaction: transaction, events: &events)
        activity.commitWrites(at: clock.monotonicMilliseconds())
        lastZxid = transaction.zxid
        log.append(transaction)
        return events
    }

    /// Installs a state read from a snapshot (before the log after it is replayed). Every session gets a fresh
    /// deadline, as in Apache: its client has one timeout from now to come back.
    func restore(tree: DataTree, sessions restored: [SnapshotFile.SessionEntry], lastZxid: Int64) {
        self.tree = tree
        let now = clock.monotonicMilliseconds()
        for session in restored {
            sessions.add(id: session.id, password: session.password, timeout: session.timeout, now: now)
        }
        self.lastZxid = lastZxid
    }

    /// Gives every session a full timeout from now (after recovery, which takes time of its own).
    func refreshSessionDeadlines() {
        let now = clock.monotonicMilliseconds()
        for id in sessions.sessions.keys { sessions.touch(id, now: now) }
    }

    /// Applies a transaction read back from disk at start-up: no log, no watches. Idempotent, so that a log
    /// replayed over a fuzzy snapshot (which may already hold part of its effect) rebuilds the exact state.
    func replay(_ transaction: Transaction) {
        var events: [WatchTrigger] = []
        applyBody(transaction.body, transaction: transaction, events: &events)
        activity.commitWrites(at: clock.monotonicMilliseconds())
        lastZxid = max(lastZxid, transaction.zxid)
    }

    /// Appends an already-applied transaction (a multi whose operations were applied while being validated).
    func recordApplied(_ transaction: Transaction) {
        activity.commitWrites(at: clock.monotonicMilliseconds())
        lastZxid = transaction.zxid
        log.append(transaction)
    }

    @discardableResult
    func applyBody(_ body: TransactionBody, transaction: Transaction, events: inout [WatchTrigger]) -> Undo {
        let zxid = transaction.zxid
        switch body {
        case .createSession(let timeout, let password):
            sessions.add(
                id: transaction.sessionID, password: password, timeout: timeout,
                now: clock.monotonicMilliseconds())
            return .none
        case .closeSession(let ephemeralPaths?):
            for path in ephemeralPaths {
                if let node = tree.node(at: path), node.kind != .session(transaction.sessionID) {
                    // Only a replay over a fuzzy snapshot meets this: the walk reached the path after a later
                    // create put another node there. That create replays after this; the parent's pzxid still
                    // moves, as it did when the session closed.
                    if let parent = tree.node(at: String(ZooKeeperPath.parent(of: path))) {
                        parent.pzxid = max(parent.pzxid, zxid)
                    }
                } else {
                    // A node the snapshot no longer holds still moves its parent's pzxid (the delete case).
                    applyBody(.delete(path: path), transaction: transaction, events: &events)
                }
            }
            sessions.remove(transaction.sessionID)
            return .none
        case .closeSession(nil):
            // A record from before the paths were logged: the session's ephemerals as the tree knows them.
            for path in (tree.ephemerals[transaction.sessionID] ?? []).sorted(by: >) {
                applyBody(.delete(path: path), transaction: transaction, events: &events)
            }
            sessions.remove(transaction.sessionID)
            return .none
        case .create(let path, let data, let acl, let owner, let parentChildCreations):
            let parentPath = String(ZooKeeperPath.parent(of: path))
            guard let parent = tree.node(at: parentPath) else { return .none }
            let undo = Undo.created(
                path: path, parentPzxid: parent.pzxid, parentChildCreations: parent.childCreations)
            tree.insert(
                path: path, under: parent, data: data, acl: acl, ephemeralOwner: owner, zxid: zxid,
                time: transaction.time, parentChildCreations: parentChildCreations)
            activity.recordWrite(path: path, dataBytes: data?.count ?? 0)
            events.append(WatchTrigger(type: .nodeCreated, path: path, acl: acl))
            events.append(WatchTrigger(type: .nodeChildrenChanged, path: parentPath, acl: tree.acl(of: parent)))
            return undo
        case .delete(let path):
            let parentPath = String(ZooKeeperPath.parent(of: path))
            guard let parent = tree.node(at: parentPath) else { return .none }
            guard parent.child(named: ZooKeeperPath.name(of: path)) != nil else {
                // Only a replay over a fuzzy snapshot meets this: the walk passed the parent before the delete and
                // the child after it. The parent's pzxid still moves, as it did when the delete was made.
                parent.pzxid = max(parent.pzxid, zxid)
                return .none
            }
            let oldPzxid = parent.pzxid
            guard let (node, acl) = tree.remove(path: path, zxid: zxid) else { return .none }
            activity.recordWrite(path: path, dataBytes: 0)
            events.append(WatchTrigger(type: .nodeDeleted, path: path, acl: acl))
            events.append(WatchTrigger(type: .nodeChildrenChanged, path: parentPath, acl: tree.acl(of: parent)))
            return .deleted(path: path, node: node, acl: acl, parentPzxid: oldPzxid)
        case .setData(let path, let data, let version):
            guard let node = tree.node(at: path) else { return .none }
            let undo = Undo.dataSet(
                path: path, node: node, data: node.data, version: node.version, mzxid: node.mzxid, mtime: node.mtime)
            tree.setData(node, path: path, data: data, version: version, zxid: zxid, time: transaction.time)
            activity.recordWrite(path: path, dataBytes: data?.count ?? 0)
            events.append(WatchTrigger(type: .nodeDataChanged, path: path, acl: tree.acl(of: node)))
            return undo
        case .setACL(let path, let acl, let aversion):
            guard let node = tree.node(at: path) else { return .none }
            let undo = Undo.aclSet(node: node, acl: tree.acl(of: node), aversion: node.aversion)
            tree.setACL(node, acl: acl, aversion: aversion)
            return undo
        case .check:
            return .none
        case .multi(let bodies):
            for body in bodies {
                applyBody(body, transaction: transaction, events: &events)
            }
            return .none
        case .error:
            return .none
        }
    }

    /// How to take back one applied operation of a multi that fails later.
    enum Undo {
        case none
        case created(path: String, parentPzxid: Int64, parentChildCreations: Int32)
        case deleted(path: String, node: Znode, acl: [ACL], parentPzxid: Int64)
        case dataSet(path: String, node: Znode, data: [UInt8]?, version: Int32, mzxid: Int64, mtime: Int64)
        case aclSet(node: Znode, acl: [ACL], aversion: Int32)
        /// A quota statistics node's text before an operation rewrote it.
        case quotaText(node: Znode, data: [UInt8]?)
    }

    func undo(_ undo: Undo) {
        switch undo {
        case .none:
            break
        case .created(let path, let parentPzxid, let parentChildCreations):
            tree.remove(path: path, zxid: parentPzxid)
            if let parent = tree.node(at: String(ZooKeeperPath.parent(of: path))) {
                parent.pzxid = parentPzxid
                parent.childCreations = parentChildCreations
            }
        case .deleted(let path, let node, let acl, let parentPzxid):
            tree.restore(path: path, node: node, acl: acl)
            tree.node(at: String(ZooKeeperPath.parent(of: path)))?.pzxid = parentPzxid
        case .dataSet(let path, let node, let data, let version, let mzxid, let mtime):
            tree.setData(node, path: path, data: data, version: version, zxid: mzxid, time: mtime)
        case .aclSet(let node, let acl, let aversion):
            tree.setACL(node, acl: acl, aversion: aversion)
        case .quotaText(let node, let data):
            tree.setQuotaText(of: node, to: data)
        }
    }
}

/// One watch event produced by applying a transaction; `acl` is the node's ACL, used to decide who may see it.
struct WatchTrigger: Sendable, Hashable {
    var type: EventType
    var path: String
    var acl: [ACL]
}
