import NIOCore

/// Splits a byte stream into frames: a 4-byte big-endian length, then that many bytes. Yields the frame bodies.
///
/// A length that is negative or above the packet limit (jute.maxbuffer, 1,048,575 bytes by default) throws
/// `ProtocolError.Code.frameTooLarge` at once, before any of the body is buffered.
public struct ZooKeeperFrameDecoder: NIOSingleStepByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer

    /// Apache's default `jute.maxbuffer`: 0xfffff.
    public static let defaultPacketLimit = 1_048_575

    public let maximumFrameLength: Int

    public init(maximumFrameLength: Int = ZooKeeperFrameDecoder.defaultPacketLimit) {
        self.maximumFrameLength = maximumFrameLength
    }

    public mutating func decode(buffer: inout ByteBuffer) throws -> ByteBuffer? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return nil }
        guard length >= 0, Int(length) <= maximumFrameLength else {
            throw ProtocolError(.frameTooLarge, "frame length \(length), limit \(maximumFrameLength)")
        }
        guard buffer.readableBytes >= 4 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        return buffer.readSlice(length: Int(length))
    }

    public mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> ByteBuffer? {
        try decode(buffer: &buffer)
    }
}
