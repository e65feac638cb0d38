import Foundation
import NIOCore
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// zkserver's SASL DIGEST-MD5 logins, against the same steps on Apache ZooKeeper 3.8 where it is a question of
/// fidelity, and with Apache's zkCli.sh and kazoo as clients. Users: bob/secret and alice/wonder.
@Suite(.serialized) struct SASLServerTests {
    /// One server of `kind` with the JAAS Server section of `setup`, the SASL provider and `extraConfig`.
    final class SASLServer: @unchecked Sendable {
        let address: String
        let port: Int
        private let apache: ApacheZooKeeperStandalone?
        private let zkserver: ZooKeeperServer?

        init(_ kind: TestServerKind, _ setup: ApacheSASLDigestSetup, extraConfig: [String] = []) async throws {
            switch kind {
            case .apache:
                let server = try ApacheZooKeeperStandalone(
                    extraConfig: setup.extraConfig + extraConfig, systemProperties: setup.systemProperties)
                apache = server
                zkserver = nil
                address = server.address
                port = server.port
            case .zkserver:
                // The same zoo.cfg lines and JAAS file, read as zkserver reads them (no AdminServer on 8080).
                var configuration = try ZooCfg.parse(
                    (setup.extraConfig + extraConfig + ["admin.enableServer=false"]).joined(separator: "\n"),
                    base: ZooKeeperServerForTests.configuration()
                ).configuration
                try configuration.sasl.loadJAAS(file: setup.jaasFile)
                try configuration.sasl.validate()
                let server = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
                apache = nil
                zkserver = server
                address = server.connectString
                port = server.port
            }
        }

        func stop() async {
            apache?.stop(signal: SIGKILL)
            await zkserver?.shutdown()
        }
    }

    static let users = ["bob": "secret", "alice": "wonder"]

    static func connect(_ address: String, _ credentials: SASLCredentials?) async throws(ZooKeeperError)
        -> ZooKeeperClient
    {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(10)
        configuration.sasl = credentials
        return try await ZooKeeperClient.connect(address, configuration: configuration, timeout: .seconds(30))
    }

