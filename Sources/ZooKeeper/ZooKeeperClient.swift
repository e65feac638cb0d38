import CoreMetrics
import Logging
import NIOCore
import NIOPosix
import ZooKeeperProtocol
import ZooKeeperTLS

/// A ZooKeeper client: one session, kept across the servers of an ensemble.
///
/// Creating a client starts connecting at once; calls made before the session is up wait for it (up to
/// `Configuration.requestTimeoutWhileDisconnected`). Many calls may be in flight at the same time on the one
/// connection; replies come back in order. Close the client with `close()` (or use `withZooKeeperClient`),
/// which ends the session and removes its ephemeral nodes.
///
/// Watches: pass `watch: true` to a read to have the event delivered to `events` (the default watcher, as
/// zkCli uses it), or use the `…AndWatch` variants and `watch(_:mode:)` for a stream of one's own.
public final class ZooKeeperClient: Sendable {
    /// How a client connects, authenticates, logs and reports metrics. The defaults suit a plaintext standalone server.
    public struct Configuration: Sendable {
        /// The session timeout asked of the server; it grants a value within its own bounds.
        public var sessionTimeout: Duration = .seconds(30)
        /// Accept a read-only server when the ensemble has lost its quorum (reads only).
        public var canBeReadOnly = false
        /// The largest frame sent or accepted (Apache's jute.maxbuffer).
        public var packetLimit = ZooKeeperFrameDecoder.defaultPacketLimit
        /// How long a call made while disconnected waits for a connection; the session timeout when nil.
        public var requestTimeoutWhileDisconnected: Duration?
        /// Upper bound of the random pause before reconnecting.
        public var maximumReconnectDelay: Duration = .seconds(1)
        /// Try the servers in a random order (Apache's clients do, to spread sessions).
        public var shuffleHosts = true
        /// Resume an existing session instead of creating one.
        public var session: (id: Int64, password: [UInt8])?
        /// Authenticate with SASL on every connection, before any request (see `SASLCredentials`). A rejected
        /// credential ends the session: the state becomes `authFailed` and calls fail with AuthFailed.
        public var sasl: SASLCredentials?
        /// The SwiftNIO event loops to run on; nil for `MultiThreadedEventLoopGroup.singleton`. A client uses one loop of the group.
        public var eventLoopGroup: (any EventLoopGroup)?
        /// Where the client logs (connection changes at debug, attempts at trace); nothing by default. Every line carries `zk_session` (the session id, `0x…`) and `zk_server` (`host:port`).
        public var logger = Logger(label: "zookeeper", factory: { _ in SwiftLogNoOpLogHandler() })
        /// Also receives every event of the default watcher (as `events` does), synchronously on the client's
        /// event loop and in order: an event the server sent before a reply is handled before that reply's
        /// caller resumes. For programs (such as a shell) that must print events and results in server order.
        /// It must return quickly and must not call the client.
        public var defaultEventHandler: (@Sendable (WatchedEvent) -> Void)?
        /// TLS for every connection (Apache's `zookeeper.client.secure=true`); nil for plaintext. The stores are
        /// read when the client is made: a bad one fails `init` with `.tlsConfiguration`. A server that fails the
        /// handshake is skipped like an unreachable one; the error of the last attempt says why (`.tlsUntrusted…`).
        public var tls: TLSSettings?
        /// Where the client's metrics go (see <doc:Metrics>); nil for swift-metrics' global `MetricsSystem.factory`
        /// as it is when the client is made. With no backend bootstrapped the client measures nothing.
        public var metricsFactory: (any MetricsFactory)?

        /// The defaults: 30-second session, plaintext, no authentication, no logging, the global metrics factory.
        public init() {}
    }

