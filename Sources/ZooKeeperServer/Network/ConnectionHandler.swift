import DequeModule
import NIOCore
import NIOSSL
import ZooKeeperProtocol

/// The session end of a client connection: takes whole frames from the frame decoder in front of it, hands
/// each to the runtime, and writes what the core sends back. It makes no protocol decisions of its own, and
/// reports what it counts to the runtime.
///
/// Runs on the server's single event loop, like the runtime and the core.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum State {
        /// Waiting for the ConnectRequest frame.
        case awaitingConnect
        /// The session is set up; frames are requests.
        case established
        /// Closing: input is ignored.
        case closing
    }

    private let runtime: ServerRuntime
    private(set) var state = State.awaitingConnect
    private(set) var id: ConnectionID?
    private var context: ChannelHandlerContext?
    /// Frames waiting for the end of this event-loop tick.
    private var pending: ByteBuffer?
    /// Frames that must wait until the transaction log has made `zxid` durable: each is encoded into `heldBytes` as
    /// it is held, up to `end`, so that a burst of pipelined writes keeps no object per reply (a create's reply
    /// holds its path) while the log syncs. Such objects, freed after the znodes allocated meanwhile, left holes in
    /// the pages the tree grew into (BENCHMARKS.md, "Memory per znode", round four).
    private var held: Deque<(zxid: Int64, end: Int, frame: SentFrame)> = []
    private var heldBytes: ByteBuffer?
    private var closeRequested = false
    var isDirty = false
    private(set) var remoteAddress = "unknown"
    private(set) var remoteIP = "unknown"
    var statistics = ConnectionStatistics()
    private(set) var negotiatedTimeout: Int32 = 0
    private var requestStart: Int64 = 0
    /// Requests read while the client was not taking its replies, in order: they are processed as it catches up,
    /// and meanwhile nothing more is read from it, so a client that never reads costs bounded memory.
    private var deferredFrames: Deque<ByteBuffer> = []
    private var readingPaused = false
    /// A Kerberos login step runs on another thread: later requests wait in `deferredFrames` for its answer.
    private var awaitingLoginStep = false
    /// Closes a connection that never sends its ConnectRequest.
    private var sessionlessTimer: Scheduled<Void>?

    /// Replies waiting in this tick's buffer past which requests wait too. The channel's own high-water mark
    /// covers what was flushed but not yet taken by the socket.
    static let pendingOutputPauseBytes = 1 << 20
    /// Requests not yet replied to, oldest first (replies leave in request order): when each came in, and
    /// whether it goes through the log (for `readlatency` / `updatelatency`).
    private var unanswered: Deque<(start: Int64, update: Bool)> = []

    init(runtime: ServerRuntime) {
        self.runtime = runtime
    }

    var queuedCount: Int { held.count }

    /// Whether the connection is over TLS (`cons` lists it among the secure connections).
    var isSecure: Bool {
        guard let context else { return false }
        return (try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) != nil
    }

    /// Whether its TLS handshake is under way (the handshake handler leaves the pipeline when it is done).
    var isHandshaking: Bool {
        guard let context else { return false }
        return (try? context.pipeline.syncOperations.handler(type: TLSHandshakeHandler.self)) != nil
    }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        if let address = context.remoteAddress {
            remoteIP = address.ipAddress ?? "unknown"
            remoteAddress = "\(remoteIP):\(address.port ?? 0)"
        }
        id = runtime.register(self)
        if id == nil {
            state = .closing
            context.close(promise: nil)
        } else {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let timeout = TimeAmount.milliseconds(Int64(runtime.configuration.sessionlessConnectionTimeout))
            sessionlessTimer = context.eventLoop.scheduleTask(in: timeout) { handler.value.sessionlessTimeoutFired() }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .closing
        sessionlessTimer?.cancel()
        sessionlessTimer = nil
        deferredFrames.removeAll()
        if let id { runtime.unregister(id) }
        id = nil
        self.context = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state != .closing else { return }
        var frame = unwrapInboundIn(data)
        requestStart = runtime.clock.monotonicMilliseconds()
        statistics.packetsReceived += 1
        runtime.recordPacketReceived(bytes: 4 + frame.readableBytes)
        switch state {
        case .awaitingConnect:
            sessionlessTimer?.cancel()
            sessionlessTimer = nil
            guard let request = try? ConnectRequest(from: &frame) else {
                abort()
                return
            }
            state = .established
            runtime.connect(self, request: request)
        case .established:
            if readingPaused || awaitingLoginStep {
                deferredFrames.append(frame)
                return
            }
            process(request: &frame)
            pauseIfClientLags()
        case .closing:
            break
        }
    }

    private func process(request frame: inout ByteBuffer) {
        guard let header = try? RequestHeader(from: &frame) else {
            abort()
            return
        }
        statistics.lastOperation = header.opCode.shortName
        unanswered.append((requestStart, header.opCode.goesThroughLog))
        if header.xid >= 0 { statistics.lastXid = header.xid }
        runtime.request(self, header: header, body: &frame)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    /// Stops reading requests while the client is behind on its replies (the channel is over its high-water mark,
    /// or this tick's replies are large): what it sends meanwhile waits in its own socket, not in our memory.
    private func pauseIfClientLags() {
        guard !readingPaused, let context else { return }
        let pendingBytes = pending?.readableBytes ?? 0
        guard !context.channel.isWritable || pendingBytes > Self.pendingOutputPauseBytes else { return }
        readingPaused = true
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
    }

    /// The client caught up: the requests that waited go first, in order, then reading resumes.
    private func resumeReading() {
        guard readingPaused, let context, context.channel.isWritable else { return }
        readingPaused = false
        processDeferredFrames(context)
    }

    /// The runtime runs a Kerberos login step for this connection: nothing more is read or processed until
    /// `resumeRequests`, so the SASL answer goes out before anything the client sent after its token.
    func suspendRequests() {
        awaitingLoginStep = true
        try? context?.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
    }

    /// The login step's answer has been queued: the requests that waited go next, in order.
    func resumeRequests() {
        guard awaitingLoginStep else { return }
        awaitingLoginStep = false
        guard let context else { return }
        processDeferredFrames(context)
    }

    private func processDeferredFrames(_ context: ChannelHandlerContext) {
        while !readingPaused, !awaitingLoginStep, state == .established, var frame = deferredFrames.popFirst() {
            requestStart = runtime.clock.monotonicMilliseconds()
            process(request: &frame)
            pauseIfClientLags()
        }
        if !readingPaused && !awaitingLoginStep && state == .established {
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        }
    }

    private func sessionlessTimeoutFired() {
        sessionlessTimer = nil
        guard state == .awaitingConnect else { return }
        runtime.logger.debug("connection \(remoteAddress) sent no ConnectRequest in time: closed")
        runtime.recordSessionlessConnectionExpired()
        abort()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client is done sending: finish what is owed, then close. Apache counts this end of stream as
            // a dropped connection.
            if state != .closing { runtime.recordClientDisconnect() }
            state = .closing
            requestClose()
            return
        }
        if let identity = event as? ClientIdentityEvent {
            switch identity {
            case .x509(let subject):
                runtime.authenticated(self, x509Subject: subject)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A negative or over-limit frame length, a failed or stalled TLS handshake: this connection only is
        // dropped, as Apache does.
        runtime.logger.debug("connection \(remoteAddress) failed: \(error)")
        if state == .awaitingConnect, error is NIOSSLError || error is TLSHandshakeTimeout {
            runtime.recordFailedHandshake(timedOut: error is TLSHandshakeTimeout)
        }
        abort()
    }

    /// Closes at once, dropping replies still held for the log (the log failed).
    func drop() {
        held.removeAll()
        heldBytes = nil
        pending = nil
        abort()
    }

    /// Closes at once, dropping anything unsent (malformed input).
    private func abort() {
        state = .closing
        context?.close(promise: nil)
    }

    // MARK: Output

    func sessionEstablished(timeout: Int32, at wallMilliseconds: Int64) {
        negotiatedTimeout = timeout
        statistics.established = wallMilliseconds
    }

    /// What a frame written for the core is, for the bookkeeping of its sending.
    private enum SentFrame {
        case connectResponse(timeout: Int32)
        case reply(zxid: Int64)
        case notification
        case close
    }

    /// Queues one output of the core. It is written at the end of this tick, or later if it must wait for the
    /// transaction log.
    func enqueue(_ output: CoreOutput, requiredZxid: Int64, durableZxid: Int64) {
        guard let context else { return }
        if held.isEmpty && requiredZxid <= durableZxid {
            if pending == nil { pending = context.channel.allocator.buffer(capacity: 256) }
            let start = pending!.writerIndex
            guard let frame = Self.write(output, into: &pending!) else { return }
            sent(frame, size: pending!.writerIndex - start)
        } else {
            if heldBytes == nil { heldBytes = context.channel.allocator.buffer(capacity: 256) }
            guard let frame = Self.write(output, into: &heldBytes!) else { return }
            held.append((requiredZxid, heldBytes!.writerIndex, frame))
        }
    }

    /// Writes held outputs now covered by the log.
    func release(durableZxid: Int64) {
        // The common case: the sync covers every held frame and nothing else is written yet this tick, so the held
        // bytes become this tick's buffer as they are (a 1 MB reply is not copied a second time).
        if pending == nil, context != nil, let last = held.last, last.zxid <= durableZxid, let bytes = heldBytes {
            pending = bytes
            heldBytes = nil
            var start = bytes.readerIndex
            while let first = held.popFirst() {
                sent(first.frame, size: first.end - start)
                start = first.end
            }
            return
        }
        while let first = held.first, first.zxid <= durableZxid {
            held.removeFirst()
            let length = first.end - (heldBytes?.readerIndex ?? 0)
            guard var bytes = heldBytes?.readSlice(length: length), let context else { continue }
            if pending == nil { pending = context.channel.allocator.buffer(capacity: max(256, bytes.readableBytes)) }
            let size = pending!.writeBuffer(&bytes)
            sent(first.frame, size: size)
        }
        if held.isEmpty { heldBytes = nil }
    }

    /// Writes the frame of `output` into `buffer` (a close has none); nil for an output that is not for a
    /// connection.
    private static func write(_ output: CoreOutput, into buffer: inout ByteBuffer) -> SentFrame? {
        switch output {
        case .connectResponse(_, let response):
            buffer.writeZooKeeperFrame { response.encode(into: &$0) }
            return .connectResponse(timeout: response.timeout)
        case .reply(_, let header, let response):
            response.encodeFrame(header: header, into: &buffer)
            return .reply(zxid: header.zxid)
        case .notification(_, let zxid, let event):
            buffer.writeZooKeeperFrame { buffer in
                ReplyHeader(xid: SpecialXid.notification, zxid: zxid).encode(into: &buffer)
                event.encode(into: &buffer)
            }
            return .notification
        case .close:
            return .close
        case .acceptKerberosToken:
            // The runtime runs it; it never reaches a connection.
            return nil
        }
    }

    /// A frame of `size` bytes is in this tick's buffer: the statistics and state that its sending changes.
    private func sent(_ frame: SentFrame, size: Int) {
        switch frame {
        case .connectResponse(let timeout):
            if timeout > 0 { sessionEstablished(timeout: timeout, at: runtime.clock.wallMilliseconds()) }
        case .reply(let zxid):
            let now = runtime.clock.monotonicMilliseconds()
            let latency = max(0, now - requestStart)
            statistics.lastZxid = zxid
            statistics.lastResponseTime = now
            statistics.lastLatency = latency
            statistics.latency.record(latency)
            runtime.recordReply(latency: latency, size: size)
            if let request = unanswered.popFirst() {
                runtime.recordRequestLatency(max(0, now - request.start), update: request.update, at: now)
            }
        case .notification:
            break
        case .close:
            closeRequested = true
            state = .closing
        }
        switch frame {
        case .connectResponse, .reply, .notification:
            statistics.packetsSent += 1
            runtime.recordPacketSent()
        case .close:
            break
        }
        runtime.markDirty(self)
    }

    /// Close once everything owed has been written.
    func requestClose() {
        closeRequested = true
        runtime.markDirty(self)
    }

    /// Writes what accumulated during this tick; closes afterwards when asked to.
    func flush() {
        isDirty = false
        guard let context else { return }
        if let buffer = pending, buffer.readableBytes > 0 {
            pending = nil
            if closeRequested && held.isEmpty {
                let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
                    loopBoundContext.value.close(promise: nil)
                }
                return
            }
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            if !context.channel.isWritable { dropIfOverOutputLimit(context) }
        } else if closeRequested && held.isEmpty {
            context.close(promise: nil)
        }
        // Paused on this tick's replies, which the socket took at once: no writability change will come.
        if readingPaused && context.channel.isWritable {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { handler.value.resumeReading() }
        }
    }

    /// A client that reads nothing while notifications keep coming: past the limit, only its connection goes.
    private func dropIfOverOutputLimit(_ context: ChannelHandlerContext) {
        guard let buffered = try? context.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes),
            buffered > runtime.configuration.connectionOutputLimit
        else { return }
        runtime.logger.warning(
            "dropping connection \(remoteAddress): \(buffered) bytes of replies unread (connectionOutputLimit)")
        drop()
    }
}
