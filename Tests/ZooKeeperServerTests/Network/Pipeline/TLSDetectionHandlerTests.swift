import NIOCore
import NIOEmbedded
import Testing

@testable import ZooKeeperServer

/// Port unification alone: the first byte decides, and the detector then leaves the pipeline.
struct TLSDetectionHandlerTests {
    private func makeChannel() throws -> (EmbeddedChannel, MarkerHandler, InboundRecorder) {
        let marker = MarkerHandler()
        let recorder = InboundRecorder()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([TLSDetectionHandler { [marker] }, recorder])
        return (channel, marker, recorder)
    }

    @Test func aHandshakeRecordPutsTheTLSHandlersInItsPlace() throws {
        let (channel, marker, recorder) = try makeChannel()
        try channel.writeInbound(bytes: [0x16, 0x03, 0x01, 0x00, 0x05])
        #expect(marker.reads == 1)
        #expect(recorder.bytes == [0x16, 0x03, 0x01, 0x00, 0x05])
        #expect(!channel.contains(TLSDetectionHandler.self))
        #expect(channel.contains(MarkerHandler.self))
        try channel.writeInbound(bytes: [1, 2])
        #expect(marker.reads == 2 && recorder.bytes.suffix(2) == [1, 2])
        _ = try channel.finish()
    }

    @Test(arguments: [Array("ruok".utf8), [0, 0, 0, 44, 0, 0], [0x15, 0x03]])
    func anythingElseIsPlaintext(first: [UInt8]) throws {
        let (channel, marker, recorder) = try makeChannel()
        try channel.writeInbound(bytes: first)
        #expect(marker.reads == 0)
        #expect(recorder.bytes == first)
        #expect(!channel.contains(TLSDetectionHandler.self))
        #expect(!channel.contains(MarkerHandler.self))
        _ = try channel.finish()
    }

    @Test func anEmptyReadDecidesNothing() throws {
        let (channel, _, recorder) = try makeChannel()
        try channel.writeInbound(ByteBuffer())
        #expect(channel.contains(TLSDetectionHandler.self))
        #expect(recorder.reads == 0)
        try channel.writeInbound(bytes: [0x16])
        #expect(channel.contains(MarkerHandler.self))
        _ = try channel.finish()
    }
}