    /// A write operation of a multi.
    public enum Operation: Sendable, Hashable {
        /// Creates a node; `ttl` (milliseconds) only with a TTL mode.
        case create(path: String, data: [UInt8]?, acl: [ACL], mode: CreateMode, ttl: Int64?)
        /// Deletes a node if its version is `version` (-1 for any).
        case delete(path: String, version: Int32)
        /// Replaces a node's data if its version is `version` (-1 for any).
        case setData(path: String, data: [UInt8]?, version: Int32)
        /// Fails the multi unless the node's version is `version`.
        case check(path: String, version: Int32)

        /// Creates a node (see `ZooKeeperClient.create(_:data:acl:mode:ttl:)`).
        public static func create(
            _ path: String, data: [UInt8]? = nil, acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
            ttl: Int64? = nil
        ) -> Operation {
            .create(path: path, data: data, acl: acl, mode: mode, ttl: ttl)
        }
        /// Deletes a node if its version is `version` (-1 for any).
        public static func delete(_ path: String, version: Int32 = -1) -> Operation {
            .delete(path: path, version: version)
        }
        /// Replaces a node's data if its version is `version` (-1 for any).
        public static func setData(_ path: String, data: [UInt8]?, version: Int32 = -1) -> Operation {
            .setData(path: path, data: data, version: version)
        }
        /// Fails the multi unless the node's version is `version`.
        public static func check(_ path: String, version: Int32) -> Operation {
            .check(path: path, version: version)
        }

        /// The node the operation is about.
        public var path: String {
            switch self {
            case .create(let path, _, _, _, _), .delete(let path, _), .setData(let path, _, _), .check(let path, _):
                path
            }
        }
    }

    /// A read operation of a multiRead.
    public enum ReadOperation: Sendable, Hashable {
        /// The names of the node's children.
        case getChildren(String)
        /// The node's data and Stat.
        case getData(String)
    }

    /// The servers and chroot the client was made with (hosts in the order it tries them).
    public let connectString: ConnectString
    /// The default watcher: events of watches set with `watch: true` (and `addWatch`), and connection
    /// changes (type `.none`). Iterate it once; it ends when the session ends.
    public let events: AsyncStream<WatchedEvent>
    /// Connection changes, for programs that follow their session (see `ConnectionEvent`).
    public let connectionEvents: AsyncStream<ConnectionEvent>
    let driver: SessionDriver
    /// nil when no metrics backend is bootstrapped.
    let metrics: ClientMetrics?

    /// Starts connecting to `connectString` (`host:port[,host:port...][/chroot]`).
    public init(connectString: String, configuration: Configuration = Configuration()) throws(ZooKeeperError) {
        var parsed = try ConnectString(connectString)
        if configuration.shuffleHosts { parsed.hosts.shuffle() }
        self.connectString = parsed
        let timeoutMilliseconds = Int32(clamping: configuration.sessionTimeout.milliseconds)
        let settings = SessionDriver.Machine.Settings(
            hosts: parsed.hosts, chroot: parsed.chroot, requestedTimeout: timeoutMilliseconds,
            canBeReadOnly: configuration.canBeReadOnly, packetLimit: configuration.packetLimit,
            queuedRequestTimeout: (configuration.requestTimeoutWhileDisconnected ?? configuration.sessionTimeout)
                .timeAmount,
            maximumReconnectDelay: configuration.maximumReconnectDelay.timeAmount,
            resumeSession: configuration.session, sasl: configuration.sasl)
        let (events, eventsContinuation) = AsyncStream.makeStream(
            of: WatchedEvent.self, bufferingPolicy: .bufferingNewest(100_000))
        let (connectionEvents, connectionContinuation) = AsyncStream.makeStream(
            of: ConnectionEvent.self, bufferingPolicy: .bufferingNewest(10_000))
        self.events = events
        self.connectionEvents = connectionEvents
        let tls = try configuration.tls.map { settings throws(ZooKeeperError) in try ClientTLS(settings: settings) }
        let group = configuration.eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        let metrics = ClientMetrics(factory: configuration.metricsFactory ?? MetricsSystem.factory)
        self.metrics = metrics
        driver = SessionDriver(
            settings: settings, eventLoop: group.next(), logger: configuration.logger,
            defaultEvents: eventsContinuation, connectionEvents: connectionContinuation,
            defaultEventHandler: configuration.defaultEventHandler, tls: tls, metrics: metrics)
        driver.start()
    }

