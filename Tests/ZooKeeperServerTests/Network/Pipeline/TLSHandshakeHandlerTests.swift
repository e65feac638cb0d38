import NIOCore
import NIOEmbedded
import NIOSSL
import NIOTLS
import Testing

@testable import ZooKeeperServer

/// The handshake bound alone: a handshake that does not finish in time costs its connection, one that does
/// finish removes the bound.
struct TLSHandshakeHandlerTests {
    private func makeChannel() throws -> (EmbeddedChannel, InboundRecorder) {
        let recorder = InboundRecorder()
        let channel = EmbeddedChannel()
        let handler = TLSHandshakeHandler(timeout: .seconds(5)) { _ in nil }
        try channel.pipeline.syncOperations.addHandlers([handler, recorder])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2181)).wait()
        return (channel, recorder)
    }

    @Test func aStalledHandshakeIsDroppedAtTheBound() throws {
        let (channel, recorder) = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(recorder.errors.contains { $0 is TLSHandshakeTimeout })
    }

    @Test func aFinishedHandshakeLiftsTheBoundAndLeaves() throws {
        let (channel, recorder) = try makeChannel()
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        #expect(!channel.contains(TLSHandshakeHandler.self))
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        // Without a client certificate there is no identity to announce.
        #expect(!recorder.events.contains { $0 is ClientIdentityEvent })
        #expect(recorder.events.contains { ($0 as? TLSUserEvent) != nil })
        _ = try channel.finish()
    }
}
