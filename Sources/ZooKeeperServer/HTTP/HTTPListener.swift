import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server for zkserver's HTTP endpoints (Prometheus metrics, the AdminServer): every request
/// goes to one responder. A request NIOHTTP1 cannot parse gets `400 Bad Request` and closes that connection
/// only.
///
/// ```swift
/// let listener = try await HTTPListener.start(host: "127.0.0.1", port: 0) { request in
///     HTTPResponse(contentType: "text/plain", body: "hello \(request.path)\n")
/// }
/// print(listener.port)   // the port bound
/// await listener.shutdown()
/// ```
final class HTTPListener: Sendable {
    /// The address bound.
    let host: String
    /// The port bound (the one picked by the system when asked for port 0).
    let port: Int
    private let channel: any Channel
    private let connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>

    private init(
        host: String, port: Int, channel: any Channel, connections: NIOLockedValueBox<[ObjectIdentifier: any Channel]>
    ) {
        self.host = host
        self.port = port
        self.channel = channel
        self.connections = connections
    }

    /// Binds `host:port` and starts answering.
    ///
    /// - Parameters:
    ///   - idleTimeout: a connection with neither a byte in nor out for this long, and no request being
    ///     answered, is closed.
    ///   - eventLoopGroup: where the connections run (zkserver passes the server's own loop).
    ///   - respond: turns each request into its response.
    static func start(
        host: String, port: Int, idleTimeout: TimeAmount = .seconds(30),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        respond: @escaping HTTPResponder
    ) async throws -> HTTPListener {
        try await bind(
            host: host, port: port, idleTimeout: idleTimeout, eventLoopGroup: eventLoopGroup, respond: respond
        ).get()
    }

    /// `start` for callers that chain futures (the server's own start).
    static func bind(
        host: String, port: Int, idleTimeout: TimeAmount, eventLoopGroup: any EventLoopGroup,
        respond: @escaping HTTPResponder
    ) -> EventLoopFuture<HTTPListener> {
        let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
        return ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                connections.withLockedValue { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in _ = connections.withLockedValue { $0.removeValue(forKey: id) } }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                    try sync.addHandler(HTTPRequestHandler(respond: respond))
                }
            }
            .bind(host: host, port: port)
            .map { channel in
                HTTPListener(
                    host: host, port: channel.localAddress?.port ?? port, channel: channel, connections: connections)
            }
    }

    /// Stops listening and closes every open connection; returns once the listening socket is closed.
    func shutdown() async {
        try? await channel.close()
        let open = connections.withLockedValue { Array($0.values) }
        for connection in open { try? await connection.close() }
    }
}
