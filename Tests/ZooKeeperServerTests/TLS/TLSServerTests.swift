import Foundation
import NIOCore
import Testing
import ZooKeeper
import ZooKeeperServer
import ZooKeeperTLS
import ZooKeeperTestSupport

/// zkserver's TLS ports against real TLS clients: kazoo, Apache's zkCli.sh and `openssl s_client`.
@Suite(.serialized) struct TLSServerTests {
    /// Creates a node only `client`'s certificate may use, then reads it as `client` (allowed) and as `other`
    /// (NoAuth), with kazoo.
    @Test(.timeLimit(.minutes(2))) func kazooOverTLSWithX509ACLs() async throws {
        let fixture = try TLSFixture.make()
        try await withTLSServer(fixture.serverConfiguration()) { server in
            let port = try #require(server.securePort)
            let create = try fixture.kazoo(
                kazooCreate, port: port, identity: "client", extra: [TLSFixture.clientSubject])
            #expect(create.exitCode == 0, "\(create.output)\(create.error)")
            #expect(create.output.contains("CREATED /kz-x509"), "\(create.output)")
            let read = try fixture.kazoo(kazooRead, port: port, identity: "client")
            #expect(read.output.contains("READ secret"), "\(read.output)\(read.error)")
            let denied = try fixture.kazoo(kazooRead, port: port, identity: "other")
            #expect(denied.output.contains("NOAUTH"), "\(denied.output)\(denied.error)")
        }
    }

