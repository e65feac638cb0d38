import Foundation
import Testing
import ZooKeeper
import ZooKeeperServer
import ZooKeeperTLS
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// TLS over IPv6 loopback: our client and zkcli at `[::1]:port`, on Apache ZooKeeper 3.8's secure port (Netty
/// connection factory) and on zkserver's, with hostname verification on (the default, as in Apache's client): an
/// address in the connect string is checked against the certificate's IP addresses, so a certificate that names
/// 127.0.0.1 but not ::1 is refused.
@Suite(
    .serialized,
    .enabled(
        if: TestEnvironment.ipv6LoopbackAvailable,
        "IPv6 loopback (::1) is not configured on this machine; the IPv6-over-TLS tests need it"))
struct TLSIPv6Tests {
    let fixture: TLSFixture

    init() throws {
        fixture = try TLSFixture.make()
    }

    @Test(.timeLimit(.minutes(4))) func apacheSecurePortOverIPv6() async throws {
        let apache = try ApacheZooKeeperStandalone(host: "::1", tls: fixture.apacheOptions)
        defer { apache.stop(signal: SIGKILL) }
        try await expectServedOverIPv6(port: try #require(apache.server.securePort))

        var options = fixture.apacheOptions
        options.keyStore = fixture.path("ipv4only.p12")
        let ipv4Only = try ApacheZooKeeperStandalone(host: "::1", tls: options)
        defer { ipv4Only.stop(signal: SIGKILL) }
        try await expectRefusedOverIPv6(port: try #require(ipv4Only.server.securePort))
    }

    @Test(.timeLimit(.minutes(3))) func zkserverSecurePortOverIPv6() async throws {
        var configuration = fixture.serverConfiguration()
        configuration.secureClientPortAddress = "::1"
        try await withTLSServer(configuration) { server in
            try await expectServedOverIPv6(port: try #require(server.securePort))
        }

        configuration.tls.keyStore = CertificateStore(
            path: fixture.path("ipv4only.p12"), password: fixture.certificates.password,
            setting: "ssl.keyStore.location")
        try await withTLSServer(configuration) { server in
            try await expectRefusedOverIPv6(port: try #require(server.securePort))
        }
    }

    // MARK: Steps

    /// The client settings the tests use: the test CA, the `client` certificate, hostname verification left on.
    private var clientSettings: TLSSettings {
        let certificates = fixture.certificates
        return TLSSettings(
            trustStore: CertificateStore(path: certificates.path("trust.pem")),
            keyStore: CertificateStore(path: certificates.path("client.p12"), password: certificates.password))
    }

    /// A zkcli configuration file with Apache's keys (no `zookeeper.ssl.hostnameVerification`: on by default).
    private func zkcliConfiguration() throws -> String {
        let certificates = fixture.certificates
        let file = fixture.path("ipv6-client.properties")
        let lines = [
            "zookeeper.client.secure=true",
            "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
            "zookeeper.ssl.trustStore.location=\(certificates.path("trust.jks"))",
            "zookeeper.ssl.trustStore.password=\(certificates.password)",
            "zookeeper.ssl.keyStore.location=\(certificates.path("client.p12"))",
            "zookeeper.ssl.keyStore.password=\(certificates.password)",
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The server's certificate names ::1: the client connects to `[::1]:port`, writes and reads, and the server
    /// knows it by its certificate; zkcli reads what it wrote.
    private func expectServedOverIPv6(port: Int) async throws {
        var configuration = ZooKeeperClient.Configuration()
        configuration.tls = clientSettings
        let client = try await ZooKeeperClient.connect(
            "[::1]:\(port)", configuration: configuration, timeout: .seconds(60))
        #expect(client.currentServer == HostAndPort(host: "::1", port: port))
        let path = SharedTestServers.uniqueRoot("tls-ipv6")
        try await client.create(path, data: Array("over ipv6".utf8))
        #expect(try await client.getData(path).data == Array("over ipv6".utf8))
        let identities = try await client.whoAmI()
        #expect(identities.contains { $0.authScheme == "x509" && $0.user.contains("CN=client") }, "\(identities)")

        let run = try Programs.zkcli(
            server: "[::1]:\(port)", ["-client-configuration", try zkcliConfiguration(), "get", path])
        #expect(run.exitCode == 0, "\(run.error)")
        #expect(run.output.split(separator: "\n").contains("over ipv6"), "\(run.output)")

        try await client.delete(path)
        await client.close()
    }

    /// The server's certificate names 127.0.0.1 and localhost, not ::1: the client and zkcli refuse it, each
    /// with one line naming the address.
    private func expectRefusedOverIPv6(port: Int) async throws {
        var configuration = ZooKeeperClient.Configuration()
        configuration.tls = clientSettings
        let error = await #expect(throws: ZooKeeperError.self) {
            let client = try await ZooKeeperClient.connect(
                "[::1]:\(port)", configuration: configuration, timeout: .seconds(60))
            await client.close()
        }
        #expect(error?.code == .tlsHostnameMismatch, "\(String(describing: error))")
        #expect(error?.description.contains("is not valid for the name '::1'") == true, "\(String(describing: error))")

        let run = try Programs.zkcli(
            server: "[::1]:\(port)", ["-client-configuration", try zkcliConfiguration(), "ls", "/"])
        #expect(run.exitCode == 1, "\(run.output)\(run.error)")
        #expect(run.error.contains("is not valid for the name '::1'"), "\(run.error)")
        #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
    }
}