    /// Connects and waits until the session is established (or fails after `timeout`).
    public static func connect(
        _ connectString: String, configuration: Configuration = Configuration(), timeout: Duration? = nil
    ) async throws(ZooKeeperError) -> ZooKeeperClient {
        let client = try ZooKeeperClient(connectString: connectString, configuration: configuration)
        do {
            try await client.waitUntilConnected(timeout: timeout ?? configuration.sessionTimeout)
        } catch {
            await client.close()
            throw error
        }
        return client
    }

    deinit {
        // A client dropped without close(): end its session rather than leave it to time out.
        driver.close(token: nil)
    }

    // MARK: Session

    /// CONNECTING, CONNECTED, CONNECTEDREADONLY, CLOSED or AUTH_FAILED.
    public var state: ConnectionState { driver.snapshot.state }
    /// The session id (0 before the first session is established).
    public var sessionID: Int64 { driver.snapshot.sessionID }
    /// The session password (16 bytes), with `sessionID` enough to resume the session elsewhere.
    public var sessionPassword: [UInt8] { driver.snapshot.password }
    /// The session timeout the server granted.
    public var negotiatedTimeout: Duration { .milliseconds(Int64(driver.snapshot.negotiatedTimeout)) }
    /// The server of the current (or last) connection.
    public var currentServer: HostAndPort? { driver.snapshot.server }

    /// Waits until the session is established (read-write or read-only). Fails with ConnectionLoss after
    /// `timeout`, or at once if the session expired, was closed or failed authentication.
    public func waitUntilConnected(timeout: Duration) async throws(ZooKeeperError) {
        let result = await withUnsafeContinuation { continuation in
            driver.waitUntilConnected(timeout: timeout.timeAmount, continuation: continuation)
        }
        try result.get()
    }

    /// Ends the session (closeSession): its ephemeral nodes are deleted and its watches dropped.
    public func close() async {
        _ = await withUnsafeContinuation { continuation in
            driver.close(token: .caller(continuation))
        }
    }

    /// Sends credentials (`addauth scheme auth`); they stay with the session and are re-sent after every
    /// reconnect. Returns when the server accepted them. A server that rejects them closes the session's
    /// connection and the client enters AUTH_FAILED.
    public func addAuth(scheme: String, auth: [UInt8]?) async throws(ZooKeeperError) {
        let result = await withUnsafeContinuation { continuation in
            driver.addAuth(AuthPacket(scheme: scheme, auth: auth), token: .caller(continuation))
        }
        _ = try result.get()
    }

    /// `addAuth(scheme: "digest", auth: "user:password")`.
    public func addDigestAuth(user: String, password: String) async throws(ZooKeeperError) {
        try await addAuth(scheme: "digest", auth: Array("\(user):\(password)".utf8))
    }

    /// A credential given with `addAuth`.
    public struct AuthCredential: Sendable, Hashable {
        public var scheme: String
        public var auth: [UInt8]?

        public init(scheme: String, auth: [UInt8]?) {
            self.scheme = scheme
            self.auth = auth
        }
    }

    /// The credentials given with `addAuth`, in the order given, each once (one given again is not added again):
    /// what the client re-sends on every reconnect, and what another session adds to read as this one does. One
    /// rejected by the server is here too (the session then is AUTH_FAILED).
    public var credentials: [AuthCredential] {
        driver.snapshot.credentials.map { AuthCredential(scheme: $0.scheme, auth: $0.auth) }
    }

    // MARK: Requests

    func serverPath(_ path: String) -> String {
        SessionDriver.Machine.serverPath(path, chroot: connectString.chroot)
    }