    /// Apache's zkCli.sh over TLS with the Netty client socket: its identity, and the ACL it is given.
    @Test(.timeLimit(.minutes(3))) func zkCliOverTLSSeesItsX509Identity() async throws {
        let fixture = try TLSFixture.make()
        try await withTLSServer(fixture.serverConfiguration()) { server in
            let port = try #require(server.securePort)
            let whoami = try fixture.zkCli(port: port, identity: "client", ["whoami"])
            #expect(
                TLSFixture.identities(in: whoami.output) == ["x509: \(TLSFixture.clientSubject)", "ip: 127.0.0.1"],
                "\(whoami.output)\(whoami.error)")
            // zkCli's ACL syntax splits on commas, so the node is made with kazoo, then read with zkCli.
            let create = try fixture.kazoo(
                kazooCreate, port: port, identity: "client", extra: [TLSFixture.clientSubject])
            #expect(create.exitCode == 0, "\(create.output)\(create.error)")
            let allowed = try fixture.zkCli(port: port, identity: "client", ["get", "/kz-x509"])
            #expect(allowed.output.split(separator: "\n").contains("secret"), "\(allowed.output)\(allowed.error)")
            let denied = try fixture.zkCli(port: port, identity: "other", ["get", "/kz-x509"])
            // zkCli.sh prints the error on stderr.
            #expect(denied.error.contains("Insufficient permission : /kz-x509"), "\(denied.output)\(denied.error)")
            #expect(!denied.output.contains("secret"))
        }
    }

    @Test(.timeLimit(.minutes(2))) func theX509SuperUserPassesEveryACL() async throws {
        let fixture = try TLSFixture.make()
        var configuration = fixture.serverConfiguration()
        configuration.x509SuperUser = TLSFixture.otherSubject
        try await withTLSServer(configuration) { server in
            let port = try #require(server.securePort)
            let create = try fixture.kazoo(
                kazooCreate, port: port, identity: "client", extra: [TLSFixture.clientSubject])
            #expect(create.exitCode == 0, "\(create.output)\(create.error)")
            let read = try fixture.kazoo(kazooRead, port: port, identity: "other")
            #expect(read.output.contains("READ secret"), "\(read.output)\(read.error)")
            let whoami = try fixture.zkCli(port: port, identity: "other", ["whoami"])
            #expect(
                TLSFixture.identities(in: whoami.output) == [
                    "ip: 127.0.0.1", "super: ", "x509: \(TLSFixture.otherSubject)",
                ], "\(whoami.output)")
        }
    }

    @Test(.timeLimit(.minutes(1))) func fourLetterWordsOverTLS() async throws {
        let fixture = try TLSFixture.make()
        try await withTLSServer(fixture.serverConfiguration()) { server in
            let port = try #require(server.securePort)
            let ruok = try fixture.openSSLWord("ruok", port: port)
            #expect(ruok.output == "imok", "\(ruok.output)\(ruok.error)")
            let srvr = try fixture.openSSLWord("srvr", port: port)
            #expect(srvr.output.contains("\nMode: standalone\n"), "\(srvr.output)\(srvr.error)")
            let conf = try fixture.openSSLWord("conf", port: port)
            #expect(conf.output.hasPrefix("clientPort=-1\nsecureClientPort=\(port)\n"), "\(conf.output)")
        }
    }

    /// The server's key store and trust store in each format users have: PEM (key and chain in one file),
    /// PKCS12 and JKS, with the type given or guessed from the extension.
    @Test(
        .timeLimit(.minutes(2)),
        arguments: [
            ("server-keystore.pem", "trust.pem", nil), ("server.p12", "trust.p12", nil),
            ("server.jks", "trust.jks", nil),
            ("server.jks", "trust.p12", StoreType.jks),
        ])
    func storesInEveryFormat(keyStore: String, trustStore: String, type: StoreType?) async throws {
        let fixture = try TLSFixture.make()
        let certificates = fixture.certificates
        var configuration = fixture.serverConfiguration()
        configuration.tls.keyStore = CertificateStore(
            path: certificates.path(keyStore), password: certificates.password, type: type,
            setting: "ssl.keyStore.location")
        configuration.tls.trustStore = CertificateStore(
            path: certificates.path(trustStore), password: certificates.password, setting: "ssl.trustStore.location")
        try await withTLSServer(configuration) { server in
            let port = try #require(server.securePort)
            let ruok = try fixture.openSSLWord("ruok", port: port)
            #expect(ruok.output == "imok", "\(keyStore): \(ruok.error)")
        }
    }

    /// `ssl.clientAuth=need` (the default): no certificate, no connection. `want`: served, without an x509 id.
    @Test(.timeLimit(.minutes(1))) func clientAuthenticationModes() async throws {
        let fixture = try TLSFixture.make()
        try await withTLSServer(fixture.serverConfiguration(clientAuthentication: .need)) { server in
            let port = try #require(server.securePort)
            let anonymous = try fixture.openSSLWord("ruok", port: port, identity: nil)
            #expect(anonymous.output != "imok")
            #expect(try fixture.openSSLWord("ruok", port: port).output == "imok")
        }
        try await withTLSServer(fixture.serverConfiguration(clientAuthentication: .want)) { server in
            let port = try #require(server.securePort)
            #expect(try fixture.openSSLWord("ruok", port: port, identity: nil).output == "imok")
            // Served, with no x509 identity (as Apache does when a wanted certificate is not given).
            let whoami = try fixture.zkCli(port: port, identity: nil, ["whoami"])
            #expect(TLSFixture.identities(in: whoami.output) == ["ip: 127.0.0.1"], "\(whoami.output)\(whoami.error)")
        }
    }

    /// `client.portUnification=true`: one port serves plaintext (ruok through a raw socket, our client) and TLS
    /// (openssl, kazoo) side by side.
    @Test(.timeLimit(.minutes(2))) func portUnificationServesBoth() async throws {
        let fixture = try TLSFixture.make()
        try await withTLSServer(fixture.serverConfiguration(unified: true)) { server in
            #expect(server.securePort == nil)
            #expect(TestEnvironment.fourLetterWord("ruok", port: server.port) == "imok")
            #expect(try fixture.openSSLWord("ruok", port: server.port).output == "imok")
            let plain = try await ZooKeeperClient.connect(server.connectString)
            #expect(try await plain.create("/unified", data: [1]) == "/unified")
            let read = try fixture.kazoo(kazooWhoCanRead, port: server.port, identity: "client")
            #expect(read.output.contains("DATA 1"), "\(read.output)\(read.error)")
            await plain.close()
        }
    }

    /// A plaintext client on the TLS-only port and a TLS client on a plaintext port are dropped at once.
    @Test(.timeLimit(.minutes(1))) func theWrongProtocolFailsFast() async throws {
        let fixture = try TLSFixture.make()
        try await withTLSServer(fixture.serverConfiguration()) { server in
            let port = try #require(server.securePort)
            let connection = try #require(RawConnection(port: port))
            var request = ByteBuffer()
            RawConnection.writeNewSessionRequest(into: &request)
            #expect(connection.send(request))
            #expect(connection.isClosedByServer())
            #expect(TestEnvironment.fourLetterWord("ruok", port: port) != "imok")
        }
        try await withZKServer { server in
            let tls = try fixture.openSSLWord("ruok", port: server.port)
            #expect(tls.exitCode != 0)
            #expect(tls.output != "imok")
            #expect(TestEnvironment.fourLetterWord("ruok", port: server.port) == "imok")
        }
    }

    /// A client that starts a TLS handshake and stalls is dropped once `ssl.handshakeDetectionTimeoutMillis`
    /// passes; meanwhile, and afterwards, other clients are served.
    @Test(.timeLimit(.minutes(1))) func aStalledHandshakeCostsOneConnection() async throws {
        let fixture = try TLSFixture.make()
        var configuration = fixture.serverConfiguration()
        configuration.tlsHandshakeTimeoutMilliseconds = 500
        try await withTLSServer(configuration) { server in
            let port = try #require(server.securePort)
            // The first bytes of a ClientHello record, and nothing more; and a connection that sends nothing.
            let stalled = try #require(RawConnection(port: port, timeout: 20))
            #expect(stalled.send([0x16, 0x03, 0x01, 0x01, 0x00, 0x01]))
            let silent = try #require(RawConnection(port: port, timeout: 20))
            #expect(try fixture.openSSLWord("ruok", port: port).output == "imok")
            #expect(stalled.isClosedByServer())
            #expect(silent.isClosedByServer())
            #expect(try fixture.openSSLWord("ruok", port: port).output == "imok")
        }
    }
}

