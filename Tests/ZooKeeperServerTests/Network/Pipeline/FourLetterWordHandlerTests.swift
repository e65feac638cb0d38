import NIOCore
import NIOEmbedded
import Testing

@testable import ZooKeeperServer

/// Four-letter-word detection alone: a word is answered and the connection closed; anything else goes on intact.
struct FourLetterWordHandlerTests {
    private final class Answers {
        var asked: [FourLetterWord] = []
    }

    private func makeChannel() throws -> (EmbeddedChannel, Answers, InboundRecorder) {
        let answers = Answers()
        let recorder = InboundRecorder()
        let channel = EmbeddedChannel()
        let handler = FourLetterWordHandler { word, _ in
            answers.asked.append(word)
            return word == .ruok ? "imok" : "answer to \(word.rawValue)\n"
        }
        try channel.pipeline.syncOperations.addHandlers([handler, recorder])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 2181)).wait()
        return (channel, answers, recorder)
    }

    @Test func aWordIsAnsweredAndTheConnectionClosed() throws {
        let (channel, answers, recorder) = try makeChannel()
        try channel.writeInbound(bytes: Array("ruok".utf8))
        #expect(answers.asked == [.ruok])
        #expect(try channel.outboundText() == "imok")
        #expect(!channel.isActive)
        #expect(recorder.reads == 0)
    }

    @Test func aWordSplitAcrossReadsIsStillAWord() throws {
        let (channel, answers, _) = try makeChannel()
        try channel.writeInbound(bytes: Array("sr".utf8))
        #expect(answers.asked.isEmpty && channel.isActive)
        try channel.writeInbound(bytes: Array("vr\n".utf8))
        #expect(answers.asked == [.srvr])
        #expect(try channel.outboundText() == "answer to srvr\n")
        #expect(!channel.isActive)
    }

    /// `echo stat | nc`: the word, a newline and the end of input arrive together; the answer still goes out.
    @Test func theEndOfInputAfterAWordDoesNotCutTheAnswer() throws {
        let (channel, _, recorder) = try makeChannel()
        try channel.writeInbound(bytes: Array("stat\n".utf8))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try channel.outboundText() == "answer to stat\n")
        #expect(recorder.events.isEmpty)
    }

    @Test func framesPassThroughWholeAndTheHandlerLeaves() throws {
        let (channel, answers, recorder) = try makeChannel()
        let frame: [UInt8] = [0, 0, 0, 3, 7, 8, 9, 0, 0]
        try channel.writeInbound(bytes: Array(frame[0..<2]))
        try channel.writeInbound(bytes: Array(frame[2...]))
        #expect(answers.asked.isEmpty)
        #expect(recorder.bytes == frame)
        #expect(!channel.contains(FourLetterWordHandler.self))
        try channel.writeInbound(bytes: [1])
        #expect(recorder.bytes.last == 1)
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func unknownWordsAreNotWords() throws {
        let (channel, answers, recorder) = try makeChannel()
        try channel.writeInbound(bytes: Array("abcd".utf8))
        #expect(answers.asked.isEmpty)
        #expect(recorder.bytes == Array("abcd".utf8))
        _ = try channel.finish()
    }

    @Test func theEndOfInputBeforeFourBytesCloses() throws {
        let (channel, answers, _) = try makeChannel()
        try channel.writeInbound(bytes: Array("ru".utf8))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(answers.asked.isEmpty)
        #expect(!channel.isActive)
    }
}
