import FuzzSupport
import NIOCore
import ZooKeeperProtocol

/// The frame decoder and every request and response record decoder, fed one byte stream.
///
/// The stream is cut into frames as a connection cuts it, in chunks of sizes taken from the input; each frame
/// body is then read every way a peer might read it: as a request (header, then the body of its opcode), as the
/// reply to each opcode, as a ConnectRequest and a ConnectResponse, as a watch event. Decoding either succeeds
/// or throws a ProtocolError; whatever decodes must encode and decode back to itself.
@main struct FuzzProtocolDecodersMain {
    static func main() { runFuzzer(fuzzProtocolDecoders) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtocolDecoders(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let limit = input.pick([64, 1024, ZooKeeperFrameDecoder.defaultPacketLimit])
    let chunkSize = 1 + input.below(64)
    let stream = input.remaining
    var decoder = ZooKeeperFrameDecoder(maximumFrameLength: limit)
    var pending = ByteBuffer()
    var offset = 0
    while offset < stream.count {
        let end = min(stream.count, offset + chunkSize)
        pending.writeBytes(stream[offset..<end])
        offset = end
        do {
            while let frame = try decoder.decode(buffer: &pending) {
                fuzzCheck(frame.readableBytes <= limit, "a frame of \(frame.readableBytes) bytes passed \(limit)")
                readEveryWay(frame)
            }
        } catch {
            // A bad length ends the connection: nothing more is read from it.
            return 0
        }
    }
    return 0
}

private func readEveryWay(_ frame: ByteBuffer) {
    var request = frame
    if let header = try? RequestHeader(from: &request) {
        let body = request
        if let decoded = try? ZooKeeperRequest.decode(opCode: header.opCode, from: &request) {
            var encoded = ByteBuffer()
            decoded.encodeBody(into: &encoded)
            var again = encoded
            let reread = try? ZooKeeperRequest.decode(opCode: header.opCode, from: &again)
            fuzzCheck(reread == decoded, "request \(header.opCode) \(body.fuzzBytes) does not round-trip")
        }
    }
    var reply = frame
    if let header = try? ReplyHeader(from: &reply) {
        _ = header
        for opCode in replyOpCodes {
            var body = reply
            if let decoded = try? ZooKeeperResponse.decode(for: opCode, from: &body) {
                var encoded = ByteBuffer()
                decoded.encode(into: &encoded)
                var again = encoded
                let reread = try? ZooKeeperResponse.decode(for: opCode, from: &again)
                fuzzCheck(reread == decoded, "reply to \(opCode) \(reply.fuzzBytes) does not round-trip")
            }
        }
    }
    roundTrip(ConnectRequest.self, frame)
    roundTrip(ConnectResponse.self, frame)
    roundTrip(WatcherEvent.self, frame)
    roundTrip(MultiRequest.self, frame)
    roundTrip(MultiResponse.self, frame)
}

private func roundTrip<Record: JuteRecord & Equatable>(_ type: Record.Type, _ frame: ByteBuffer) {
    var buffer = frame
    guard let decoded = try? Record(from: &buffer) else { return }
    var encoded = ByteBuffer()
    decoded.encode(into: &encoded)
    let reread = try? Record(from: &encoded)
    fuzzCheck(reread == decoded, "\(Record.self) \(frame.fuzzBytes) does not round-trip")
}

private let replyOpCodes: [OpCode] = [
    .create, .delete, .exists, .getData, .setData, .getACL, .setACL, .getChildren, .sync, .ping, .getChildren2,
    .check, .multi, .create2, .reconfig, .checkWatches, .removeWatches, .createContainer, .deleteContainer,
    .createTTL, .multiRead, .auth, .setWatches, .sasl, .getEphemerals, .getAllChildrenNumber, .setWatches2,
    .addWatch, .whoAmI, .closeSession,
]