    private func call(
        _ request: ZooKeeperRequest, path: String?, watch: SessionDriver.Machine.WatchRegistration? = nil,
        removal: SessionDriver.Machine.WatchRemoval? = nil
    ) async throws(ZooKeeperError) -> ZooKeeperResponse {
        let start = metrics == nil ? nil : ContinuousClock.now
        let result = await withUnsafeContinuation { continuation in
            driver.submit(
                .init(request: request, token: .caller(continuation), clientPath: path, watch: watch, removal: removal))
        }
        if let metrics, let start { metrics.requestFinished(request.opCode, since: start, result) }
        return try result.get()
    }

    /// A call that arms a watch feeding a stream of its own.
    private func callWatching(
        _ request: ZooKeeperRequest, path: String, kind: SessionDriver.Machine.WatchRegistration.Kind, oneShot: Bool
    ) async throws(ZooKeeperError) -> (ZooKeeperResponse?, AsyncStream<WatchedEvent>) {
        let watcher = driver.makeWatcherID()
        let (stream, continuation) = AsyncStream.makeStream(of: WatchedEvent.self)
        let driver = self.driver
        continuation.onTermination = { _ in driver.dropWatcher(watcher) }
        let registration = SessionDriver.Machine.WatchRegistration(kind: kind, path: path, watcher: watcher)
        let start = metrics == nil ? nil : ContinuousClock.now
        let result = await withUnsafeContinuation { token in
            driver.submit(
                .init(request: request, token: .caller(token), clientPath: path, watch: registration, removal: nil),
                watcher: watcher, continuation: continuation, oneShot: oneShot)
        }
        if let metrics, let start { metrics.requestFinished(request.opCode, since: start, result) }
        switch result {
        case .success(let response):
            return (response, stream)
        case .failure(let error) where error.code == .noNode && kind == .exists:
            return (nil, stream)
        case .failure(let error):
            driver.dropWatcher(watcher)
            throw error
        }
    }

    private static func unexpected(_ response: ZooKeeperResponse?, _ path: String?) -> ZooKeeperError {
        ZooKeeperError(.marshallingError, path: path)
    }

    private static func validateTTL(mode: CreateMode, ttl: Int64?, path: String) throws(ZooKeeperError) {
        if mode.isTTL {
            guard let ttl, ttl > 0, ttl <= maximumTTL else {
                throw ZooKeeperError(
                    .invalidArgument, path: path,
                    message: "ttl must be positive and cannot be larger than: \(maximumTTL)")
            }
        } else if ttl != nil {
            throw ZooKeeperError(.invalidArgument, path: path, message: "ttl is only allowed with a TTL create mode")
        }
    }

    /// The largest TTL a server accepts (2^40 - 1 ms).
    public static let maximumTTL: Int64 = 0xFF_FFFF_FFFF

    private func createRequest(
        _ path: String, data: [UInt8]?, acl: [ACL], mode: CreateMode, ttl: Int64?, withStat: Bool
    ) throws(ZooKeeperError) -> ZooKeeperRequest {
        try ZooKeeperPath.validate(path, isSequential: mode.isSequential)
        try Self.validateTTL(mode: mode, ttl: ttl, path: path)
        let server = serverPath(path)
        if mode.isTTL {
            return .createTTL(
                CreateTTLRequest(path: server, data: data, acl: acl, flags: mode.rawValue, ttl: ttl ?? 0))
        }
        let request = CreateRequest(path: server, data: data, acl: acl, mode: mode)
        if mode.isContainer { return .createContainer(request) }
        return withStat ? .create2(request) : .create(request)
    }