/// argv: hosts, certfile, keyfile, ca, subject. Creates /kz-x509 = "secret" with the ACL x509:<subject>:cdrwa.
private let kazooCreate = #"""
    import sys
    from kazoo.client import KazooClient
    from kazoo.security import make_acl
    hosts, cert, key, ca, subject = sys.argv[1:6]
    zk = KazooClient(hosts=hosts, timeout=10, use_ssl=True, certfile=cert, keyfile=key, ca=ca, verify_certs=True)
    zk.start(timeout=20)
    if zk.exists("/kz-x509"):
        zk.delete("/kz-x509")
    zk.create("/kz-x509", b"secret", acl=[make_acl("x509", subject, all=True)])
    acls, _ = zk.get_acls("/kz-x509")
    print("CREATED /kz-x509", acls[0].id.scheme, acls[0].id.id)
    zk.stop(); zk.close()
    """#

/// argv: hosts, certfile, keyfile, ca. Reads /kz-x509: READ <data> or NOAUTH.
private let kazooRead = #"""
    import sys
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoAuthError
    hosts, cert, key, ca = sys.argv[1:5]
    zk = KazooClient(hosts=hosts, timeout=10, use_ssl=True, certfile=cert, keyfile=key, ca=ca, verify_certs=True)
    zk.start(timeout=20)
    try:
        data, _ = zk.get("/kz-x509")
        print("READ " + data.decode())
    except NoAuthError:
        print("NOAUTH")
    zk.stop(); zk.close()
    """#

/// argv: hosts, certfile, keyfile, ca. Reads /unified over TLS.
private let kazooWhoCanRead = #"""
    import sys
    from kazoo.client import KazooClient
    hosts, cert, key, ca = sys.argv[1:5]
    zk = KazooClient(hosts=hosts, timeout=10, use_ssl=True, certfile=cert, keyfile=key, ca=ca, verify_certs=True)
    zk.start(timeout=20)
    data, _ = zk.get("/unified")
    print("DATA " + str(data[0]))
    zk.stop(); zk.close()
    """#
