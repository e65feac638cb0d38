import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Apache ZooKeeper 3.8 servers with a TLS port (Netty connection factory), shared by the TLS tests of one process:
/// one that requires client certificates, one that asks for none, one with an expired certificate, one whose
/// certificate is for another host.
enum TLSTestServers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var servers: [String: ApacheZooKeeperStandalone] = [:]

    /// The server presenting `<identity>.jks` with `ssl.clientAuth=clientAuth`, started on first use.
    static func server(identity: String = "server", clientAuth: String = "need") throws -> ApacheZooKeeperStandalone {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(identity)/\(clientAuth)"
        if let server = servers[key] { return server }
        let certificates = try TestCertificates.shared()
        let server = try ApacheZooKeeperStandalone(
            tls: ApacheTLSOptions(
                keyStore: certificates.path("\(identity).jks"), trustStore: certificates.path("trust.jks"),
                password: certificates.password, clientAuth: clientAuth))
        servers[key] = server
        return server
    }
}

/// TLS settings of the test stores: `trust` and `key` are file names in the certificate directory.
func tlsSettings(trust: String = "trust.pem", key: String? = "client-keystore.pem") throws -> TLSSettings {
    let certificates = try TestCertificates.shared()
    return TLSSettings(
        trustStore: CertificateStore(path: certificates.path(trust), password: certificates.password),
        keyStore: key.map { CertificateStore(path: certificates.path($0), password: certificates.password) })
}

/// Connects with `tls` and waits (up to a minute; a hopeless TLS failure ends the wait at once).
func connectOverTLS(
    _ connectString: String, tls: TLSSettings?, configure: (inout ZooKeeperClient.Configuration) -> Void = { _ in }
) async throws -> ZooKeeperClient {
    var configuration = ZooKeeperClient.Configuration()
    configuration.sessionTimeout = .seconds(10)
    configuration.tls = tls
    configure(&configuration)
    return try await ZooKeeperClient.connect(connectString, configuration: configuration, timeout: .seconds(60))
}

/// The error `connectOverTLS` fails with (nil if it connects).
func tlsConnectFailure(_ connectString: String, tls: TLSSettings?) async -> ZooKeeperError? {
    do {
        let client = try await connectOverTLS(connectString, tls: tls)
        await client.close()
        return nil
    } catch let error as ZooKeeperError {
        return error
    } catch {
        Issue.record("unexpected \(error)")
        return nil
    }
}

/// Reads `path`; a call lost with its connection is made again once the session has reconnected.
func getDataAcrossFailover(_ client: ZooKeeperClient, _ path: String) async throws -> [UInt8]? {
    for _ in 0..<5 {
        do {
            return try await client.getData(path).data
        } catch {
            guard error.code == .connectionLoss else { throw error }
            try await client.waitUntilConnected(timeout: .seconds(30))
        }
    }
    throw HarnessError("\(path) could not be read in 5 attempts")
}

/// Our client against Apache ZooKeeper 3.8's secure client port.
@Suite(.serialized) struct TLSInteropTests {
    @Test(arguments: [
        ("trust.pem", "client-keystore.pem"), ("trust.p12", "client.p12"), ("trust.jks", "client.jks"),
    ])
    func mutualTLSWithEveryStoreFormat(trust: String, key: String) async throws {
        let server = try TLSTestServers.server(clientAuth: "need")
        let client = try await connectOverTLS(server.secureAddress, tls: try tlsSettings(trust: trust, key: key))
        let path = SharedTestServers.uniqueRoot("tls")
        try await client.create(path, data: bytes("over tls"))
        #expect(try await client.getData(path).data == bytes("over tls"))
        // Apache names the session's x509 identity after the client certificate's subject.
        let identities = try await client.whoAmI()
        #expect(identities.contains { $0.authScheme == "x509" && $0.user.contains("CN=client") }, "\(identities)")
        try await client.delete(path)
        await client.close()
    }

    @Test func withoutAClientCertificateWhereNoneIsAsked() async throws {
        let server = try TLSTestServers.server(clientAuth: "none")
        let client = try await connectOverTLS(server.secureAddress, tls: try tlsSettings(trust: "trust.jks", key: nil))
        #expect(try await client.exists("/") != nil)
        await client.close()
    }

    @Test func hostnameIsTheConnectStringsName() async throws {
        // The server's certificate names localhost and 127.0.0.1; both forms connect.
        let server = try TLSTestServers.server(clientAuth: "need")
        let client = try await connectOverTLS("localhost:\(server.server.securePort!)", tls: try tlsSettings())
        #expect(try await client.exists("/") != nil)
        await client.close()
    }

    @Test func untrustedIssuer() async throws {
        let server = try TLSTestServers.server(identity: "untrusted", clientAuth: "none")
        let error = await tlsConnectFailure(server.secureAddress, tls: try tlsSettings(key: nil))
        #expect(error?.code == .tlsUntrustedCertificate)
        #expect(error?.description.contains("CN=Untrusted Test CA") == true, "\(String(describing: error))")
    }

