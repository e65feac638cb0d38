import NIOCore
import Testing
import ZooKeeperProtocol

@Suite struct RequestRecordTests {
    @Test func createRequest() throws {
        try expectGolden(
            CreateRequest(path: "/a", data: Array("hi".utf8), acl: ACL.openUnsafe, mode: .ephemeralSequential),
            "00000002 '/a' 00000002 'hi' 00000001 0000001f 00000005 'world' 00000006 'anyone' 00000003")
        // Null data (zkCli's `create /a` with no value) is -1, not an empty buffer.
        try expectGolden(
            CreateRequest(path: "/a", data: nil, acl: [], mode: .persistent),
            "00000002 '/a' ffffffff 00000000 00000000")
    }

    @Test func createTTLRequest() throws {
        try expectGolden(
            CreateTTLRequest(path: "/t", data: [], acl: ACL.openUnsafe, flags: 5, ttl: 5000),
            "00000002 '/t' 00000000 00000001 0000001f 00000005 'world' 00000006 'anyone' 00000005 0000000000001388")
    }

    @Test func pathVersionPathWatchAndPath() throws {
        try expectGolden(PathVersionRequest(path: "/a", version: -1), "00000002 '/a' ffffffff")
        try expectGolden(PathWatchRequest(path: "/a", watch: true), "00000002 '/a' 01")
        try expectGolden(PathWatchRequest(path: "/a", watch: false), "00000002 '/a' 00")
        try expectGolden(PathRequest(path: "/a"), "00000002 '/a'")
    }

    @Test func setDataAndSetACL() throws {
        try expectGolden(SetDataRequest(path: "/a", data: [], version: 5), "00000002 '/a' 00000000 00000005")
        try expectGolden(
            SetACLRequest(
                path: "/a", acl: [ACL(permissions: .read, id: Id(scheme: "digest", id: "u:h="))], version: -1),
            "00000002 '/a' 00000001 00000001 00000006 'digest' 00000004 'u:h=' ffffffff")
    }

    @Test func watchRequests() throws {
        try expectGolden(AddWatchRequest(path: "/a", mode: .persistentRecursive), "00000002 '/a' 00000001")
        try expectGolden(WatchesRequest(path: "/a", type: .any), "00000002 '/a' 00000003")
    }

    @Test func setWatchesAndSetWatches2() throws {
        let watches = SetWatches(
            relativeZxid: 0x10, dataWatches: ["/a"], existWatches: [], childWatches: ["/b", "/c"])
        let v1 = "0000000000000010 00000001 00000002 '/a' 00000000 00000002 00000002 '/b' 00000002 '/c'"
        var out = ByteBuffer()
        watches.encode(into: &out, version2: false)
        #expect(out.allBytes == bytes(v1))
        #expect(try SetWatches(from: &out, version2: false) == watches)
        #expect(watches.needsVersion2 == false)

        var persistent = watches
        persistent.persistentWatches = ["/p"]
        persistent.persistentRecursiveWatches = []
        var out2 = ByteBuffer()
        persistent.encode(into: &out2, version2: true)
        #expect(out2.allBytes == bytes(v1 + " 00000001 00000002 '/p' 00000000"))
        #expect(try SetWatches(from: &out2, version2: true) == persistent)
        #expect(persistent.needsVersion2)
    }

    @Test func reconfigRequest() throws {
        try expectGolden(
            ReconfigRequest(joiningServers: nil, leavingServers: "2", newMembers: nil, currentConfigID: -1),
            "ffffffff 00000001 '2' ffffffff ffffffffffffffff")
    }
}
