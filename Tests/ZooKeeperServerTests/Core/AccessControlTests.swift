import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

@Suite struct AccessControlTests {
    @Test(arguments: [
        ("user1:12345", "user1:+owfoSBn/am19roBPzR1/MfCblE="),
        ("zookeeper:admin", "zookeeper:qW/HnTfCSoQpB5G8LgkwT3IbiFc="),
        ("super:super", "super:gG7s8t3oDEtIqF6DM9LlI/R+9Ss="),
    ])
    func digestMatchesApache(credentials: String, expected: String) {
        #expect(AccessControl.digest(credentials: Array(credentials.utf8)) == expected)
    }

    @Test func ipPatternsMatchByPrefix() {
        #expect(AccessControl.ipMatches(address: "10.1.2.3", pattern: "10.0.0.0/8"))
        #expect(!AccessControl.ipMatches(address: "11.1.2.3", pattern: "10.0.0.0/8"))
        #expect(AccessControl.ipMatches(address: "192.168.1.77", pattern: "192.168.1.64/26"))
        #expect(!AccessControl.ipMatches(address: "192.168.1.128", pattern: "192.168.1.64/26"))
        #expect(AccessControl.ipMatches(address: "127.0.0.1", pattern: "127.0.0.1"))
        #expect(AccessControl.ipMatches(address: "::1", pattern: "::1/128"))
        #expect(!AccessControl.ipMatches(address: "127.0.0.1", pattern: "::1"))
        #expect(!AccessControl.ipMatches(address: "127.0.0.1", pattern: "not-an-ip"))
    }

    @Test func evaluationFollowsApache() {
        let ip = [Id(scheme: "ip", id: "10.0.0.5")]
        let readForTen = [ACL(permissions: .read, id: Id(scheme: "ip", id: "10.0.0.0/24"))]
        #expect(AccessControl.isAllowed(.read, acl: readForTen, ids: ip))
        #expect(!AccessControl.isAllowed(.write, acl: readForTen, ids: ip))
        #expect(AccessControl.isAllowed(.write, acl: [], ids: ip))
        #expect(AccessControl.isAllowed(.admin, acl: readForTen, ids: ip + [Id(scheme: "super", id: "")]))
        #expect(AccessControl.isAllowed(.delete, acl: ACL.openUnsafe, ids: []))
        let digest = [ACL(permissions: .all, id: Id(scheme: "digest", id: "u:h"))]
        #expect(AccessControl.isAllowed(.read, acl: digest, ids: [Id(scheme: "digest", id: "u:h")]))
        #expect(!AccessControl.isAllowed(.read, acl: digest, ids: [Id(scheme: "digest", id: "u:x")]))
    }

    @Test func fixUpValidatesAndDeduplicates() {
        let world = ACL(permissions: .all, id: .anyone)
        #expect(AccessControl.fixUp([world, world], ids: []) == [world])
        #expect(AccessControl.fixUp([], ids: []) == nil)
        #expect(AccessControl.fixUp([ACL(permissions: .read, id: Id(scheme: "digest", id: "nocolon"))], ids: []) == nil)
        #expect(AccessControl.fixUp([ACL(permissions: .read, id: Id(scheme: "ip", id: "1.2.3.4/33"))], ids: []) == nil)
        #expect(AccessControl.fixUp([ACL(permissions: .read, id: Id(scheme: "sasl", id: "x"))], ids: []) == nil)
        // `auth` expands to digest ids only, never ip.
        #expect(AccessControl.fixUp(ACL.creatorAll, ids: [Id(scheme: "ip", id: "127.0.0.1")]) == nil)
        let digestId = Id(scheme: "digest", id: "u:h")
        #expect(
            AccessControl.fixUp(ACL.creatorAll, ids: [Id(scheme: "ip", id: "127.0.0.1"), digestId]) == [
                ACL(permissions: .all, id: digestId)
            ])
    }

    @Test func redactionHidesOnlyDigests() {
        let acl = [
            ACL(permissions: .all, id: Id(scheme: "digest", id: "alice:hash")), ACL(permissions: .read, id: .anyone),
        ]
        #expect(
            AccessControl.redactingDigests(acl) == [
                ACL(permissions: .all, id: Id(scheme: "digest", id: "alice:x")), ACL(permissions: .read, id: .anyone),
            ])
    }

    @Test func aclCacheSharesLists() {
        var cache = ACLCache()
        let a = cache.retain(ACL.openUnsafe)
        let b = cache.retain(ACL.openUnsafe)
        #expect(a == b && cache.count == 1)
        cache.release(a)
        #expect(cache.count == 1)
        cache.release(b)
        #expect(cache.count == 0)
        let c = cache.retain(ACL.readUnsafe)
        #expect(cache.acl(at: c) == ACL.readUnsafe)
    }
}
