import NIOCore
import Testing
import ZooKeeperProtocol

/// One request of every kind, to check that each survives encode → decode by opcode.
let everyRequest: [ZooKeeperRequest] = [
    .create(CreateRequest(path: "/a", data: Array("v".utf8), acl: ACL.openUnsafe, mode: .persistent)),
    .create2(CreateRequest(path: "/a", data: nil, acl: ACL.creatorAll, mode: .ephemeral)),
    .createContainer(CreateRequest(path: "/c", data: [], acl: ACL.openUnsafe, mode: .container)),
    .createTTL(CreateTTLRequest(path: "/t", data: [1], acl: ACL.openUnsafe, flags: 6, ttl: 1000)),
    .delete(PathVersionRequest(path: "/a", version: 7)),
    .exists(PathWatchRequest(path: "/a", watch: true)),
    .getData(PathWatchRequest(path: "/a", watch: false)),
    .setData(SetDataRequest(path: "/a", data: Array("w".utf8), version: -1)),
    .getACL(PathRequest(path: "/a")),
    .setACL(SetACLRequest(path: "/a", acl: ACL.readUnsafe, version: 0)),
    .getChildren(PathWatchRequest(path: "/", watch: true)),
    .getChildren2(PathWatchRequest(path: "/", watch: false)),
    .sync(PathRequest(path: "/a")),
    .ping,
    .check(PathVersionRequest(path: "/a", version: 1)),
    .multi(MultiRequest([.create(CreateRequest(path: "/m", data: nil, acl: ACL.openUnsafe, mode: .persistent))])),
    .multiRead(MultiRequest([.getData(path: "/m")])),
    .reconfig(
        ReconfigRequest(joiningServers: "server.4=h:1:2", leavingServers: nil, newMembers: nil, currentConfigID: 5)),
    .checkWatches(WatchesRequest(path: "/a", type: .data)),
    .removeWatches(WatchesRequest(path: "/a", type: .children)),
    .deleteContainer(path: "/c"),
    .auth(AuthPacket(scheme: "digest", auth: Array("u:p".utf8))),
    .setWatches(SetWatches(relativeZxid: 9, dataWatches: ["/a"])),
    .setWatches2(SetWatches(relativeZxid: 9, persistentRecursiveWatches: ["/r"])),
    .sasl(token: [1, 2, 3]),
    .getEphemerals(PathRequest(path: "/")),
    .getAllChildrenNumber(PathRequest(path: "/")),
    .addWatch(AddWatchRequest(path: "/a", mode: .persistent)),
    .whoAmI,
    .closeSession,
]

@Suite struct RequestTests {
    @Test(arguments: everyRequest)
    func roundTripsThroughItsOpcode(_ request: ZooKeeperRequest) throws {
        var body = ByteBuffer()
        request.encodeBody(into: &body)
        let decoded = try ZooKeeperRequest.decode(opCode: request.opCode, from: &body)
        #expect(decoded == request)
        #expect(body.readableBytes == 0)
    }

    @Test func pingFrameObservedFromApache() {
        var out = ByteBuffer()
        ZooKeeperRequest.ping.encodeFrame(xid: SpecialXid.ping, into: &out)
        #expect(out.allBytes == bytes("00000008 fffffffe 0000000b"))
    }

    @Test func requestFrameCarriesHeaderAndBody() {
        var out = ByteBuffer()
        ZooKeeperRequest.getData(PathWatchRequest(path: "/a", watch: true)).encodeFrame(xid: 3, into: &out)
        #expect(out.allBytes == bytes("0000000f 00000003 00000004 00000002 '/a' 01"))
    }

    @Test func deleteContainerBodyIsABareBuffer() {
        var out = ByteBuffer()
        ZooKeeperRequest.deleteContainer(path: "/c").encodeBody(into: &out)
        #expect(out.allBytes == bytes("00000002 '/c'"))
    }

    @Test func unknownOpcodesThrow() {
        for code: Int32 in [0, 10, 99, 108, -5] {
            var empty = ByteBuffer()
            #expect { try ZooKeeperRequest.decode(opCode: OpCode(code), from: &empty) } throws: {
                ($0 as? ProtocolError)?.code == .unknownOpCode
            }
        }
    }

    @Test func pathOfRequests() {
        #expect(ZooKeeperRequest.sync(PathRequest(path: "/s")).path == "/s")
        #expect(ZooKeeperRequest.ping.path == nil)
    }
}
