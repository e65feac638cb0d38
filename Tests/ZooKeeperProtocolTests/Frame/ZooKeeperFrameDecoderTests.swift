import NIOCore
import NIOTestUtils
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

@Suite struct ZooKeeperFrameDecoderTests {
    @Test func framesSurviveEverySplit() throws {
        // The verifier feeds the input whole, byte by byte, and in other splits.
        let frames = [buffer("00000001 00000004"), buffer(""), buffer("ffffffff ffffffffffffffff 00000000")]
        var input = ByteBuffer()
        for frame in frames {
            input.writeInteger(Int32(frame.readableBytes))
            input.writeImmutableBuffer(frame)
        }
        try ByteToMessageDecoderVerifier.verifyDecoder(
            inputOutputPairs: [(input, frames)],
            decoderFactory: { ZooKeeperFrameDecoder() })
    }

    @Test func randomSplitsYieldTheSameFrames() throws {
        var generator = SeededGenerator(seed: 42)
        var frames: [ByteBuffer] = []
        var stream = ByteBuffer()
        for _ in 0..<200 {
            let length = Int.random(in: 0..<300, using: &generator)
            let body = ByteBuffer(bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            frames.append(body)
            stream.writeInteger(Int32(length))
            stream.writeImmutableBuffer(body)
        }
        var decoder = ZooKeeperFrameDecoder()
        var pending = ByteBuffer()
        var decoded: [ByteBuffer] = []
        while stream.readableBytes > 0 {
            let size = Int.random(in: 1...64, using: &generator)
            var chunk = stream.readSlice(length: min(size, stream.readableBytes))!
            pending.writeBuffer(&chunk)
            while let frame = try decoder.decode(buffer: &pending) {
                decoded.append(frame)
            }
        }
        #expect(decoded == frames)
    }

    @Test func negativeLengthIsRejected() {
        var decoder = ZooKeeperFrameDecoder()
        var input = buffer("ffffffff")
        #expect { try decoder.decode(buffer: &input) } throws: { ($0 as? ProtocolError)?.code == .frameTooLarge }
    }

    @Test func lengthAboveThePacketLimitIsRejectedBeforeBuffering() {
        var decoder = ZooKeeperFrameDecoder()
        // 1,048,576 bytes announced; only the header present. Rejected at once, nothing buffered.
        var input = buffer("00100000")
        #expect { try decoder.decode(buffer: &input) } throws: { ($0 as? ProtocolError)?.code == .frameTooLarge }
        var maximum = buffer("7fffffff")
        #expect { try decoder.decode(buffer: &maximum) } throws: { ($0 as? ProtocolError)?.code == .frameTooLarge }
    }

    @Test func exactlyThePacketLimitIsAccepted() throws {
        var decoder = ZooKeeperFrameDecoder()
        var input = ByteBuffer()
        input.writeInteger(Int32(ZooKeeperFrameDecoder.defaultPacketLimit))
        input.writeRepeatingByte(7, count: ZooKeeperFrameDecoder.defaultPacketLimit)
        let frame = try decoder.decode(buffer: &input)
        #expect(frame?.readableBytes == 1_048_575)
    }

    @Test func limitIsConfigurable() throws {
        var decoder = ZooKeeperFrameDecoder(maximumFrameLength: 16)
        var ok = buffer("00000010 " + String(repeating: "00", count: 16))
        #expect(try decoder.decode(buffer: &ok)?.readableBytes == 16)
        var tooBig = buffer("00000011")
        #expect { try decoder.decode(buffer: &tooBig) } throws: { ($0 as? ProtocolError)?.code == .frameTooLarge }
    }

    @Test func truncatedFrameWaitsForMoreBytes() throws {
        var decoder = ZooKeeperFrameDecoder()
        var input = buffer("00000008 0000")
        #expect(try decoder.decode(buffer: &input) == nil)
        #expect(input.readableBytes == 6)
    }
}
