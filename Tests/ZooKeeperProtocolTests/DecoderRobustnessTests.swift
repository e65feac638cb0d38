import NIOCore
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// Random and mutated bytes fed to every decoder: each either decodes or throws a ProtocolError. A crash or a
/// hang fails the whole test run.
@Suite struct DecoderRobustnessTests {
    static let opCodes: [OpCode] = [
        .create, .delete, .exists, .getData, .setData, .getACL, .setACL, .getChildren, .sync, .ping, .getChildren2,
        .check, .multi, .create2, .reconfig, .checkWatches, .removeWatches, .createContainer, .deleteContainer,
        .createTTL, .multiRead, .auth, .setWatches, .sasl, .getEphemerals, .getAllChildrenNumber, .setWatches2,
        .addWatch, .whoAmI, .closeSession,
    ]

    @Test func randomBytesNeverCrashRequestOrResponseDecoders() {
        var generator = SeededGenerator(seed: 7)
        var decodedCount = 0
        for _ in 0..<20_000 {
            let length = Int.random(in: 0..<96, using: &generator)
            let input = ByteBuffer(bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
            let opCode = Self.opCodes.randomElement(using: &generator)!
            var request = input
            if (try? ZooKeeperRequest.decode(opCode: opCode, from: &request)) != nil { decodedCount += 1 }
            var response = input
            _ = try? ZooKeeperResponse.decode(for: opCode, from: &response)
            var connect = input
            _ = try? ConnectRequest(from: &connect)
        }
        // Some short random inputs are valid (ping, whoAmI...): the decoders did run.
        #expect(decodedCount > 0)
    }

    @Test func mutatedValidRequestsNeverCrash() {
        var survived = 0
        var generator = SeededGenerator(seed: 99)
        for request in everyRequest {
            var body = ByteBuffer()
            request.encodeBody(into: &body)
            let original = Array(body.readableBytesView)
            guard !original.isEmpty else { continue }
            for _ in 0..<500 {
                var mutated = original
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let index = Int.random(in: 0..<mutated.count, using: &generator)
                    mutated[index] = UInt8.random(in: 0...255, using: &generator)
                }
                if Bool.random(using: &generator) {
                    mutated.removeLast(Int.random(in: 0...mutated.count, using: &generator))
                }
                // decode throws only ProtocolError (typed throws); reaching the end means no trap.
                var input = ByteBuffer(bytes: mutated)
                _ = try? ZooKeeperRequest.decode(opCode: request.opCode, from: &input)
                survived += 1
            }
        }
        #expect(survived == everyRequest.filter { !$0.encodedBodyIsEmpty }.count * 500)
    }
}

extension ZooKeeperRequest {
    var encodedBodyIsEmpty: Bool {
        var body = ByteBuffer()
        encodeBody(into: &body)
        return body.readableBytes == 0
    }
}
