import Testing
import ZooKeeperProtocol

@testable import ZooKeeperShell

struct AclParserTests {
    @Test func digestIdsKeepTheirColons() {
        let result = AclParser.parse("digest:user1:+owfoSBn/am19roBPzR1/MfCblE=:cdrwa")
        #expect(
            result.acl == [ACL(permissions: .all, id: Id(scheme: "digest", id: "user1:+owfoSBn/am19roBPzR1/MfCblE="))])
        #expect(result.warnings.isEmpty)
    }

    @Test func severalEntriesAndBadOnes() {
        let result = AclParser.parse("world:anyone:r,bad,ip:127.0.0.1:wz")
        #expect(
            result.acl == [
                ACL(permissions: .read, id: .anyone), ACL(permissions: .write, id: Id(scheme: "ip", id: "127.0.0.1")),
            ])
        #expect(result.warnings == ["bad does not have the form scheme:id:perm", "Unknown perm type: z"])
    }

    @Test func entriesNeedTwoColons() {
        #expect(AclParser.parse("world:anyone").warnings == ["world:anyone does not have the form scheme:id:perm"])
        #expect(AclParser.parse("").warnings == [" does not have the form scheme:id:perm"])
        #expect(AclParser.parse("a::").acl == [ACL(permissions: [], id: Id(scheme: "a", id: ""))])
    }

    @Test func javaSplitDropsTrailingEmptyPieces() {
        #expect(AclParser.javaSplit("a,b,,", separator: ",") == ["a", "b"])
        #expect(AclParser.javaSplit(",a", separator: ",") == ["", "a"])
        #expect(AclParser.javaSplit(",,", separator: ",") == [])
        #expect(AclParser.javaSplit("", separator: ",") == [""])
    }
}
