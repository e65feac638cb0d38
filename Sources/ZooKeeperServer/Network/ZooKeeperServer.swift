import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ZooKeeperProtocol
import ZooKeeperTLS

/// A running single-node ZooKeeper-compatible server.
///
/// ```swift
/// let server = try await ZooKeeperServer.start(.ephemeral())   // 127.0.0.1, a free port, in memory
/// print(server.connectString)                                  // "127.0.0.1:41234"
/// await server.shutdown()
/// ```
public final class ZooKeeperServer: Sendable {
    /// The version the server reports (`srvr`, `envi`, `mntr`): the Apache release whose protocol it speaks.
    public static let version = "3.9.3-zkserver, built on unknown"

    public let configuration: ServerConfiguration
    /// The plaintext port actually bound (useful with `clientPort` 0); the TLS port when only `secureClientPort`
    /// is served.
    public let port: Int
    /// The TLS-only port actually bound (`secureClientPort`), if any.
    public let securePort: Int?
    /// The address bound.
    public let host: String
    /// The AdminServer's HTTP port actually bound (`admin.serverPort`), when it runs.
    public var adminPort: Int? { adminListener?.port }
    private let channels: [any Channel]
    private let runtime: ServerRuntime
    private let ownedGroup: MultiThreadedEventLoopGroup?
    private let adminListener: HTTPListener?
    private let metricsListener: HTTPListener?

    /// The port of the Prometheus `/metrics` endpoint actually bound, if it is enabled.
    public var metricsPort: Int? { metricsListener?.port }

    /// `host:port`, ready for a client's connect string.
    public var connectString: String { "\(host):\(port)" }

    private init(
        configuration: ServerConfiguration, port: Int, securePort: Int?, host: String, channels: [any Channel],
        runtime: ServerRuntime, ownedGroup: MultiThreadedEventLoopGroup?, metricsListener: HTTPListener?,
        adminListener: HTTPListener? = nil
    ) {
        self.configuration = configuration
        self.port = port
        self.securePort = securePort
        self.host = host
        self.channels = channels
        self.runtime = runtime
        self.ownedGroup = ownedGroup
        self.metricsListener = metricsListener
        self.adminListener = adminListener
    }

    /// Binds and starts serving. All connections share one event loop (taken from `eventLoopGroup`, or a
    /// thread of the server's own), which owns the whole state.
    ///
    /// - Parameters:
    ///   - configuration: what to serve; `clientPort` 0 picks a free port.
    ///   - logger: server logs (zkserver sends them to stderr).
    ///   - eventLoopGroup: where the server's loop comes from; a thread of its own when nil.
    ///
    /// A TLS port (`secureClientPort`, `portUnification`) whose settings cannot be honoured fails the start with
    /// a `TLSError` (one line naming the setting) before anything else is done.
    ///
    /// With `configuration.dataDirectory` set, the state is first recovered from it (a `PersistenceError`
    /// names the file and offset when that is impossible), and every write is acknowledged only once its
    /// transaction is fsynced.
    public static func start(
        _ configuration: ServerConfiguration, logger: Logger = Logger(label: "zkserver"),
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) async throws -> ZooKeeperServer {
        try await start(
            configuration, clock: SystemClock(), log: nil, fileSystem: PosixFileSystem(), logger: logger,
            eventLoopGroup: eventLoopGroup)
    }

    /// `start` with the core's time, its transaction log (when there is no data directory) and the system calls
    /// of persistence replaced: what the tests inject to drive expiry and to fail the disk.
    static func start(
        _ configuration: ServerConfiguration, clock: any ServerClock = SystemClock(),
        log: (any TransactionLog)? = nil, fileSystem: any PersistenceFileSystem,
        logger: Logger = Logger(label: "zkserver"), eventLoopGroup: (any EventLoopGroup)? = nil
    ) async throws -> ZooKeeperServer {
        try await makeServer(
            configuration, clock: clock, log: log, fileSystem: fileSystem, logger: logger,
            eventLoopGroup: eventLoopGroup
        ).get().startingAdminServer(logger: logger)
    }

