import NIOCore
import Testing
import ZooKeeperProtocol

@Suite struct ResponseTests {
    static let cases: [(OpCode, ZooKeeperResponse)] = [
        (.create, .path("/a0000000001")),
        (.sync, .path("/a")),
        (.create2, .pathAndStat("/a", sampleStat)),
        (.createContainer, .pathAndStat("/c", sampleStat)),
        (.createTTL, .pathAndStat("/t", sampleStat)),
        (.exists, .stat(sampleStat)),
        (.setData, .stat(sampleStat)),
        (.setACL, .stat(sampleStat)),
        (.getData, .data(nil, sampleStat)),
        (.getData, .data([], sampleStat)),
        (.reconfig, .data(Array("server.1=...".utf8), sampleStat)),
        (.getACL, .acl(ACL.openUnsafe, sampleStat)),
        (.getChildren, .children(["a", "b"])),
        (.getEphemerals, .children(["/e1", "/e2"])),
        (.getChildren2, .childrenAndStat([], sampleStat)),
        (.multi, .multi(MultiResponse([.create(path: "/x")]))),
        (.multiRead, .multi(MultiResponse([.getChildren(children: [])]))),
        (.getAllChildrenNumber, .count(3)),
        (.whoAmI, .clientInfo([ClientInfo(authScheme: "ip", user: "127.0.0.1")])),
        (.addWatch, .errorCode(.ok)),
        (.sasl, .token(nil)),
        (.delete, .empty),
        (.setWatches, .empty),
        (.removeWatches, .empty),
        (.closeSession, .empty),
    ]

    @Test func everyLayoutRoundTrips() throws {
        for (opCode, response) in Self.cases {
            var body = ByteBuffer()
            response.encode(into: &body)
            let decoded = try ZooKeeperResponse.decode(for: opCode, from: &body)
            #expect(decoded == response, "\(opCode)")
            #expect(body.readableBytes == 0, "\(opCode)")
        }
    }

    @Test func whoAmIObservedFromApache() throws {
        var body = buffer("00000001 00000002 'ip' 00000009 '127.0.0.1'")
        #expect(
            try ZooKeeperResponse.decode(for: .whoAmI, from: &body)
                == .clientInfo([ClientInfo(authScheme: "ip", user: "127.0.0.1")]))
    }

    @Test func getACLOfZookeeperConfigObservedFromApache() throws {
        let stat = Stat(aversion: -1)
        var body = buffer("00000001 00000001 00000005 'world' 00000006 'anyone'")
        stat.encode(into: &body)
        guard case .acl(let acl, let decodedStat) = try ZooKeeperResponse.decode(for: .getACL, from: &body) else {
            Issue.record("not an ACL reply")
            return
        }
        #expect(acl == [ACL(permissions: .read, id: .anyone)])
        #expect(decodedStat.aversion == -1)
    }

    @Test func addWatchReplyIsAFourByteErrorResponse() throws {
        var body = buffer("00000000")
        #expect(try ZooKeeperResponse.decode(for: .addWatch, from: &body) == .errorCode(.ok))
    }

    @Test func notificationFrameObservedFromApache() throws {
        // zk-reference §4.9: NodeChildrenChanged on / as sent by 3.8.0 (zxid -1).
        var frame = buffer("ffffffff ffffffffffffffff 00000000 00000004 00000003 00000001 2f")
        let header = try ReplyHeader(from: &frame)
        #expect(header.xid == SpecialXid.notification)
        #expect(header.zxid == -1)
        let event = try WatcherEvent.decodeWhole(frame)
        #expect(event == WatcherEvent(type: .nodeChildrenChanged, state: .syncConnected, path: "/"))
    }

    @Test func errorRepliesCarryOnlyTheHeader() {
        var out = ByteBuffer()
        ZooKeeperResponse.stat(sampleStat).encodeFrame(
            header: ReplyHeader(xid: 5, zxid: 0x20, error: .noNode), into: &out)
        #expect(out.allBytes == bytes("00000010 00000005 0000000000000020 ffffff9b"))
    }

    @Test func pingReplyFrame() {
        var out = ByteBuffer()
        ZooKeeperResponse.empty.encodeFrame(header: ReplyHeader(xid: -2, zxid: 0x43), into: &out)
        #expect(out.allBytes == bytes("00000010 fffffffe 0000000000000043 00000000"))
    }
}
