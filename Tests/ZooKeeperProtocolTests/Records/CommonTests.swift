import NIOCore
import Testing
import ZooKeeperProtocol

/// Encodes `record`, checks the exact bytes, and checks that decoding them gives the record back.
func expectGolden<R: JuteRecord & Equatable>(
    _ record: R, _ spec: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let encoded = record.encoded()
    #expect(encoded.allBytes == bytes(spec), sourceLocation: sourceLocation)
    let decoded = try R.decodeWhole(buffer(spec))
    #expect(decoded == record, sourceLocation: sourceLocation)
}

let sampleStat = Stat(
    czxid: 4, mzxid: 0xc, ctime: 1, mtime: 2, version: 2, cversion: 0, aversion: 0, ephemeralOwner: 0,
    dataLength: 6, numChildren: 0, pzxid: 4)
let sampleStatHex =
    "0000000000000004 000000000000000c 0000000000000001 0000000000000002 00000002 00000000 00000000 0000000000000000 00000006 00000000 0000000000000004"

@Suite struct CommonRecordTests {
    @Test func stat() throws {
        try expectGolden(sampleStat, sampleStatHex)
        #expect(sampleStat.encoded().readableBytes == Stat.encodedSize)
    }

    @Test func statNegativeFieldsRoundTrip() throws {
        let stat = Stat(cversion: -1, aversion: -1, ephemeralOwner: -1)
        #expect(try Stat.decodeWhole(stat.encoded()) == stat)
    }

    @Test func idAndACL() throws {
        try expectGolden(Id.anyone, "00000005 'world' 00000006 'anyone'")
        try expectGolden(ACL.openUnsafe[0], "0000001f 00000005 'world' 00000006 'anyone'")
    }

    @Test func clientInfo() throws {
        try expectGolden(ClientInfo(authScheme: "ip", user: "127.0.0.1"), "00000002 'ip' 00000009 '127.0.0.1'")
    }

    @Test func connectRequestForANewSession() throws {
        let request = ConnectRequest(
            lastZxidSeen: 0, timeout: 30000, sessionID: 0, password: [UInt8](repeating: 0, count: 16), readOnly: false)
        try expectGolden(
            request,
            "00000000 0000000000000000 00007530 0000000000000000 00000010 00000000000000000000000000000000 00")
    }

    @Test func connectRequestFromAPre34ClientHasNoReadOnlyByte() throws {
        let decoded = try ConnectRequest.decodeWhole(
            buffer("00000000 0000000000000005 00001388 0100000000000001 00000002 abcd"))
        #expect(decoded.hasReadOnlyField == false)
        #expect(decoded.readOnly == false)
        #expect(decoded.lastZxidSeen == 5)
        #expect(decoded.sessionID == 0x0100_0000_0000_0001)
        #expect(decoded.password == [0xab, 0xcd])
        #expect(
            decoded.encoded().allBytes == bytes("00000000 0000000000000005 00001388 0100000000000001 00000002 abcd"))
    }

    @Test func connectResponseObservedFromApache380() throws {
        // zk-reference §4.4: the 37-byte body observed for a new session with timeout 10000.
        let observed = "00000000 00002710 01000004ca67000c 00000010 3084dd9dfc69aeaf2012688711f31ee7 00"
        let response = try ConnectResponse.decodeWhole(buffer(observed))
        #expect(response.timeout == 10000)
        #expect(response.sessionID == 0x0100_0004_ca67_000c)
        #expect(response.password == bytes("3084dd9dfc69aeaf2012688711f31ee7"))
        #expect(response.readOnly == false)
        #expect(buffer(observed).readableBytes == 37)
        try expectGolden(response, observed)
    }

    @Test func invalidSessionResponseIsAllZero() throws {
        try expectGolden(
            ConnectResponse.invalidSession(),
            "00000000 00000000 0000000000000000 00000010 00000000000000000000000000000000 00")
    }

    @Test func headers() throws {
        try expectGolden(RequestHeader(xid: 1, opCode: .getData), "00000001 00000004")
        try expectGolden(ReplyHeader(xid: 1, zxid: 0x43, error: .noNode), "00000001 0000000000000043 ffffff9b")
        // Auth success, observed: xid -4, zxid 0, err 0.
        try expectGolden(ReplyHeader(xid: -4, zxid: 0, error: .ok), "fffffffc 0000000000000000 00000000")
    }

    @Test func watcherEvent() throws {
        try expectGolden(
            WatcherEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/"),
            "00000004 00000003 00000001 '/'")
    }

    @Test func authPacket() throws {
        try expectGolden(
            AuthPacket(scheme: "digest", auth: Array("user1:12345".utf8)),
            "00000000 00000006 'digest' 0000000b 'user1:12345'")
        try expectGolden(AuthPacket(scheme: "digest", auth: nil), "00000000 00000006 'digest' ffffffff")
    }

    @Test func errorResponse() throws {
        try expectGolden(ErrorResponse(error: .ok), "00000000")
        try expectGolden(ErrorResponse(error: .noWatcher), "ffffff87")
    }
}
