import NIOCore
import Testing
import ZooKeeperProtocol

@Suite struct MultiRecordTests {
    @Test func multiRequestEncoding() throws {
        let request = MultiRequest([
            .create(CreateRequest(path: "/m", data: nil, acl: [], mode: .persistent)),
            .delete(PathVersionRequest(path: "/x", version: 3)),
            .check(PathVersionRequest(path: "/m", version: 0)),
        ])
        try expectGolden(
            request,
            "00000001 00 ffffffff | 00000002 '/m' ffffffff 00000000 00000000"
                + "| 00000002 00 ffffffff | 00000002 '/x' 00000003"
                + "| 0000000d 00 ffffffff | 00000002 '/m' 00000000"
                + "| ffffffff 01 ffffffff")
    }

    @Test func emptyMultiIsJustTheTerminator() throws {
        try expectGolden(MultiRequest([]), "ffffffff 01 ffffffff")
    }

    @Test func multiReadOperations() throws {
        try expectGolden(
            MultiRequest([.getChildren(path: "/"), .getData(path: "/a")]),
            "00000008 00 ffffffff 00000001 '/' 00 | 00000004 00 ffffffff 00000002 '/a' 00 | ffffffff 01 ffffffff")
    }

    @Test func failedMultiObservedFromApache380() throws {
        // zk-reference §4.8: create ok, delete /nonexist fails with NoNode, setData never ran.
        let observed =
            "ffffffff 00 00000000 00000000 | ffffffff 00 ffffff9b ffffff9b | ffffffff 00 fffffffe fffffffe | ffffffff 01 ffffffff"
        let response = try MultiResponse.decodeWhole(buffer(observed))
        #expect(response.results == [.error(.ok), .error(.noNode), .error(.runtimeInconsistency)])
        #expect(response.firstError?.index == 1)
        #expect(response.firstError?.code == .noNode)
        try expectGolden(response, observed)
    }

    @Test func successfulMultiResults() throws {
        let response = MultiResponse([
            .create(path: "/a"), .create2(path: "/b", stat: sampleStat), .delete, .setData(stat: sampleStat), .check,
        ])
        try expectGolden(
            response,
            "00000001 00 00000000 00000002 '/a'"
                + "| 0000000f 00 00000000 00000002 '/b' \(sampleStatHex)"
                + "| 00000002 00 00000000 | 00000005 00 00000000 \(sampleStatHex)"
                + "| 0000000d 00 00000000 | ffffffff 01 ffffffff")
        #expect(response.firstError == nil)
    }

    @Test func multiReadResultsMixDataAndErrors() throws {
        let response = MultiResponse([
            .getChildren(children: ["x", "y"]), .getData(data: nil, stat: sampleStat), .error(.noNode),
        ])
        try expectGolden(
            response,
            "00000008 00 00000000 00000002 00000001 'x' 00000001 'y'"
                + "| 00000004 00 00000000 ffffffff \(sampleStatHex)"
                + "| ffffffff 00 ffffff9b ffffff9b | ffffffff 01 ffffffff")
    }

    @Test func unknownOperationTypeIsAProtocolError() {
        #expect { try MultiRequest.decodeWhole(buffer("00000063 00 ffffffff ffffffff 01 ffffffff")) } throws: {
            ($0 as? ProtocolError)?.code == .unknownOpCode
        }
    }

    @Test func missingTerminatorIsTruncated() {
        #expect { try MultiRequest.decodeWhole(buffer("00000002 00 ffffffff 00000002 '/x' 00000003")) } throws: {
            ($0 as? ProtocolError)?.code == .truncated
        }
    }
}