    @Test func expiredCertificate() async throws {
        let server = try TLSTestServers.server(identity: "expired", clientAuth: "none")
        let error = await tlsConnectFailure(server.secureAddress, tls: try tlsSettings(key: nil))
        #expect(error?.code == .tlsCertificateExpired)
        #expect(error?.description.contains("has expired") == true, "\(String(describing: error))")
    }

    @Test func certificateForAnotherHost() async throws {
        let server = try TLSTestServers.server(identity: "wronghost", clientAuth: "none")
        let error = await tlsConnectFailure(server.secureAddress, tls: try tlsSettings(key: nil))
        #expect(error?.code == .tlsHostnameMismatch)
        #expect(error?.description.contains("'127.0.0.1'") == true, "\(String(describing: error))")
        // With hostname verification off (zookeeper.ssl.hostnameVerification=false) the same server is accepted.
        var lenient = try tlsSettings(key: nil)
        lenient.hostnameVerification = false
        let client = try await connectOverTLS(server.secureAddress, tls: lenient)
        #expect(try await client.exists("/") != nil)
        await client.close()
    }

    @Test func serverThatWantsAClientCertificate() async throws {
        let server = try TLSTestServers.server(clientAuth: "need")
        let error = await tlsConnectFailure(server.secureAddress, tls: try tlsSettings(key: nil))
        #expect(error?.code == .tlsClientCertificateRequired)
        #expect(error?.description.contains("requires a client certificate") == true, "\(String(describing: error))")
    }

    @Test func tlsToAPlaintextPort() async throws {
        let server = try TLSTestServers.server(clientAuth: "need")
        let error = await tlsConnectFailure(server.address, tls: try tlsSettings())
        #expect(error?.code == .tlsServerNotTLS)
        #expect(error?.description.contains("plaintext port") == true, "\(String(describing: error))")
    }

    @Test func plaintextToATLSPort() async throws {
        let server = try TLSTestServers.server(clientAuth: "need")
        let error = await tlsConnectFailure(server.secureAddress, tls: nil)
        #expect(error?.code == .tlsRequiredByServer)
        #expect(error?.description.contains("accepts only TLS") == true, "\(String(describing: error))")
    }

    @Test func aHostThatFailsTheHandshakeIsSkipped() async throws {
        // The first host (in this order) is the plaintext port: the client moves on to the TLS one.
        let server = try TLSTestServers.server(clientAuth: "need")
        let client = try await connectOverTLS("\(server.address),\(server.secureAddress)", tls: try tlsSettings()) {
            $0.shuffleHosts = false
        }
        #expect(client.currentServer?.port == server.server.securePort)
        await client.close()
    }

    @Test func badStoreFailsTheClientAtOnce() throws {
        let certificates = try TestCertificates.shared()
        var configuration = ZooKeeperClient.Configuration()
        configuration.tls = TLSSettings(
            trustStore: CertificateStore(
                path: certificates.path("trust.jks"), password: "wrong", setting: "zookeeper.ssl.trustStore.location"))
        let error = #expect(throws: ZooKeeperError.self) {
            _ = try ZooKeeperClient(connectString: "127.0.0.1:1", configuration: configuration)
        }
        #expect(error?.code == .tlsConfiguration)
        #expect(error?.description.hasPrefix("zookeeper.ssl.trustStore.location: wrong password") == true)
    }

    @Test func sessionSurvivesSIGKILLOfItsMemberOverTLS() async throws {
        let certificates = try TestCertificates.shared()
        let ensemble = try ApacheZooKeeperEnsemble(
            tls: ApacheTLSOptions(
                keyStore: certificates.path("server.jks"), trustStore: certificates.path("trust.jks"),
                password: certificates.password))
        let client = try await connectOverTLS(
            ensemble.secureConnectString(), tls: try tlsSettings(trust: "trust.jks", key: "client.jks")
        ) {
            $0.sessionTimeout = .seconds(20)
        }
        let sessionID = client.sessionID
        try await client.create("/tls-eph", data: bytes("alive"), mode: .ephemeral)
        guard let port = client.currentServer?.port, let member = ensemble.server(securePort: port) else {
            throw HarnessError("client is not connected to a member's TLS port")
        }
        member.stop(signal: SIGKILL)
        // A call in flight when the member died is lost (ConnectionLoss); the session moves to another member, over
        // TLS, and keeps its ephemeral node.
        let data = try await getDataAcrossFailover(client, "/tls-eph")
        #expect(data == bytes("alive"))
        #expect(client.sessionID == sessionID)
        #expect(client.currentServer?.port != port)
        await client.close()
        ensemble.stopAll(signal: SIGKILL)
    }
}