    /// Creates a node; returns its path (with the sequence suffix for sequential modes). TTL modes need `ttl`
    /// (milliseconds) and a server with `zookeeper.extendedTypesEnabled=true`.
    @discardableResult
    public func create(
        _ path: String, data: [UInt8]? = nil, acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
        ttl: Int64? = nil
    ) async throws(ZooKeeperError) -> String {
        let request = try createRequest(path, data: data, acl: acl, mode: mode, ttl: ttl, withStat: false)
        switch try await call(request, path: path) {
        case .path(let created), .pathAndStat(let created, _): return created
        case let other: throw Self.unexpected(other, path)
        }
    }

    /// Creates a node and returns its path and Stat (create2).
    public func createWithStat(
        _ path: String, data: [UInt8]? = nil, acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent,
        ttl: Int64? = nil
    ) async throws(ZooKeeperError) -> (path: String, stat: Stat) {
        let request = try createRequest(path, data: data, acl: acl, mode: mode, ttl: ttl, withStat: true)
        switch try await call(request, path: path) {
        case .pathAndStat(let created, let stat): return (created, stat)
        case let other: throw Self.unexpected(other, path)
        }
    }

    /// Deletes a node; `version` -1 matches any.
    public func delete(_ path: String, version: Int32 = -1) async throws(ZooKeeperError) {
        try ZooKeeperPath.validate(path)
        _ = try await call(.delete(PathVersionRequest(path: serverPath(path), version: version)), path: path)
    }

    /// The node's Stat, or nil when it does not exist. With `watch`, the default watcher hears of its
    /// creation, change or deletion.
    public func exists(_ path: String, watch: Bool = false) async throws(ZooKeeperError) -> Stat? {
        try ZooKeeperPath.validate(path)
        do throws(ZooKeeperError) {
            let response = try await call(
                .exists(PathWatchRequest(path: serverPath(path), watch: watch)), path: path,
                watch: watch ? .init(kind: .exists, path: path, watcher: 0) : nil)
            guard case .stat(let stat) = response else { throw Self.unexpected(response, path) }
            return stat
        } catch  where error.code == .noNode {
            return nil
        }
    }

    /// `exists` with a one-shot watch of its own.
    public func existsAndWatch(_ path: String) async throws(ZooKeeperError)
        -> (stat: Stat?, events: AsyncStream<WatchedEvent>)
    {
        try ZooKeeperPath.validate(path)
        let (response, stream) = try await callWatching(
            .exists(PathWatchRequest(path: serverPath(path), watch: true)), path: path, kind: .exists, oneShot: true)
        guard let response else { return (nil, stream) }
        guard case .stat(let stat) = response else { throw Self.unexpected(response, path) }
        return (stat, stream)
    }

    /// The node's data (nil for a null value) and Stat.
    public func getData(_ path: String, watch: Bool = false) async throws(ZooKeeperError)
        -> (data: [UInt8]?, stat: Stat)
    {
        try ZooKeeperPath.validate(path)
        let response = try await call(
            .getData(PathWatchRequest(path: serverPath(path), watch: watch)), path: path,
            watch: watch ? .init(kind: .data, path: path, watcher: 0) : nil)
        guard case .data(let data, let stat) = response else { throw Self.unexpected(response, path) }
        return (data, stat)
    }

    /// `getData` with a one-shot watch of its own.
    public func getDataAndWatch(_ path: String) async throws(ZooKeeperError)
        -> (data: [UInt8]?, stat: Stat, events: AsyncStream<WatchedEvent>)
    {
        try ZooKeeperPath.validate(path)
        let (response, stream) = try await callWatching(
            .getData(PathWatchRequest(path: serverPath(path), watch: true)), path: path, kind: .data, oneShot: true)
        guard case .data(let data, let stat)? = response else { throw Self.unexpected(response, path) }
        return (data, stat, stream)
    }

    /// Replaces the node's data; `version` -1 matches any. Returns the new Stat.
    @discardableResult
    public func setData(_ path: String, data: [UInt8]?, version: Int32 = -1) async throws(ZooKeeperError) -> Stat {
        try ZooKeeperPath.validate(path)
        let response = try await call(
            .setData(SetDataRequest(path: serverPath(path), data: data, version: version)), path: path)
        guard case .stat(let stat) = response else { throw Self.unexpected(response, path) }
        return stat
    }

