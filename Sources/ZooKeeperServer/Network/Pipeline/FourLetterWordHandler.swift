import NIOCore

/// Answers a four-letter word: when the first four bytes of a connection are one (`ruok`, `srvr`, ...), writes
/// the answer and closes; otherwise hands everything on and leaves the pipeline, so that the frame decoder
/// behind it sees the connection's bytes from the first.
final class FourLetterWordHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        /// Fewer than four bytes so far.
        case detecting
        /// The answer is being written; the connection closes once it is out.
        case answering
        /// Not a four-letter word: bytes pass through until this handler is gone.
        case passingOn
    }

    private let answer: (FourLetterWord, any Channel) -> String
    private(set) var state = State.detecting
    private var buffered: ByteBuffer?

    /// - Parameter answer: the text for a word asked on a channel (the runtime checks the whitelist and counts
    ///   the word, as a packet of the server and of that connection).
    init(answer: @escaping (FourLetterWord, any Channel) -> String) {
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .passingOn:
            context.fireChannelRead(data)
            return
        case .answering:
            return
        case .detecting:
            break
        }
        var bytes = unwrapInboundIn(data)
        if buffered == nil {
            buffered = bytes
        } else {
            buffered!.writeBuffer(&bytes)
        }
        guard let received = buffered, received.readableBytes >= 4 else { return }
        buffered = nil
        if let word = FourLetterWord(firstBytes: received.readableBytesView.prefix(4)) {
            state = .answering
            let text = answer(word, context.channel)
            var reply = context.channel.allocator.buffer(capacity: text.utf8.count)
            reply.writeString(text)
            let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in
                loopBoundContext.value.close(promise: nil)
            }
        } else {
            state = .passingOn
            context.fireChannelRead(wrapInboundOut(received))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            switch state {
            case .answering:
                // `echo srvr | nc` shuts its side down at once: the answer still goes out, then the close.
                return
            case .detecting:
                // Fewer than four bytes and nothing more will come: neither a word nor a frame.
                buffered = nil
                context.close(promise: nil)
                return
            case .passingOn:
                break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
