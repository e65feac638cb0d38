import Logging
import NIOCore
import NIOEmbedded
import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// The session handler alone: it takes whole frames (the frame decoder in front of it did the framing), hands
/// them to the runtime, writes what the core answers, and reports its counts to the runtime.
struct ConnectionHandlerTests {
    private func makeChannel() throws -> (EmbeddedChannel, ServerRuntime) {
        let loop = EmbeddedEventLoop()
        let configuration = ServerConfiguration.ephemeral()
        let runtime = ServerRuntime(
            eventLoop: loop, configuration: configuration, clock: SystemClock(),
            core: ServerCore(configuration: configuration), store: nil,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), version: "test")
        let channel = EmbeddedChannel(handler: ConnectionHandler(runtime: runtime), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        return (channel, runtime)
    }

    /// One frame's body, as the frame decoder hands it on (without its length prefix).
    private func body(_ write: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var framed = ByteBuffer()
        framed.writeZooKeeperFrame(write)
        framed.moveReaderIndex(forwardBy: 4)
        return framed
    }

    /// The next frame written, without its length prefix.
    private func readFrame(_ channel: EmbeddedChannel) throws -> ByteBuffer? {
        channel.embeddedEventLoop.run()
        guard var written = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
        let length = written.readInteger(as: Int32.self)
        #expect(length.map(Int.init) == written.readableBytes)
        return written
    }

    @Test func aSessionIsMadeAndRequestsAnswered() throws {
        let (channel, runtime) = try makeChannel()
        try channel.writeInbound(
            body {
                ConnectRequest(
                    lastZxidSeen: 0, timeout: 10_000, sessionID: 0, password: [UInt8](repeating: 0, count: 16),
                    readOnly: false
                ).encode(into: &$0)
            })
        var response = try #require(try readFrame(channel))
        let connected = try ConnectResponse(from: &response)
        #expect(connected.timeout == 10_000 && connected.sessionID != 0)

        try channel.writeInbound(body { RequestHeader(xid: SpecialXid.ping, opCode: .ping).encode(into: &$0) })
        var pong = try #require(try readFrame(channel))
        #expect(try ReplyHeader(from: &pong).xid == SpecialXid.ping)

        // Counted by the runtime: two frames in (with their length prefixes), two out, one of them a reply.
        #expect(runtime.statistics.packetsReceived == 2)
        #expect(runtime.statistics.packetsSent == 2)
        #expect(runtime.statistics.latency.count == 1)
        #expect(runtime.report().connections.count == 1)
        _ = try channel.finish()
        #expect(runtime.report().connections.isEmpty)
    }

    @Test func aFirstFrameThatIsNoConnectRequestCloses() throws {
        let (channel, _) = try makeChannel()
        try channel.writeInbound(body { $0.writeInteger(UInt8(1)) })
        #expect(!channel.isActive)
    }

    @Test func theEndOfInputClosesOnceEverythingOwedIsOut() throws {
        let (channel, _) = try makeChannel()
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
    }
}
