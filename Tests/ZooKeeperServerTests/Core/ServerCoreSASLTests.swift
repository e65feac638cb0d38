import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// The core's SASL DIGEST-MD5 logins, the `sasl` ACL scheme and the enforcement of authentication.
@Suite struct ServerCoreSASLTests {
    static func harness(_ configure: (inout SASLSettings) -> Void = { _ in }) -> CoreHarness {
        CoreHarness { configuration in
            configuration.sasl.digestUsers = ["bob": "secret", "alice": "wonder"]
            configuration.sasl.providerEnabled = true
            configure(&configuration.sasl)
        }
    }

    /// Runs a whole DIGEST-MD5 login with the client state machine; returns the last reply's header.
    @discardableResult
    static func login(_ harness: CoreHarness, _ connection: ConnectionID, user: String, password: String)
        -> ReplyHeader
    {
        var client = DigestMD5Client(
            username: user, password: password, authorizationID: user, cnonce: "0123456789abcdef")
        var token = client.initialResponse
        while true {
            let (header, body) = harness.call(connection, .sasl(token: token))
            guard header.error == .ok, case .token(let challenge?) = body else { return header }
            switch client.challengeReceived(challenge) {
            case .respond(let next): token = next
            case .completed: return header
            case .failed(let reason):
                Issue.record("the client refused the server's message: \(reason)")
                return header
            }
        }
    }

    static func closes(_ outputs: [CoreOutput], _ connection: ConnectionID) -> Bool {
        outputs.contains(.close(connection))
    }

    @Test func theChallengeIsApachesDigestChallenge() throws {
        let harness = Self.harness()
        let client = harness.client()
        let (header, body) = harness.call(client, .sasl(token: []))
        #expect(header.error == .ok && header.zxid == 0)
        guard case .token(let token?) = body else { throw Failure("no challenge") }
        let challenge = try DigestDirectives(parsing: token)
        #expect(challenge.first("realm") == "zk-sasl-md5")
        #expect(challenge.first("qop") == "auth")
        #expect(challenge.first("charset") == "utf-8")
        #expect(challenge.first("algorithm") == "md5-sess")
        #expect((challenge.first("nonce")?.count ?? 0) >= 16)
    }

