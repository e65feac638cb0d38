import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// A transaction that could not be read back (larger than jute.maxbuffer plus its headroom) is refused before it
/// is applied or logged (ZOOKEEPER-3496), and a refused request never becomes a logged change.
@Suite struct TransactionLimitTests {
    func harness(_ log: RecordingLog) -> CoreHarness {
        CoreHarness(log: log) { $0.packetLimit = 1_000 }
    }

    @Test func anOversizedWriteIsRefusedAndNothingChanges() {
        let log = RecordingLog()
        let harness = harness(log)
        let client = harness.client()
        #expect(harness.create(client, "/small", data: Array(repeating: 1, count: 900)) == "/small")
        let (header, _) = harness.call(
            client,
            .create(
                CreateRequest(
                    path: "/big", data: Array(repeating: 2, count: 2_100), acl: ACL.openUnsafe, mode: .persistent)))
        #expect(header.error == .badArguments)
        #expect(harness.stat(client, "/big") == nil)
        // The refusal is logged as an error transaction (it takes a zxid, as Apache's do), never as a create.
        guard case .error(.badArguments) = log.transactions.last?.body else {
            Issue.record("\(String(describing: log.transactions.last))")
            return
        }
        for transaction in log.transactions {
            #expect(TransactionCodec.encodedSize(of: transaction.body) <= 2 * 1_000)
        }
    }

    @Test func aMultiThatGrowsTooLargeIsRolledBack() {
        let log = RecordingLog()
        let harness = harness(log)
        let client = harness.client()
        let data = Array(repeating: UInt8(3), count: 800)
        let outputs = harness.send(
            client,
            .multi(
                MultiRequest([
                    .create(CreateRequest(path: "/m1", data: data, acl: ACL.openUnsafe, mode: .persistent)),
                    .create(CreateRequest(path: "/m2", data: data, acl: ACL.openUnsafe, mode: .persistent)),
                    .create(CreateRequest(path: "/m3", data: data, acl: ACL.openUnsafe, mode: .persistent)),
                ])))
        guard case .reply(_, _, .multi(let response)) = outputs.last else {
            Issue.record("no multi reply")
            return
        }
        #expect(response.results == [.error(.ok), .error(.ok), .error(.badArguments)])
        #expect(harness.stat(client, "/m1") == nil)
        #expect(harness.stat(client, "/m2") == nil)
        guard case .error(.badArguments) = log.transactions.last?.body else {
            Issue.record("\(String(describing: log.transactions.last))")
            return
        }
    }

    @Test func aServerThatRefusesWritesAnswersNotReadOnlyAndTakesNoZxid() {
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        let client = harness.client()
        #expect(harness.create(client, "/kept") == "/kept")
        harness.core.refusesWrites = true
        let zxid = harness.core.lastZxid
        #expect(
            harness.error(
                client, .create(CreateRequest(path: "/no", data: nil, acl: ACL.openUnsafe, mode: .persistent)))
                == .notReadOnly)
        #expect(harness.error(client, .setData(SetDataRequest(path: "/kept", data: [1], version: -1))) == .notReadOnly)
        #expect(harness.error(client, .delete(PathVersionRequest(path: "/kept", version: -1))) == .notReadOnly)
        #expect(harness.stat(client, "/kept") != nil)
        // Sessions still come and go (in memory), expiry included, without a transaction.
        let second = harness.client()
        #expect(harness.core.sessionID(of: second) != nil)
        harness.clock.advance(milliseconds: 60_000)
        _ = harness.core.expireSessions()
        #expect(harness.core.lastZxid == zxid)
        #expect(log.transactions.count == Int(zxid))
    }
}
