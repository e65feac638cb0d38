import NIOCore
import NIOEmbedded

/// Collects what reaches the end of a pipeline: bytes and user events.
final class InboundRecorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private(set) var bytes: [UInt8] = []
    private(set) var reads = 0
    private(set) var events: [Any] = []
    private(set) var errors: [any Error] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reads += 1
        bytes += Array(unwrapInboundIn(data).readableBytesView)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        events.append(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        errors.append(error)
    }
}

/// A stand-in for the TLS handlers that port unification inserts.
final class MarkerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private(set) var reads = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reads += 1
        context.fireChannelRead(data)
    }
}

extension EmbeddedChannel {
    func writeInbound(bytes: [UInt8]) throws {
        try writeInbound(ByteBuffer(bytes: bytes))
    }

    /// Everything written outbound so far, as text.
    func outboundText() throws -> String {
        var text = ""
        while let buffer = try readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    func contains<Handler: ChannelHandler>(_ type: Handler.Type) -> Bool {
        (try? pipeline.syncOperations.handler(type: type)) != nil
    }
}
