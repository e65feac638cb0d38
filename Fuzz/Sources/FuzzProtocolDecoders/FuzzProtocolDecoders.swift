import FuzzSupport
import NIOCore
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#endif

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
    let limit = input.pick(packetLimits)
    let chunkSize = 1 + input.below(64)
    let stream = input.remaining
    var decoder = ZooKeeperFrameDecoder(maximumFrameLength: limit)
    // The buffers live from input to input (emptied, their storage kept): allocations are what costs most under
    // the address sanitizer.
    scratch.pending.clear()
    var offset = 0
    while offset < stream.count {
        let end = min(stream.count, offset + chunkSize)
        scratch.pending.writeBytes(stream[offset..<end])
        offset = end
        do {
            while let frame = try decoder.decode(buffer: &scratch.pending) {
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

private let packetLimits = [64, 1024, ZooKeeperFrameDecoder.defaultPacketLimit]

/// Buffers reused by every input (libFuzzer calls the target from one thread).
private final class Scratch {
    var pending = ByteBuffer()
    var encoded = ByteBuffer()
}
nonisolated(unsafe) private let scratch = Scratch()

private func readEveryWay(_ frame: ByteBuffer) {
    var request = frame
    if let header = try? RequestHeader(from: &request) {
        let body = request
        do {
            let decoded = try ZooKeeperRequest.decode(opCode: header.opCode, from: &request)
            scratch.encoded.clear()
            decoded.encodeBody(into: &scratch.encoded)
            var again = scratch.encoded
            let reread = try? ZooKeeperRequest.decode(opCode: header.opCode, from: &again)
            fuzzCheck(reread == decoded, "request \(header.opCode) \(body.fuzzBytes) does not round-trip")
        } catch {}
    }
    var reply = frame
    if (try? ReplyHeader(from: &reply)) != nil {
        for opCode in replyLayouts {
            var body = reply
            do {
                let decoded = try ZooKeeperResponse.decode(for: opCode, from: &body)
                scratch.encoded.clear()
                decoded.encode(into: &scratch.encoded)
                var again = scratch.encoded
                let reread = try? ZooKeeperResponse.decode(for: opCode, from: &again)
                fuzzCheck(reread == decoded, "reply to \(opCode) \(reply.fuzzBytes) does not round-trip")
            } catch {}
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
    scratch.encoded.clear()
    decoded.encode(into: &scratch.encoded)
    var again = scratch.encoded
    let reread = try? Record(from: &again)
    fuzzCheck(reread == decoded, "\(Record.self) \(frame.fuzzBytes) does not round-trip")
}

private let replyOpCodes: [OpCode] = [
    .create, .delete, .exists, .getData, .setData, .getACL, .setACL, .getChildren, .sync, .ping, .getChildren2,
    .check, .multi, .create2, .reconfig, .checkWatches, .removeWatches, .createContainer, .deleteContainer,
    .createTTL, .multiRead, .auth, .setWatches, .sasl, .getEphemerals, .getAllChildrenNumber, .setWatches2,
    .addWatch, .whoAmI, .closeSession,
]

/// The reply opcodes each frame is read as: one for each distinct reply layout. Most opcodes share a layout with
/// others (ten have an empty reply, create and sync reply with a path, create2 and the container and TTL creates
/// with a path and a stat...), and reading a frame again as another opcode of the same layout runs the same
/// decoder on the same bytes: it was two thirds of the target's time. Which opcodes share a layout is found when
/// the target starts, not written here: every opcode decodes a set of probe bodies, and opcodes whose results
/// agree on every probe share a layout. A decoder changed for one opcode then gets a place of its own here.
private let replyLayouts: [OpCode] = {
    var layouts: [(opCode: OpCode, results: [ProbeResult])] = []
    var shared: [String] = []
    for opCode in replyOpCodes {
        let results = replyProbes.map { probe in
            var body = ByteBuffer(bytes: probe)
            do throws(ProtocolError) {
                let decoded = try ZooKeeperResponse.decode(for: opCode, from: &body)
                return ProbeResult.decoded(decoded, left: body.readableBytes)
            } catch {
                return .failed(error.code)
            }
        }
        if let same = layouts.first(where: { $0.results == results }) {
            shared.append("\(opCode.rawValue) as \(same.opCode.rawValue)")
        } else {
            layouts.append((opCode, results))
        }
    }
    var note =
        "INFO: replies read as \(layouts.count) layouts for \(replyOpCodes.count) opcodes (opcode as opcode: "
        + "\(shared.joined(separator: ", ")))\n"
    note.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    return layouts.map(\.opCode)
}()

private enum ProbeResult: Equatable {
    case decoded(ZooKeeperResponse, left: Int)
    case failed(ProtocolError.Code)
}

/// Reply bodies that tell the layouts apart: each layout's fields (a path, a stat, a buffer, an ACL vector, a
/// string vector, a count, client infos, a multi), alone and in the combinations replies use, and bytes from a
/// fixed pseudo-random sequence.
private let replyProbes: [[UInt8]] = {
    func int(_ value: Int32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    func string(_ text: String) -> [UInt8] { int(Int32(text.utf8.count)) + Array(text.utf8) }
    let stat = (0..<68).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    let path = string("/a")
    let buffer = int(3) + [1, 2, 3]
    let acl = int(1) + int(31) + string("world") + string("anyone")
    let names = int(2) + string("a") + string("bc")
    let clientInfo = int(1) + string("ip") + string("127.0.0.1")
    let multiEnd = int(-1) + [1] + int(-1)
    let multi = int(1) + [0] + int(0) + path + multiEnd
    var probes: [[UInt8]] = [
        [], path, path + stat, stat, buffer + stat, acl + stat, names, names + stat, int(5), clientInfo, multiEnd,
        multi, buffer, int(-1), int(-1) + stat, int(0) + stat, int(-101),
    ]
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    for length in 0..<48 {
        probes.append(
            (0..<(length * 3)).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56)
            })
    }
    return probes
}()