    @Test func aLoginGivesTheSASLIdentityListedInApachesOrder() {
        let harness = Self.harness()
        let client = harness.client()
        #expect(Self.login(harness, client, user: "bob", password: "secret").error == .ok)
        let (_, who) = harness.call(client, .whoAmI)
        // sasl:bob falls in an earlier bucket of Java's hash set than ip:127.0.0.1, so Apache lists it first.
        #expect(
            who
                == .clientInfo([
                    ClientInfo(authScheme: "sasl", user: "bob"), ClientInfo(authScheme: "ip", user: "127.0.0.1"),
                ]))
    }

    @Test func saslACLsGrantRightsToTheirUserOnly() {
        let harness = Self.harness()
        let bob = harness.client()
        let alice = harness.client()
        let anonymous = harness.client()
        Self.login(harness, bob, user: "bob", password: "secret")
        Self.login(harness, alice, user: "alice", password: "wonder")
        let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))]
        #expect(harness.error(bob, .create(CreateRequest(path: "/b", data: [1], acl: acl, flags: 0))) == .ok)
        #expect(harness.error(bob, .getData(PathWatchRequest(path: "/b", watch: false))) == .ok)
        #expect(harness.error(alice, .getData(PathWatchRequest(path: "/b", watch: false))) == .noAuth)
        #expect(harness.error(anonymous, .getData(PathWatchRequest(path: "/b", watch: false))) == .noAuth)
        // `auth` expands to the session's sasl identity.
        let auth = [ACL(permissions: .all, id: Id(scheme: "auth", id: ""))]
        #expect(harness.error(alice, .create(CreateRequest(path: "/a", data: [], acl: auth, flags: 0))) == .ok)
        guard case .acl(let expanded, _) = harness.call(alice, .getACL(PathRequest(path: "/a"))).body else {
            Issue.record("no ACL")
            return
        }
        #expect(expanded == [ACL(permissions: .all, id: Id(scheme: "sasl", id: "alice"))])
    }

    @Test func saslIdsNeedTheProvider() {
        let harness = CoreHarness { $0.sasl.digestUsers = ["bob": "secret"] }
        let client = harness.client()
        let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))]
        #expect(harness.error(client, .create(CreateRequest(path: "/b", data: [], acl: acl, flags: 0))) == .invalidACL)
    }

    @Test func theSuperUserPassesEveryCheck() {
        let harness = Self.harness { $0.superUser = "alice" }
        let bob = harness.client()
        let alice = harness.client()
        Self.login(harness, bob, user: "bob", password: "secret")
        Self.login(harness, alice, user: "alice", password: "wonder")
        let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))]
        #expect(harness.error(bob, .create(CreateRequest(path: "/b", data: [], acl: acl, flags: 0))) == .ok)
        #expect(harness.error(alice, .getData(PathWatchRequest(path: "/b", watch: false))) == .ok)
        let (_, who) = harness.call(alice, .whoAmI)
        guard case .clientInfo(let infos) = who else { return }
        #expect(infos.contains(ClientInfo(authScheme: "super", user: "")))
    }

    @Test(arguments: [("bob", "wrong"), ("mallory", "secret"), ("mallory", "")])
    func aFailedLoginCostsTheConnection(user: String, password: String) {
        let harness = Self.harness()
        // Someone logs in first: Apache 3.8 would then check an unknown user against this user's password.
        let bob = harness.client()
        Self.login(harness, bob, user: "bob", password: "secret")
        let client = harness.client()
        let header = Self.login(harness, client, user: user, password: password)
        #expect(header.error == .authFailed)
        #expect(harness.core.takeSASLFailures().count == 1)
        // The connection is closing: nothing more is answered; the other connection goes on.
        #expect(harness.send(client, .whoAmI).isEmpty)
        #expect(harness.error(bob, .whoAmI) == .ok)
    }

    @Test(arguments: [
        Array("not a digest response".utf8), Array("username=\"bob\",nonce=\"x\"".utf8), [0xFF, 0xFE, 0x00],
        Array(repeating: 0x61, count: 5000),
    ])
    func garbageAfterTheChallengeFailsTheLogin(token: [UInt8]) {
        let harness = Self.harness()
        let client = harness.client()
        _ = harness.call(client, .sasl(token: []))
        let outputs = harness.send(client, .sasl(token: token))
        guard case .reply(_, let header, let body) = outputs.first else {
            Issue.record("no reply: \(outputs)")
            return
        }
        #expect(header.error == .authFailed)
        #expect(body == .token(nil))
        #expect(Self.closes(outputs, client))
    }

    @Test func anInitialResponseOrATokenAfterTheLoginFails() {
        let harness = Self.harness()
        let early = harness.client()
        #expect(Self.closes(harness.send(early, .sasl(token: Array("username=\"bob\"".utf8))), early))
        let late = harness.client()
        Self.login(harness, late, user: "bob", password: "secret")
        let outputs = harness.send(late, .sasl(token: []))
        #expect(Self.closes(outputs, late))
    }

    @Test func withoutAJAASLoginASASLRequestGetsNoToken() {
        let harness = CoreHarness()
        let client = harness.client()
        let (header, body) = harness.call(client, .sasl(token: []))
        #expect(header.error == .ok)
        #expect(body == .token(nil))
    }

    @Test func requiredSASLRefusesOtherRequestsUntilTheLogin() {
        let harness = Self.harness { $0.sessionRequireClientSASLAuth = true }
        let anonymous = harness.client()
        let outputs = harness.send(anonymous, .getData(PathWatchRequest(path: "/", watch: false)), xid: 7)
        #expect(
            outputs == [
                .reply(anonymous, ReplyHeader(xid: 7, zxid: 0, error: .sessionClosedRequireSaslAuth), .empty),
                .close(anonymous),
            ])
        let bob = harness.client()
        // Digest auth does not satisfy a SASL requirement.
        _ = harness.call(bob, .auth(AuthPacket(scheme: "digest", auth: Array("bob:x".utf8))))
        #expect(harness.error(bob, .ping) == .sessionClosedRequireSaslAuth)
        let carol = harness.client()
        Self.login(harness, carol, user: "bob", password: "secret")
        #expect(harness.error(carol, .getData(PathWatchRequest(path: "/", watch: false))) == .ok)
        // A failed login, when SASL is required, says so.
        let mallory = harness.client()
        #expect(Self.login(harness, mallory, user: "bob", password: "wrong").error == .sessionClosedRequireSaslAuth)
    }

    @Test func enforcedSchemesAcceptAnyOfThem() {
        let harness = Self.harness {
            $0.enforceAuthEnabled = true
            $0.enforceAuthSchemes = ["sasl", "digest"]
        }
        let digest = harness.client()
        _ = harness.call(digest, .auth(AuthPacket(scheme: "digest", auth: Array("u:p".utf8))))
        #expect(harness.error(digest, .exists(PathWatchRequest(path: "/", watch: false))) == .ok)
        let none = harness.client()
        #expect(
            harness.error(none, .exists(PathWatchRequest(path: "/", watch: false))) == .sessionClosedRequireSaslAuth)
    }

    @Test func theSettingsAreCheckedAsApacheChecksThem() {
        var settings = SASLSettings()
        settings.enforceAuthEnabled = true
        #expect(throws: ZooCfg.Failure.self) { try settings.validate() }
        settings.enforceAuthSchemes = ["sasl"]
        #expect(throws: ZooCfg.Failure.self) { try settings.validate() }
        settings.providerEnabled = true
        #expect(throws: Never.self) { try settings.validate() }
        var required = SASLSettings()
        required.sessionRequireClientSASLAuth = true
        #expect(throws: ZooCfg.Failure.self) { try required.validate() }
    }

    @Test func theJAASServerSectionGivesTheUsers() throws {
        var settings = SASLSettings()
        try settings.loadJAAS(
            JAASConfiguration(
                parsing: """
                    Server {
                        org.apache.zookeeper.server.auth.DigestLoginModule required
                        user_bob="secret" user_super="admin";
                    };
                    """, source: "jaas.conf"))
        #expect(settings.digestUsers == ["bob": "secret", "super": "admin"])
        let kerberos = try JAASConfiguration(
            parsing: """
                Server {
                    com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/k" principal="zookeeper/h@R";
                };
                """, source: "jaas.conf")
        try settings.loadJAAS(kerberos)
        #expect(settings.kerberos == KerberosServerLogin(principal: "zookeeper/h@R", keytab: "/k"))
        let noPrincipal = try JAASConfiguration(
            parsing: """
                Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/k"; };
                """, source: "jaas.conf")
        #expect(
            throws: ZooCfg.Failure(
                "jaas.conf: section 'Server': Krb5LoginModule needs principal (e.g. zookeeper/host@REALM)")
        ) {
            try settings.loadJAAS(noPrincipal)
        }
        let client = try JAASConfiguration(
            parsing:
                "Client { org.apache.zookeeper.server.auth.DigestLoginModule required username=\"a\" password=\"b\"; };",
            source: "c.conf")
        #expect(throws: ZooCfg.Failure("c.conf: no JAAS section named 'Server'")) { try settings.loadJAAS(client) }
    }

    /// With the default rules, which map principals of krb5.conf's default realm (others keep their whole name,
    /// see KerberosNameRulesTests).
    @Test func aKerberosPrincipalBecomesTheSASLIdentityAsApacheMapsIt() {
        var settings = SASLSettings()
        settings.defaultRealm = "EX.COM"
        #expect(settings.saslIdentity(ofPrincipal: "zkcli/host.example@EX.COM") == "zkcli/host.example@EX.COM")
        settings.removeHostFromPrincipal = true
        #expect(settings.saslIdentity(ofPrincipal: "zkcli/host.example@EX.COM") == "zkcli@EX.COM")
        settings.removeRealmFromPrincipal = true
        #expect(settings.saslIdentity(ofPrincipal: "zkcli/host.example@EX.COM") == "zkcli")
        #expect(settings.saslIdentity(ofPrincipal: "alice@EX.COM") == "alice")
        settings.removeHostFromPrincipal = false
        #expect(settings.saslIdentity(ofPrincipal: "zkcli/host.example@EX.COM") == "zkcli/host.example")
    }

    @Test func theZooCfgKeys() throws {
        let result = try ZooCfg.parse(
            """
            authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
            sessionRequireClientSASLAuth=true
            enforce.auth.enabled=true
            enforce.auth.schemes=sasl, digest
            superUser=admin
            kerberos.removeHostFromPrincipal=true
            kerberos.removeRealmFromPrincipal=true
            """)
        let sasl = result.configuration.sasl
        #expect(result.warnings.isEmpty)
        #expect(sasl.providerEnabled && sasl.sessionRequireClientSASLAuth && sasl.enforceAuthEnabled)
        #expect(sasl.enforceAuthSchemes == ["sasl", "digest"])
        #expect(sasl.superUser == "admin")
        #expect(sasl.removeHostFromPrincipal && sasl.removeRealmFromPrincipal)
        #expect(sasl.enforcedSchemes == ["sasl"])
    }
}

private struct Failure: Error {
    let text: String
    init(_ text: String) { self.text = text }
}