    @Test(arguments: TestServerKind.allCases)
    func ourClientLogsInAndSASLACLsAreEnforced(_ kind: TestServerKind) async throws {
        let setup = try ApacheSASLDigestSetup(users: Self.users)
        let server = try await SASLServer(kind, setup)
        let bob = try await Self.connect(server.address, .digestMD5(username: "bob", password: "secret"))
        // Apache's order: its set of ids hashes sasl:bob into an earlier bucket than ip:127.0.0.1.
        #expect(
            try await bob.whoAmI() == [
                ClientInfo(authScheme: "sasl", user: "bob"), ClientInfo(authScheme: "ip", user: "127.0.0.1"),
            ])
        let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))]
        try await bob.create("/bobs", data: Array("mine".utf8), acl: acl)
        #expect(try await bob.getData("/bobs").data == Array("mine".utf8))
        #expect(try await bob.getACL("/bobs").acl == acl)

        let alice = try await Self.connect(server.address, .digestMD5(username: "alice", password: "wonder"))
        await expectCode(.noAuth) { try await alice.getData("/bobs") }
        let anonymous = try await Self.connect(server.address, nil)
        await expectCode(.noAuth) { try await anonymous.getData("/bobs") }
        #expect(try await anonymous.whoAmI() == [ClientInfo(authScheme: "ip", user: "127.0.0.1")])

        // A wrong password, and an unknown user with a password of its own, are refused the same way. (Apache 3.8
        // would let an unknown user in with the password of the user it looked up last: not tried here.)
        await expectCode(.authFailed) {
            try await Self.connect(server.address, .digestMD5(username: "bob", password: "wrong"))
        }
        await expectCode(.authFailed) {
            try await Self.connect(server.address, .digestMD5(username: "mallory", password: "guess"))
        }
        // The failed logins cost only their own connections.
        #expect(try await bob.getData("/bobs").data == Array("mine".utf8))
        for client in [bob, alice, anonymous] { await client.close() }
        await server.stop()
    }

    /// The raw frames: a session without a login asks for a node; what comes back, and whether the connection
    /// stays open.
    static func unauthenticatedRequest(port: Int, authDigest: Bool) throws -> (ReplyHeader, closed: Bool) {
        let connection = try #require(RawConnection(port: port, timeout: 10))
        _ = try #require(connection.handshake())
        if authDigest {
            let (header, _) = try #require(
                connection.call(.auth(AuthPacket(scheme: "digest", auth: Array("u:p".utf8))), xid: SpecialXid.auth))
            #expect(header.error == .ok)
        }
        let (header, _) = try #require(connection.call(.exists(PathWatchRequest(path: "/", watch: false)), xid: 5))
        guard header.error == .ok else { return (header, connection.isClosedByServer()) }
        // Still open: the next request is answered.
        let (next, _) = try #require(connection.call(.whoAmI, xid: 6))
        #expect(next.error == .ok)
        return (header, false)
    }

    @Test(arguments: TestServerKind.allCases)
    func requiredSASLRefusesSessionsWithoutALoginAsApacheDoes(_ kind: TestServerKind) async throws {
        let setup = try ApacheSASLDigestSetup(users: Self.users)
        let server = try await SASLServer(kind, setup, extraConfig: ["sessionRequireClientSASLAuth=true"])
        let (refused, closed) = try Self.unauthenticatedRequest(port: server.port, authDigest: true)
        #expect(refused == ReplyHeader(xid: 5, zxid: 0, error: .sessionClosedRequireSaslAuth))
        #expect(closed)
        // A SASL login lets the session in; a failed one says SASL is required.
        let bob = try await Self.connect(server.address, .digestMD5(username: "bob", password: "secret"))
        #expect(try await bob.exists("/") != nil)
        await bob.close()
        do {
            let client = try await Self.connect(server.address, .digestMD5(username: "bob", password: "wrong"))
            Issue.record("a wrong password connected")
            await client.close()
        } catch {
            #expect(error.code == .sessionClosedRequireSaslAuth || error.code == .authFailed, "\(error)")
        }
        await server.stop()
    }

    @Test(arguments: TestServerKind.allCases)
    func enforcedSchemesAcceptAnyOfThemAsApacheDoes(_ kind: TestServerKind) async throws {
        let setup = try ApacheSASLDigestSetup(users: Self.users)
        let server = try await SASLServer(
            kind, setup, extraConfig: ["enforce.auth.enabled=true", "enforce.auth.schemes=sasl,digest"])
        let (withDigest, digestClosed) = try Self.unauthenticatedRequest(port: server.port, authDigest: true)
        #expect(withDigest.error == .ok)
        #expect(!digestClosed)
        let (without, closed) = try Self.unauthenticatedRequest(port: server.port, authDigest: false)
        #expect(without == ReplyHeader(xid: 5, zxid: 0, error: .sessionClosedRequireSaslAuth))
        #expect(closed)
        await server.stop()
    }

    @Test(arguments: TestServerKind.allCases)
    func aSASLSuperUserPassesEveryCheck(_ kind: TestServerKind) async throws {
        let setup = try ApacheSASLDigestSetup(users: Self.users)
        // zoo.cfg's superUser is Apache's zookeeper.superUser system property (QuorumPeerConfig sets it).
        let server = try await SASLServer(kind, setup, extraConfig: ["superUser=alice"])
        let bob = try await Self.connect(server.address, .digestMD5(username: "bob", password: "secret"))
        try await bob.create("/only-bob", acl: [ACL(permissions: .all, id: Id(scheme: "sasl", id: "bob"))])
        let alice = try await Self.connect(server.address, .digestMD5(username: "alice", password: "wonder"))
        _ = try await alice.getData("/only-bob")
        #expect(try await alice.whoAmI().contains(ClientInfo(authScheme: "super", user: "")))
        await alice.close()
        await bob.close()
        await server.stop()
    }

    @Test(.timeLimit(.minutes(3))) func apacheZkCliLogsIntoZKServerWithAJAASClientSection() async throws {
        let zkCliPath = ApacheZooKeeperInstallation.zkCli
        guard FileManager.default.isExecutableFile(atPath: zkCliPath) else {
            throw HarnessError("\(zkCliPath) is missing; install it with: apt-get install zookeeper zookeeper-bin")
        }
        let setup = try ApacheSASLDigestSetup(users: Self.users)
        let server = try await SASLServer(.zkserver, setup)
        let directory = try TestEnvironment.temporaryDirectory("zkcli-jaas")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clientJAAS = directory + "/client.conf"
        try """
        Client {
            org.apache.zookeeper.server.auth.DigestLoginModule required
            username="bob"
            password="secret";
        };
        """.write(toFile: clientJAAS, atomically: true, encoding: .utf8)
        func zkCli(_ arguments: String..., jaas: Bool = true) throws -> ToolResult {
            var environment = ["ZOO_LOG_DIR": directory]
            if jaas { environment["CLIENT_JVMFLAGS"] = "-Djava.security.auth.login.config=\(clientJAAS)" }
            return try runTool(
                zkCliPath, ["-server", server.address] + arguments, environment: environment, timeout: 60)
        }
        var result = try zkCli("whoami")
        #expect(result.lines.contains("sasl: bob"), "\(result.output)")
        result = try zkCli("create", "/x", "hello")
        #expect(result.output.contains("Created /x"), "\(result.output)")
        result = try zkCli("setAcl", "/x", "sasl:bob:cdrwa")
        #expect(result.status == 0, "\(result.output)")
        result = try zkCli("get", "/x")
        #expect(result.lines.contains("hello"), "\(result.output)")
        result = try zkCli("getAcl", "/x")
        #expect(result.lines.contains("'sasl,'bob"), "\(result.output)")
        result = try zkCli("get", "/x", jaas: false)
        #expect(result.output.contains("Insufficient permission : /x"), "\(result.output)")
        await server.stop()
    }

    @Test(.timeLimit(.minutes(2))) func kazooLogsIntoZKServerWithSASLOptions() async throws {
        try requireTool(
            check: ["/usr/bin/env", "python3", "-c", "import kazoo, puresasl"],
            install: "pip install kazoo pure-sasl")
        let setup = try ApacheSASLDigestSetup(users: Self.users)
        let server = try await SASLServer(.zkserver, setup)
        let directory = try TestEnvironment.temporaryDirectory("kazoo-sasl")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = directory + "/kazoo_sasl.py"
        try """
        import sys
        from kazoo.client import KazooClient
        from kazoo.security import make_acl
        from kazoo.exceptions import NoAuthError
        hosts = sys.argv[1]
        bob = KazooClient(hosts=hosts, sasl_options={'mechanism': 'DIGEST-MD5', 'username': 'bob', 'password': 'secret'})
        bob.start(timeout=20)
        bob.create('/k', b'kazoo', acl=[make_acl('sasl', 'bob', all=True)])
        print('READ', bob.get('/k')[0].decode())
        print('ACL', bob.get_acls('/k')[0][0].id.scheme, bob.get_acls('/k')[0][0].id.id)
        other = KazooClient(hosts=hosts)
        other.start(timeout=20)
        try:
            other.get('/k')
            print('OTHER READ')
        except NoAuthError:
            print('OTHER NOAUTH')
        other.stop()
        bob.stop()
        print('DONE')
        """.write(toFile: script, atomically: true, encoding: .utf8)
        let result = try runTool("/usr/bin/env", ["python3", script, server.address], timeout: 90)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.lines.contains("READ kazoo"), "\(result.output)")
        #expect(result.lines.contains("ACL sasl bob"), "\(result.output)")
        #expect(result.lines.contains("OTHER NOAUTH"), "\(result.output)")
        #expect(result.lines.contains("DONE"), "\(result.output)")
        await server.stop()
    }

    @Test func garbageSASLTokensCloseOnlyTheirConnection() async throws {
        let setup = try ApacheSASLDigestSetup(users: Self.users)
        let server = try await SASLServer(.zkserver, setup)
        let healthy = try #require(RawConnection(port: server.port, timeout: 10))
        _ = try #require(healthy.handshake())
        let garbage: [[UInt8]?] = [
            Array("not=\"a response".utf8), [0x00, 0xFF, 0x13, 0x37], Array(repeating: 0x41, count: 8000),
        ]
        for token in garbage {
            let connection = try #require(RawConnection(port: server.port, timeout: 10))
            _ = try #require(connection.handshake())
            let (challenge, _) = try #require(connection.call(.sasl(token: []), xid: 1))
            #expect(challenge.error == .ok)
            let (refused, _) = try #require(connection.call(.sasl(token: token), xid: 2))
            #expect(refused.error == .authFailed)
            #expect(connection.isClosedByServer())
        }
        // A token before the challenge (DIGEST-MD5 has no initial response).
        let early = try #require(RawConnection(port: server.port, timeout: 10))
        _ = try #require(early.handshake())
        let (earlyReply, _) = try #require(early.call(.sasl(token: Array("username=\"bob\"".utf8)), xid: 1))
        #expect(earlyReply.error == .authFailed)
        #expect(early.isClosedByServer())
        // The healthy connection never noticed.
        let (who, _) = try #require(healthy.call(.whoAmI, xid: 9))
        #expect(who.error == .ok)
        await server.stop()
    }
}

/// `body` fails with a ZooKeeperError of `code`.
func expectCode<T>(
    _ code: ZooKeeperError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
    } catch let error as ZooKeeperError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}
