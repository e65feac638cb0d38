import NIOCore
import NIOHTTP1

/// Answers the requests of one HTTP/1.1 connection with a responder, one at a time (NIOHTTP1's pipelining
/// assistance holds back the next request until a response is complete). Closes the connection when it has
/// been idle, with no request being answered, for the listener's idle timeout.
final class HTTPRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        /// Between requests.
        case idle
        /// The head is in; the body (ignored) and the end are coming.
        case receiving(HTTPRequestHead)
        /// The responder is working on a request.
        case responding
        /// The connection is gone: a late response is dropped.
        case closed
    }

    private let respond: HTTPResponder
    private var state = State.idle

    init(respond: @escaping HTTPResponder) {
        self.respond = respond
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            state = .receiving(head)
        case .body:
            break
        case .end:
            guard case .receiving(let head) = state else { return }
            state = .responding
            let request = HTTPRequest(method: head.method, target: head.uri)
            let promise = context.eventLoop.makePromise(of: HTTPResponse.self)
            promise.completeWithTask { [respond] in await respond(request) }
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                bound.value.handler.send(response, to: head, context: bound.value.context)
            }
        }
    }

    private func send(_ response: HTTPResponse, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard case .responding = state else { return }
        state = .idle
        let keepAlive = request.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD, !response.body.isEmpty {
            let body = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let written = context.writeAndFlushPromise(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            switch state {
            case .idle, .receiving: context.close(promise: nil)
            case .responding, .closed: break
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// A request NIOHTTP1 could not parse (its error handler has already answered 400), or a socket error: this
    /// connection is done.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closed
        context.fireChannelInactive()
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise(_ data: NIOAny) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(data, promise: promise)
        return promise.futureResult
    }
}
