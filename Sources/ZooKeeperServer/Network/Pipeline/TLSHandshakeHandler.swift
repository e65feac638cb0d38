import Logging
import NIOCore
import NIOSSL
import NIOTLS

/// What the TLS layer learnt about the client, passed down the pipeline as a user event.
enum ClientIdentityEvent: Equatable {
    /// The client presented a certificate that the trust store verified: its subject, as Apache writes it.
    case x509(subject: String)
}

/// Sits right behind the TLS handler: drops the connection if the handshake does not finish within
/// `timeout`, and when it finishes, announces the client's verified certificate (if any) as a
/// `ClientIdentityEvent`. A handshake that fails or times out is logged (at info: it is the client's problem, and
/// the operator's clue). Leaves the pipeline once the handshake is done.
final class TLSHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let logger: Logger
    /// The client's leaf certificate, once the handshake has verified it (read from the TLS handler).
    private let peerCertificate: (ChannelHandlerContext) -> NIOSSLCertificate?
    private var deadline: Scheduled<Void>?

    init(
        timeout: TimeAmount, logger: Logger = Logger(label: "zkserver", factory: { _ in SwiftLogNoOpLogHandler() }),
        peerCertificate: @escaping (ChannelHandlerContext) -> NIOSSLCertificate? = TLSHandshakeHandler.verifiedPeer
    ) {
        self.timeout = timeout
        self.logger = logger
        self.peerCertificate = peerCertificate
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.info("TLS handshake with \(Self.describe(context.remoteAddress)) failed: \(error)")
        context.fireErrorCaught(error)
    }

    private static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "a client" }
        return "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
    }

    /// The leaf of the chain the TLS handler verified; nil when the client sent no certificate.
    static func verifiedPeer(_ context: ChannelHandlerContext) -> NIOSSLCertificate? {
        try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    private func startDeadline(context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        let logger = logger
        let timeout = timeout
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let context = loopBoundContext.value
            logger.info(
                "TLS handshake with \(Self.describe(context.remoteAddress)) did not complete within \(timeout.nanoseconds / 1_000_000) ms: connection dropped"
            )
            context.fireErrorCaught(TLSHandshakeTimeout())
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? TLSUserEvent, case .handshakeCompleted = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        deadline?.cancel()
        deadline = nil
        context.fireUserInboundEventTriggered(event)
        if let certificate = peerCertificate(context) {
            context.fireUserInboundEventTriggered(
                ClientIdentityEvent.x509(subject: DistinguishedNameFormatter.subject(of: certificate)))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// The TLS handshake did not complete in time.
struct TLSHandshakeTimeout: Error, CustomStringConvertible {
    var description: String { "the TLS handshake did not complete in time" }
}
