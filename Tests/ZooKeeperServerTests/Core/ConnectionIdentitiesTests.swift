import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// A connection's ids in the order Apache 3.8 lists them (observed with zkCli.sh's `whoami`; the same sessions
/// run against both servers in `Foreign/ApacheFidelityTests`).
struct ConnectionIdentitiesTests {
    func digest(_ credentials: String) -> Id {
        Id(scheme: "digest", id: AccessControl.digest(credentials: Array(credentials.utf8)))
    }

    @Test func javaHashes() {
        #expect(JavaHashOrder.hash(of: "hello") == 99_162_322)
        #expect(JavaHashOrder.hash(of: "") == 0)
        // Wraps as Java's int arithmetic does.
        #expect(JavaHashOrder.hash(of: "polygenelubricants") == Int32.min)
    }

    @Test func listsIdentitiesInApachesOrder() {
        var identities = ConnectionIdentities(Id(scheme: "ip", id: "127.0.0.1"))
        #expect(identities.ids == [Id(scheme: "ip", id: "127.0.0.1")])
        identities.insert(digest("alice:secret"))
        // Apache 3.8: "digest: alice" before "ip: 127.0.0.1".
        #expect(identities.ids.map(\.scheme) == ["digest", "ip"])

        var two = ConnectionIdentities(Id(scheme: "ip", id: "127.0.0.1"))
        two.insert(digest("bob:x"))
        two.insert(digest("zed:y"))
        // Apache 3.8: zed, bob, ip.
        #expect(two.ids == [digest("zed:y"), digest("bob:x"), Id(scheme: "ip", id: "127.0.0.1")])
        two.insert(digest("bob:x"))
        #expect(two.ids.count == 3, "a set: the same id twice is one")
    }

    /// TLS client certificates (checked against Apache over TLS in TLSApacheComparisonTests).
    @Test func x509IdentitiesToo() {
        let ip = Id(scheme: "ip", id: "127.0.0.1")
        let client = Id(scheme: "x509", id: "CN=client,OU=apps,O=ZooKeeper Tests")
        let other = Id(scheme: "x509", id: "CN=other,OU=apps,O=ZooKeeper Tests")
        let superUser = Id(scheme: "super", id: "CN=other,OU=apps,O=ZooKeeper Tests")
        var first = ConnectionIdentities(ip)
        first.insert(client)
        #expect(first.ids == [client, ip])
        var second = ConnectionIdentities(ip)
        second.insert(superUser)
        second.insert(other)
        #expect(second.ids == [ip, superUser, other])
    }
}
