import Foundation
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// SASL DIGEST-MD5 against Apache ZooKeeper 3.8 with a JAAS `Server` section (user bob, password secret).
@Suite(.serialized) struct SASLInteropTests {
    static func connect(
        _ address: String, _ credentials: SASLCredentials?, timeout: Duration = .seconds(30)
    ) async throws(ZooKeeperError) -> ZooKeeperClient {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(10)
        configuration.sasl = credentials
        return try await ZooKeeperClient.connect(address, configuration: configuration, timeout: timeout)
    }

    @Test func digestLoginGivesTheSessionASASLIdentityThatACLsGrantRightsTo() async throws {
        let setup = try ApacheSASLDigestSetup(users: ["bob": "secret"])
        let server = try ApacheZooKeeperStandalone(
            extraConfig: setup.extraConfig, systemProperties: setup.systemProperties)
        let bob = try await Self.connect(server.address, .digestMD5(username: "bob", password: "secret"))
        #expect(bob.state == .connected)
        #expect(
            Set(try await bob.whoAmI()) == [
                ClientInfo(authScheme: "ip", user: "127.0.0.1"), ClientInfo(authScheme: "sasl", user: "bob"),
            ])
        let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))]
        try await bob.create("/bobs", data: Array("mine".utf8), acl: acl)
        #expect(try await bob.getData("/bobs").data == Array("mine".utf8))
        #expect(try await bob.getACL("/bobs").acl == acl)

        let anonymous = try await Self.connect(server.address, nil)
        await expectError(.noAuth) { try await anonymous.getData("/bobs") }
        #expect(try await anonymous.whoAmI() == [ClientInfo(authScheme: "ip", user: "127.0.0.1")])
        await anonymous.close()
        await bob.close()
    }

    @Test func aWrongPasswordFailsWithAuthFailedAndAReason() async throws {
        let setup = try ApacheSASLDigestSetup(users: ["bob": "secret"])
        let server = try ApacheZooKeeperStandalone(
            extraConfig: setup.extraConfig, systemProperties: setup.systemProperties)
        do {
            let client = try await Self.connect(server.address, .digestMD5(username: "bob", password: "wrong"))
            Issue.record("a wrong password connected: \(client.state)")
            await client.close()
        } catch {
            #expect(error.code == .authFailed)
            #expect(
                error.description
                    == "SASL DIGEST-MD5 authentication as bob failed: the server answered AuthFailed (wrong username or password?)"
            )
        }
        // An unknown user is refused the same way.
        await expectError(.authFailed) {
            try await Self.connect(server.address, .digestMD5(username: "mallory", password: "guess"))
        }
    }

    @Test func theSessionAuthenticatesAgainAfterAFailover() async throws {
        let setup = try ApacheSASLDigestSetup(users: ["bob": "secret"])
        let ensemble = try ApacheZooKeeperEnsemble(
            extraConfig: setup.extraConfig, systemProperties: setup.systemProperties)
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(20)
        configuration.sasl = .digestMD5(username: "bob", password: "secret")
        let bob = try await ZooKeeperClient.connect(
            ensemble.connectString(), configuration: configuration, timeout: .seconds(60))
        let states = EventRecorder(bob.connectionEvents)
        _ = await states.next()
        _ = await states.next()
        let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))]
        try await bob.create("/failover", data: Array("x".utf8), acl: acl)
        let first = try #require(bob.currentServer)
        try #require(ensemble.server(port: first.port)).stop(signal: SIGKILL)
        #expect(await states.next(within: .seconds(30)) == .disconnected)
        #expect(await states.next(within: .seconds(60)) == .reconnected)
        #expect(bob.currentServer != first)
        // The new member knows the session as bob again: the ACL lets it read.
        #expect(try await bob.getData("/failover").data == Array("x".utf8))
        #expect(try await bob.whoAmI().contains(ClientInfo(authScheme: "sasl", user: "bob")))
        await bob.close()
    }
}