    /// The names of the node's children, in the server's order (unsorted).
    public func getChildren(_ path: String, watch: Bool = false) async throws(ZooKeeperError) -> [String] {
        try ZooKeeperPath.validate(path)
        let response = try await call(
            .getChildren(PathWatchRequest(path: serverPath(path), watch: watch)), path: path,
            watch: watch ? .init(kind: .child, path: path, watcher: 0) : nil)
        guard case .children(let children) = response else { throw Self.unexpected(response, path) }
        return children
    }

    /// The node's children and its Stat (getChildren2, what `ls -s` uses).
    public func getChildrenWithStat(_ path: String, watch: Bool = false) async throws(ZooKeeperError)
        -> (children: [String], stat: Stat)
    {
        try ZooKeeperPath.validate(path)
        let response = try await call(
            .getChildren2(PathWatchRequest(path: serverPath(path), watch: watch)), path: path,
            watch: watch ? .init(kind: .child, path: path, watcher: 0) : nil)
        guard case .childrenAndStat(let children, let stat) = response else { throw Self.unexpected(response, path) }
        return (children, stat)
    }

    /// `getChildrenWithStat` with a one-shot child watch of its own.
    public func getChildrenAndWatch(_ path: String) async throws(ZooKeeperError)
        -> (children: [String], stat: Stat, events: AsyncStream<WatchedEvent>)
    {
        try ZooKeeperPath.validate(path)
        let (response, stream) = try await callWatching(
            .getChildren2(PathWatchRequest(path: serverPath(path), watch: true)), path: path, kind: .child,
            oneShot: true)
        guard case .childrenAndStat(let children, let stat)? = response else { throw Self.unexpected(response, path) }
        return (children, stat, stream)
    }

    /// The node's ACL and Stat. Without ADMIN permission, digest ids come back as `user:x`.
    public func getACL(_ path: String) async throws(ZooKeeperError) -> (acl: [ACL], stat: Stat) {
        try ZooKeeperPath.validate(path)
        let response = try await call(.getACL(PathRequest(path: serverPath(path))), path: path)
        guard case .acl(let acl, let stat) = response else { throw Self.unexpected(response, path) }
        return (acl, stat)
    }

    /// Replaces the node's ACL; `version` (the aversion) -1 matches any.
    @discardableResult
    public func setACL(_ path: String, acl: [ACL], version: Int32 = -1) async throws(ZooKeeperError) -> Stat {
        try ZooKeeperPath.validate(path)
        let response = try await call(
            .setACL(SetACLRequest(path: serverPath(path), acl: acl, version: version)), path: path)
        guard case .stat(let stat) = response else { throw Self.unexpected(response, path) }
        return stat
    }

    /// Waits until the server this client talks to has caught up with the leader (a no-op on a standalone
    /// server). Returns the path.
    @discardableResult
    public func sync(_ path: String) async throws(ZooKeeperError) -> String {
        try ZooKeeperPath.validate(path)
        let response = try await call(.sync(PathRequest(path: serverPath(path))), path: path)
        guard case .path(let synced) = response else { throw Self.unexpected(response, path) }
        return synced
    }

    /// Applies `operations` atomically: all or none. On failure throws the first error, with every
    /// operation's result in `ZooKeeperError.multiResults`.
    @discardableResult
    public func multi(_ operations: [Operation]) async throws(ZooKeeperError) -> [MultiResult] {
        guard !operations.isEmpty else { return [] }
        let response = try await call(.multi(MultiRequest(wireOperations(operations))), path: nil)
        guard case .multi(let multi) = response else { throw Self.unexpected(response, nil) }
        if let (index, code) = multi.firstError {
            throw ZooKeeperError(code, path: operations[index].path, multiResults: multi.results)
        }
        return multi.results
    }