    /// `start` for synchronous callers (test harnesses that must not block the concurrency pool). Blocks the
    /// calling thread until the server is listening; never call it on an event loop.
    public static func startBlocking(
        _ configuration: ServerConfiguration, logger: Logger = Logger(label: "zkserver")
    ) throws -> ZooKeeperServer {
        let server = try makeServer(
            configuration, clock: SystemClock(), log: nil, fileSystem: PosixFileSystem(), logger: logger,
            eventLoopGroup: nil
        ).wait()
        guard configuration.adminServer != nil else { return server }
        // On a loop of its own: the server's loop stops when the AdminServer cannot start.
        let started = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: ZooKeeperServer.self)
        started.completeWithTask { try await server.startingAdminServer(logger: logger) }
        return try started.futureResult.wait()
    }

    private static func makeServer(
        _ configuration: ServerConfiguration, clock: any ServerClock, log: (any TransactionLog)?,
        fileSystem: any PersistenceFileSystem, logger: Logger, eventLoopGroup: (any EventLoopGroup)?
    ) -> EventLoopFuture<ZooKeeperServer> {
        // What cannot be served fails before the data directory is touched.
        let tlsContext: NIOSSLContext?
        do {
            guard configuration.clientPort != nil || configuration.secureClientPort != nil else {
                throw TLSError(.invalidSetting, "neither clientPort nor secureClientPort is set")
            }
            tlsContext = try configuration.servesTLS ? ServerTLSContext.make(configuration.tls) : nil
        } catch {
            return (eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton).next().makeFailedFuture(error)
        }
        let ownedGroup = eventLoopGroup == nil ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        let eventLoop = (eventLoopGroup ?? ownedGroup!).next()
        // The caller hands the log over to the server's loop, which alone uses it from then on.
        let handedOverLog = HandedOver(log)
        // Recovery runs on the loop that will own the state, before anything listens.
        let prepared = eventLoop.submit { () throws -> ServerRuntime in
            let core: ServerCore
            var store: DurableStore? = nil
            if let dataDirectory = configuration.dataDirectory {
                (store, core) = try DurableStore.open(
                    configuration: configuration, dataDirectory: dataDirectory, clock: clock, eventLoop: eventLoop,
                    fileSystem: fileSystem, logger: logger)
            } else {
                core = ServerCore(
                    configuration: configuration, clock: clock, log: handedOverLog.value ?? InMemoryTransactionLog())
            }
            return ServerRuntime(
                eventLoop: eventLoop, configuration: configuration, clock: clock, core: core, store: store,
                logger: logger, version: version)
        }
        return prepared.flatMapError { error in
            ownedGroup?.shutdownGracefully { _ in }
            return eventLoop.makeFailedFuture(error)
        }.flatMap { runtime in
            bind(
                configuration, tlsContext: tlsContext, runtime: runtime, eventLoop: eventLoop, logger: logger,
                ownedGroup: ownedGroup)
        }
    }

    /// The server with its AdminServer started, when the configuration asks for one (its connections run on the
    /// server's loop). When it cannot bind, the server stops again and the start fails, as Apache's does
    /// ("Unable to start AdminServer").
    private func startingAdminServer(logger: Logger) async throws -> ZooKeeperServer {
        guard let settings = configuration.adminServer else { return self }
        let runtime = runtime
        let eventLoop = runtime.eventLoop
        let listener: HTTPListener
        do {
            listener = try await HTTPListener.start(
                host: settings.address, port: settings.port,
                idleTimeout: .milliseconds(Int64(settings.idleTimeoutMilliseconds)), eventLoopGroup: eventLoop
            ) { request in
                await AdminHTTP.respond(to: request, commandURL: settings.commandURL) { name in
                    try? await runtime.eventLoop.submit { runtime.adminAnswer(name) }.get()
                }
            }
        } catch {
            await shutdown()
            throw AdminServerError(
                description: "cannot start the AdminServer on \(settings.address):\(settings.port): \(error) "
                    + "(set admin.serverPort to a free port, or admin.enableServer=false)")
        }
        logger.info("AdminServer on http://\(settings.address):\(listener.port)\(settings.commandURL)")
        return ZooKeeperServer(
            configuration: configuration, port: port, securePort: securePort, host: host, channels: channels,
            runtime: runtime, ownedGroup: ownedGroup, metricsListener: metricsListener, adminListener: listener)
    }

    private static func bind(
        _ configuration: ServerConfiguration, tlsContext: NIOSSLContext?, runtime: ServerRuntime,
        eventLoop: any EventLoop, logger: Logger, ownedGroup: MultiThreadedEventLoopGroup?
    ) -> EventLoopFuture<ZooKeeperServer> {
        let handshakeTimeout = TimeAmount.milliseconds(Int64(max(1, configuration.tlsHandshakeTimeoutMilliseconds)))
        func listen(host: String, port: Int, kind: ConnectionPipeline.PortKind) -> EventLoopFuture<any Channel> {
            var bootstrap = ServerBootstrap(group: eventLoop, childGroup: eventLoop)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try ConnectionPipeline.configure(
                            channel, kind: kind, runtime: runtime, handshakeTimeout: handshakeTimeout)
                    }
                }
            bootstrap = bootstrap.serverChannelOption(
                .backlog, value: Self.backlog(configured: configuration.listenBacklog))
            return bootstrap.bind(host: host, port: port)
        }
        let host = configuration.clientPortAddress ?? "0.0.0.0"
        let secureHost = configuration.secureClientPortAddress ?? host
        var listening: [EventLoopFuture<(secure: Bool, channel: any Channel)>] = []
        if let clientPort = configuration.clientPort {
            let kind: ConnectionPipeline.PortKind
            if configuration.portUnification, let tlsContext {
                kind = .unified(tlsContext)
            } else {
                kind = .plaintext
            }
            listening.append(listen(host: host, port: clientPort, kind: kind).map { (false, $0) })
        }
        if let securePort = configuration.secureClientPort, let tlsContext {
            listening.append(listen(host: secureHost, port: securePort, kind: .tls(tlsContext)).map { (true, $0) })
        }
        return EventLoopFuture.whenAllComplete(listening, on: eventLoop).flatMap { results in
            var channels: [(secure: Bool, channel: any Channel)] = []
            var failure: (any Error)?
            for result in results {
                switch result {
                case .success(let bound): channels.append(bound)
                case .failure(let error): failure = failure ?? error
                }
            }
            if let failure {
                for bound in channels { bound.channel.close(promise: nil) }
                let closed = runtime.store?.close() ?? eventLoop.makeSucceededVoidFuture()
                return closed.flatMap {
                    ownedGroup?.shutdownGracefully { _ in }
                    return eventLoop.makeFailedFuture(failure)
                }
            }
            let bound = channels
            let metricsListening =
                configuration.prometheusMetrics.map { settings in
                    PrometheusEndpoint.bind(settings, runtime: runtime).map { Optional($0) }
                } ?? eventLoop.makeSucceededFuture(nil)
            return metricsListening.flatMapError { error in
                for bound in bound { bound.channel.close(promise: nil) }
                let closed = runtime.store?.close() ?? eventLoop.makeSucceededVoidFuture()
                return closed.flatMap {
                    ownedGroup?.shutdownGracefully { _ in }
                    return eventLoop.makeFailedFuture(error)
                }
            }.flatMap { metricsListener in
                eventLoop.submit {
                    let plainPort = bound.first { !$0.secure }?.channel.localAddress?.port
                    let securePort = bound.first { $0.secure }?.channel.localAddress?.port
                    runtime.port = plainPort ?? 0
                    runtime.securePort = securePort ?? 0
                    runtime.startTimers()
                    // What recovery held only while it read the snapshot and the log.
                    HeapRelease.releaseFreePages()
                    runtime.store?.startAutopurge(eventLoop: eventLoop)
                    if let plainPort {
                        let unified = configuration.portUnification ? " (plaintext and TLS)" : ""
                        logger.info("binding to port \(host):\(plainPort)\(unified)")
                    }
                    if let securePort { logger.info("binding to secure port \(secureHost):\(securePort) (TLS)") }
                    if let metricsListener {
                        logger.info(
                            "Prometheus metrics at http://\(metricsListener.host):\(metricsListener.port)\(PrometheusEndpoint.path)"
                        )
                    }
                    return ZooKeeperServer(
                        configuration: configuration, port: plainPort ?? securePort ?? 0, securePort: securePort,
                        host: plainPort != nil ? host : secureHost, channels: bound.map(\.channel), runtime: runtime,
                        ownedGroup: ownedGroup, metricsListener: metricsListener)
                }
            }
        }
    }

    /// Stops listening, closes every connection, and stops the server's thread. Sessions end with it (in
    /// memory; a durable server keeps them for its next start).
    public func shutdown() async {
        await adminListener?.shutdown()
        await metricsListener?.shutdown()
        for channel in channels { try? await channel.close() }
        try? await runtime.eventLoop.submit { [runtime] in
            runtime.stopTimers()
            runtime.closeAllConnections()
        }.get()
        // Let the closes go out before the loop stops.
        try? await runtime.eventLoop.scheduleTask(in: .milliseconds(10)) {}.futureResult.get()
        try? await runtime.eventLoop.flatSubmit { [runtime] in
            runtime.store?.close() ?? runtime.eventLoop.makeSucceededVoidFuture()
        }.get()
        try? await ownedGroup?.shutdownGracefully()
    }

    /// The AdminServer's JSON answer to a command (a primary or a short name, as in `/commands/<name>`), whether
    /// or not the AdminServer runs. Commands that reset statistics reset them.
    public func adminCommand(_ name: String) async throws -> JSONValue {
        try await runtime.eventLoop.submit { [runtime] in runtime.adminAnswer(name) }.get()
    }

    /// The text a four-letter word gets (as if sent over the network), regardless of the whitelist.
    public func fourLetterWord(_ word: FourLetterWord) async throws -> String {
        try await runtime.eventLoop.submit { [runtime] in
            runtime.report(includeEnvironment: word == .envi).text(for: word)
        }.get()
    }
}

/// A value passed to another thread that the sender no longer touches.
private struct HandedOver<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension ZooKeeperServer {
    /// The listen backlog: the configured one, else as deep as the system allows (`net.core.somaxconn` caps it).
    /// Apache's default (the JVM's 50) and NIO's (128) overflow when thousands of clients reconnect at once after a
    /// restart: the kernel drops their final handshake ACK, each client then waits out its read timeout before
    /// trying again, and sessions expire meanwhile (BENCHMARKS.md, herds).
    static func backlog(configured: Int) -> Int32 {
        configured > 0 ? Int32(clamping: configured) : Int32.max
    }
}
