import NIOCore

/// Port unification: the first byte of a connection tells TLS from plaintext. A TLS record starts with 0x16 (a
/// handshake record); nothing a plaintext client sends does (a frame length that large is far past any
/// packet limit, and no four-letter word starts with it). On TLS, the handlers `makeTLSHandlers` returns are
/// put in this handler's place; on plaintext, the bytes go on as they are. Either way this handler then leaves
/// the pipeline.
final class TLSDetectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// The first byte of a TLS handshake record.
    static let handshakeRecordType: UInt8 = 0x16

    private let makeTLSHandlers: () throws -> [any ChannelHandler]
    private var decided = false

    init(makeTLSHandlers: @escaping () throws -> [any ChannelHandler]) {
        self.makeTLSHandlers = makeTLSHandlers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return }
        decided = true
        if first == Self.handshakeRecordType {
            do {
                try context.pipeline.syncOperations.addHandlers(makeTLSHandlers(), position: .after(self))
            } catch {
                context.fireErrorCaught(error)
                return
            }
        }
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
