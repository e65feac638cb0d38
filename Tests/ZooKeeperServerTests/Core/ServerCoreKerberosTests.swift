import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// The core's side of a Kerberos login: it never calls the GSS-API library (the keytab here does not exist), it
/// hands each token out as `acceptKerberosToken` and turns the acceptor's answer into the reply, the identity or
/// the closed connection.
@Suite struct ServerCoreKerberosTests {
    static func harness() -> CoreHarness {
        CoreHarness { configuration in
            configuration.sasl.digestUsers = [:]
            configuration.sasl.providerEnabled = true
            configuration.sasl.kerberos = KerberosServerLogin(
                principal: "zookeeper/localhost@EXAMPLE.COM", keytab: "/nonexistent/zk.keytab")
            configuration.sasl.defaultRealm = "EXAMPLE.COM"
            configuration.sasl.authToLocal = try! KerberosNameRules("RULE:[1:$1](alice)s/alice/carol/ DEFAULT")
        }
    }

    @Test func eachTokenGoesToTheAcceptorAndItsAnswersBecomeRepliesAndTheMappedIdentity() {
        let harness = Self.harness()
        let client = harness.client()
        #expect(
            harness.send(client, .sasl(token: [1, 2, 3]), xid: 7) == [
                .acceptKerberosToken(client, xid: 7, token: [1, 2, 3])
            ])
        #expect(
            harness.core.kerberosStepFinished(.challenge([9]), xid: 7, connection: client) == [
                .reply(client, ReplyHeader(xid: 7, zxid: 0), .token([9]))
            ])
        #expect(harness.send(client, .sasl(token: []), xid: 8) == [.acceptKerberosToken(client, xid: 8, token: [])])
        #expect(
            harness.core.kerberosStepFinished(.completed(principal: "alice@EXAMPLE.COM"), xid: 8, connection: client)
                == [.reply(client, ReplyHeader(xid: 8, zxid: 0), .token(nil))])
        let (_, who) = harness.call(client, .whoAmI)
        guard case .clientInfo(let identities) = who else {
            Issue.record("whoami answered \(who)")
            return
        }
        #expect(identities.contains(ClientInfo(authScheme: "sasl", user: "carol@EXAMPLE.COM")))
    }

    @Test func aFailedStepClosesTheConnectionWithItsReason() {
        let harness = Self.harness()
        let client = harness.client()
        harness.send(client, .sasl(token: [1]), xid: 3)
        #expect(
            harness.core.kerberosStepFinished(.failed("Kerberos: no"), xid: 3, connection: client) == [
                .reply(client, ReplyHeader(xid: 3, zxid: 0, error: .authFailed), .token(nil)), .close(client),
            ])
        #expect(harness.core.takeSASLFailures() == ["Kerberos: no"])
        #expect(harness.send(client, .whoAmI).isEmpty)
    }

    @Test func anAnswerForAConnectionThatHasGoneIsDropped() {
        let harness = Self.harness()
        let client = harness.client()
        harness.send(client, .sasl(token: [1]), xid: 3)
        harness.core.connectionClosed(client)
        #expect(harness.core.kerberosStepFinished(.challenge([9]), xid: 3, connection: client).isEmpty)
    }
}