    /// Reads several nodes in one round trip; each result is independent (an `.error` entry for a failure).
    public func multiRead(_ operations: [ReadOperation]) async throws(ZooKeeperError) -> [MultiResult] {
        guard !operations.isEmpty else { return [] }
        let response = try await call(.multiRead(MultiRequest(wireOperations(operations))), path: nil)
        guard case .multi(let multi) = response else { throw Self.unexpected(response, nil) }
        return multi.results
    }

    /// A multi's operations as sent: paths checked and under the chroot.
    func wireOperations(_ operations: [Operation]) throws(ZooKeeperError) -> [MultiOperation] {
        var wire: [MultiOperation] = []
        wire.reserveCapacity(operations.count)
        for operation in operations {
            switch operation {
            case .create(let path, let data, let acl, let mode, let ttl):
                let request = try createRequest(path, data: data, acl: acl, mode: mode, ttl: ttl, withStat: false)
                switch request {
                case .create(let r): wire.append(.create(r))
                case .create2(let r): wire.append(.create2(r))
                case .createContainer(let r): wire.append(.createContainer(r))
                case .createTTL(let r): wire.append(.createTTL(r))
                default: throw Self.unexpected(nil, path)
                }
            case .delete(let path, let version):
                try ZooKeeperPath.validate(path)
                wire.append(.delete(PathVersionRequest(path: serverPath(path), version: version)))
            case .setData(let path, let data, let version):
                try ZooKeeperPath.validate(path)
                wire.append(.setData(SetDataRequest(path: serverPath(path), data: data, version: version)))
            case .check(let path, let version):
                try ZooKeeperPath.validate(path)
                wire.append(.check(PathVersionRequest(path: serverPath(path), version: version)))
            }
        }
        return wire
    }

    /// A multiRead's operations as sent: paths checked and under the chroot.
    func wireOperations(_ operations: [ReadOperation]) throws(ZooKeeperError) -> [MultiOperation] {
        var wire: [MultiOperation] = []
        wire.reserveCapacity(operations.count)
        for operation in operations {
            switch operation {
            case .getChildren(let path):
                try ZooKeeperPath.validate(path)
                wire.append(.getChildren(path: serverPath(path)))
            case .getData(let path):
                try ZooKeeperPath.validate(path)
                wire.append(.getData(path: serverPath(path)))
            }
        }
        return wire
    }

    /// This session's ephemeral nodes under `prefix` (all of them for `/`), in the server's order.
    public func getEphemerals(_ prefix: String = "/") async throws(ZooKeeperError) -> [String] {
        try ZooKeeperPath.validate(prefix)
        let response = try await call(.getEphemerals(PathRequest(path: serverPath(prefix))), path: prefix)
        guard case .children(let paths) = response else { throw Self.unexpected(response, prefix) }
        guard let chroot = connectString.chroot else { return paths }
        return paths.compactMap { path in
            let client = SessionDriver.Machine.clientPath(path, chroot: chroot)
            return client == path ? nil : client
        }
    }

    /// The number of the node's descendants (not counting the node).
    public func getAllChildrenNumber(_ path: String) async throws(ZooKeeperError) -> Int {
        try ZooKeeperPath.validate(path)
        let response = try await call(.getAllChildrenNumber(PathRequest(path: serverPath(path))), path: path)
        guard case .count(let count) = response else { throw Self.unexpected(response, path) }
        return Int(count)
    }

    /// The identities this connection is authenticated as.
    public func whoAmI() async throws(ZooKeeperError) -> [ClientInfo] {
        let response = try await call(.whoAmI, path: nil)
        guard case .clientInfo(let infos) = response else { throw Self.unexpected(response, nil) }
        return infos
    }

