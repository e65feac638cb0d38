import NIOCore
import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

@Suite struct TransactionCodecTests {
    static let digestACL = [
        ACL(permissions: .all, id: Id(scheme: "digest", id: "bob:hash")), ACL(permissions: .read, id: .anyone),
    ]
    static let bodies: [TransactionBody] = [
        .createSession(timeout: 30_000, password: Array(0..<16)),
        .closeSession(ephemeralPaths: nil),
        .closeSession(ephemeralPaths: []),
        .closeSession(ephemeralPaths: ["/a/e-0000000001", "/é/日本", "/b/e"]),
        .create(
            path: "/a/b", data: Array("hello".utf8), acl: digestACL, ephemeralOwner: 0x0100_0000_0000_0001,
            parentChildCreations: 7),
        .create(path: "/null", data: nil, acl: ACL.openUnsafe, ephemeralOwner: 0, parentChildCreations: 1),
        .delete(path: "/a/b"),
        .setData(path: "/a", data: [], version: 3),
        .setACL(path: "/a", acl: ACL.readUnsafe, aversion: -1),
        .check(path: "/a"),
        .multi([
            .create(path: "/m", data: [1], acl: ACL.openUnsafe, ephemeralOwner: 0, parentChildCreations: 2),
            .setData(path: "/m", data: nil, version: 1), .delete(path: "/m"),
        ]),
        .multi([]),
        .error(.noNode),
    ]

    @Test(arguments: bodies)
    func roundTripsAndSizesExactly(_ body: TransactionBody) throws {
        let transaction = Transaction(zxid: 0x1_0000_0005, time: 1_700_000_000_123, sessionID: -42, body: body)
        var buffer = ByteBuffer()
        TransactionCodec.encode(transaction, into: &buffer)
        #expect(buffer.readableBytes == TransactionCodec.headerSize + TransactionCodec.encodedSize(of: body))
        #expect(try TransactionCodec.decode(&buffer) == transaction)
    }

    @Test func rejectsTrailingBytesUnknownTagsAndNestedMulti() {
        var trailing = ByteBuffer()
        TransactionCodec.encode(
            Transaction(zxid: 1, time: 0, sessionID: 0, body: .closeSession(ephemeralPaths: ["/e"])), into: &trailing)
        trailing.writeInteger(UInt8(0))
        #expect(throws: ProtocolError.self) { try TransactionCodec.decode(&trailing) }

        var unknown = ByteBuffer()
        unknown.writeJuteLong(1)
        unknown.writeJuteLong(0)
        unknown.writeJuteLong(0)
        unknown.writeJuteInt(99)
        #expect(throws: ProtocolError.self) { try TransactionCodec.decode(&unknown) }

        var nested = ByteBuffer()
        TransactionCodec.encode(
            Transaction(zxid: 1, time: 0, sessionID: 0, body: .multi([.multi([])])), into: &nested)
        #expect(throws: ProtocolError.self) { try TransactionCodec.decode(&nested) }
    }

    /// A closeSession as zkserver logged it before the record named the session's ephemerals: tag 2 and nothing
    /// after it. It still decodes, as a close without paths (replayed from the tree, as it always was).
    @Test func aCloseSessionWithoutPathsInTheOldLayoutStillDecodes() throws {
        var old = oldLayoutCloseSessionPayload(
            zxid: 0x1_0000_0007, time: 1_700_000_000_123, sessionID: 0x0100_0000_0000_0002)
        #expect(old.readableBytes == TransactionCodec.headerSize + 4)
        let decoded = try TransactionCodec.decode(&old)
        #expect(
            decoded
                == Transaction(
                    zxid: 0x1_0000_0007, time: 1_700_000_000_123, sessionID: 0x0100_0000_0000_0002,
                    body: .closeSession(ephemeralPaths: nil)))
    }

    @Test func aCutRecordNeverTraps() {
        var whole = ByteBuffer()
        TransactionCodec.encode(Transaction(zxid: 9, time: 1, sessionID: 2, body: Self.bodies[2]), into: &whole)
        for length in 0..<whole.readableBytes {
            var cut = whole.getSlice(at: 0, length: length)!
            #expect(throws: ProtocolError.self) { try TransactionCodec.decode(&cut) }
        }
    }
}