    /// Adds a persistent (or persistent recursive) watch feeding the default watcher (`events`).
    public func addWatch(_ path: String, mode: AddWatchMode) async throws(ZooKeeperError) {
        try ZooKeeperPath.validate(path)
        let kind: SessionDriver.Machine.WatchRegistration.Kind =
            mode == .persistent ? .persistent : .persistentRecursive
        _ = try await call(
            .addWatch(AddWatchRequest(path: serverPath(path), mode: mode)), path: path,
            watch: .init(kind: kind, path: path, watcher: 0))
    }

    /// Adds a persistent (or persistent recursive) watch with a stream of its own. The stream goes on until
    /// the watch is removed or the session ends. After a reconnect it is re-armed, but changes made while the
    /// client was disconnected are not replayed: re-read on `ConnectionEvent.reconnected`.
    public func watch(_ path: String, mode: AddWatchMode) async throws(ZooKeeperError) -> AsyncStream<WatchedEvent> {
        try ZooKeeperPath.validate(path)
        let (_, stream) = try await callWatching(
            .addWatch(AddWatchRequest(path: serverPath(path), mode: mode)), path: path,
            kind: mode == .persistent ? .persistent : .persistentRecursive, oneShot: false)
        return stream
    }

    /// Removes this client's watches of `type` on `path`; their watchers get a `…WatchRemoved` event. Throws
    /// NoWatcher when there is none. With `local`, the watches are forgotten even when no server can be reached.
    public func removeWatches(_ path: String, type: WatcherType = .any, local: Bool = false)
        async throws(ZooKeeperError)
    {
        try ZooKeeperPath.validate(path)
        _ = try await call(
            .removeWatches(WatchesRequest(path: serverPath(path), type: type)), path: path,
            removal: .init(path: path, type: type, local: local, remove: true))
    }

    /// Checks that this client has a watch of `type` on `path` (NoWatcher otherwise), without removing it.
    public func checkWatches(_ path: String, type: WatcherType = .any) async throws(ZooKeeperError) {
        try ZooKeeperPath.validate(path)
        _ = try await call(
            .checkWatches(WatchesRequest(path: serverPath(path), type: type)), path: path,
            removal: .init(path: path, type: type, local: false, remove: false))
    }

    /// The ensemble's configuration (`/zookeeper/config`, never under the chroot).
    public func getConfig(watch: Bool = false) async throws(ZooKeeperError) -> (data: [UInt8]?, stat: Stat) {
        let path = "/zookeeper/config"
        let response = try await call(
            .getData(PathWatchRequest(path: path, watch: watch)), path: path,
            watch: watch ? .init(kind: .data, path: path, watcher: 0) : nil)
        guard case .data(let data, let stat) = response else { throw Self.unexpected(response, path) }
        return (data, stat)
    }

    /// Changes the ensemble's membership (needs `reconfigEnabled` on the servers). Returns the new
    /// configuration.
    public func reconfig(
        joining: String?, leaving: String?, newMembers: String?, fromConfig: Int64 = -1
    ) async throws(ZooKeeperError) -> (data: [UInt8]?, stat: Stat) {
        let response = try await call(
            .reconfig(
                ReconfigRequest(
                    joiningServers: joining, leavingServers: leaving, newMembers: newMembers,
                    currentConfigID: fromConfig)), path: nil)
        guard case .data(let data, let stat) = response else { throw Self.unexpected(response, nil) }
        return (data, stat)
    }
}

/// Runs `body` with a connected client and closes it afterwards, whatever happens.
public func withZooKeeperClient<Result>(
    _ connectString: String, configuration: ZooKeeperClient.Configuration = ZooKeeperClient.Configuration(),
    _ body: (ZooKeeperClient) async throws -> Result
) async throws -> Result {
    let client = try await ZooKeeperClient.connect(connectString, configuration: configuration)
    do {
        let result = try await body(client)
        await client.close()
        return result
    } catch {
        await client.close()
        throw error
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    var timeAmount: TimeAmount {
        let (seconds, attoseconds) = components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
