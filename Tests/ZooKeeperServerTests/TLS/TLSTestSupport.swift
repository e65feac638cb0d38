import Foundation
import ZooKeeperServer
import ZooKeeperTLS
import ZooKeeperTestSupport

/// What the server-side TLS tests share: the test certificates, two more client identities signed by the same
/// CA (`other`, and `rich` with a subject that needs escaping and an attribute without an RFC 2253 keyword), a
/// server identity whose certificate names 127.0.0.1 but not ::1 (`ipv4only`), and ways to run Apache's zkCli.sh,
/// kazoo and `openssl s_client` over TLS.
final class TLSFixture: Sendable {
    let certificates: TestCertificates
    /// Where the extra identities and the client configuration files live.
    let directory: String

    /// Subjects as Apache writes them (checked against Apache in `TLSInteropTests`).
    static let clientSubject = "CN=client,OU=apps,O=ZooKeeper Tests"
    static let otherSubject = "CN=other,OU=apps,O=ZooKeeper Tests"

    private static let shared: Result<TLSFixture, HarnessError> = {
        do {
            return .success(try TLSFixture())
        } catch {
            return .failure(HarnessError("cannot make the TLS fixture: \(error)"))
        }
    }()

    static func make() throws -> TLSFixture { try shared.get() }

    private init() throws {
        certificates = try TestCertificates.shared()
        directory = try TestEnvironment.temporaryDirectory("tls-server")
        try makeIdentity("other", subject: "/O=ZooKeeper Tests/OU=apps/CN=other")
        try makeIdentity("rich", subject: "/C=US/O=Example, Inc./OU=apps/CN=rich/emailAddress=rich@example.com")
        // A server certificate valid for localhost and 127.0.0.1 but not for ::1.
        try makeIdentity(
            "ipv4only", subject: "/O=ZooKeeper Tests/CN=localhost",
            extensions: ["extendedKeyUsage=serverAuth", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// A certificate and key for `name`, signed by the test CA, as PEM files and a PKCS12 key store; a client
    /// certificate unless `extensions` say otherwise.
    private func makeIdentity(
        _ name: String, subject: String, extensions: [String] = ["extendedKeyUsage=clientAuth"]
    ) throws {
        try run(
            "/usr/bin/openssl",
            [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject,
            ])
        try (extensions.joined(separator: "\n") + "\n").write(
            toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try run(
            "/usr/bin/openssl",
            [
                "x509", "-req", "-in", path("\(name).csr"), "-CA", certificates.path("ca.pem"), "-CAkey",
                certificates.path("ca.key"), "-CAcreateserial", "-CAserial", path("ca.srl"), "-out",
                path("\(name).pem"), "-days", "30", "-sha256", "-extfile", path("\(name).ext"),
            ])
        try run(
            "/usr/bin/openssl",
            [
                "pkcs12", "-export", "-in", path("\(name).pem"), "-inkey", path("\(name).key"), "-name", name, "-out",
                path("\(name).p12"), "-passout", "pass:\(certificates.password)",
            ])
    }

    /// The key store files of a client identity: the shared certificates' or this fixture's.
    func clientFiles(_ identity: String) -> (certificate: String, key: String, keyStore: String) {
        if identity == "client" {
            return (certificates.path("client.pem"), certificates.path("client.key"), certificates.path("client.p12"))
        }
        return (path("\(identity).pem"), path("\(identity).key"), path("\(identity).p12"))
    }

    // MARK: zkserver

    /// zkserver with a TLS-only port (and no plaintext one), in memory, every four-letter word.
    func serverConfiguration(
        clientAuthentication: TLSSettings.ClientAuthentication = .need, unified: Bool = false
    ) -> ServerConfiguration {
        var configuration = ZooKeeperServerForTests.configuration()
        if unified {
            configuration.portUnification = true
        } else {
            configuration.clientPort = nil
            configuration.secureClientPort = 0
        }
        configuration.tls.keyStore = CertificateStore(
            path: certificates.path("server.p12"), password: certificates.password, setting: "ssl.keyStore.location")
        configuration.tls.trustStore = CertificateStore(
            path: certificates.path("trust.pem"), setting: "ssl.trustStore.location")
        configuration.tls.clientAuthentication = clientAuthentication
        return configuration
    }

    /// Apache with the same stores on a secure port.
    var apacheOptions: ApacheTLSOptions {
        ApacheTLSOptions(
            keyStore: certificates.path("server.p12"), trustStore: certificates.path("trust.p12"),
            password: certificates.password)
    }

    // MARK: Clients

    /// Apache's zkCli.sh (ZooKeeperMain on the JVM, with the Netty jars Debian leaves out) over TLS, as
    /// `identity` (nil: without a client certificate), running one command.
    func zkCli(port: Int, identity: String?, _ command: [String]) throws -> ProgramRun {
        try ApacheZooKeeperInstallation.require()
        let properties = path("client-\(identity ?? "anonymous").properties")
        var lines = [
            "zookeeper.client.secure=true",
            "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
            "zookeeper.ssl.trustStore.location=\(certificates.path("trust.jks"))",
            "zookeeper.ssl.trustStore.password=\(certificates.password)",
        ]
        if let identity {
            lines += [
                "zookeeper.ssl.keyStore.location=\(clientFiles(identity).keyStore)",
                "zookeeper.ssl.keyStore.password=\(certificates.password)",
                "zookeeper.ssl.keyStore.type=PKCS12",
            ]
        }
        try lines.joined(separator: "\n").write(toFile: properties, atomically: true, encoding: .utf8)
        return try Programs.run(
            ApacheZooKeeperInstallation.java,
            [
                "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", ApacheZooKeeperInstallation.classPathWithNetty,
                "org.apache.zookeeper.ZooKeeperMain", "-client-configuration", properties, "-server",
                "127.0.0.1:\(port)",
            ] + command, timeout: 60)
    }

    /// `whoami` lines (`scheme: user`) as zkCli.sh prints them.
    static func identities(in output: String) -> [String] {
        output.split(separator: "\n").map(String.init).filter { line in
            ["ip: ", "x509: ", "super: ", "digest: "].contains { line.hasPrefix($0) }
        }
    }

    /// Runs a kazoo script: argv[1] is `host:port`, then the identity's certificate, key and the CA file.
    func kazoo(_ script: String, port: Int, identity: String, extra: [String] = []) throws -> ProgramRun {
        let files = clientFiles(identity)
        let scriptPath = path("kazoo-\(UInt32.random(in: 0...UInt32.max)).py")
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: scriptPath) }
        return try Programs.run(
            "/usr/bin/env",
            ["python3", scriptPath, "127.0.0.1:\(port)", files.certificate, files.key, certificates.path("ca.pem")]
                + extra, timeout: 90)
    }

    /// `openssl s_client` sending `word` and reading to the close, as a monitoring script does over TLS.
    func openSSLWord(_ word: String, port: Int, identity: String? = "client") throws -> ProgramRun {
        var arguments = [
            "s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", certificates.path("ca.pem"), "-quiet",
            "-verify_return_error",
        ]
        if let identity {
            let files = clientFiles(identity)
            arguments += ["-cert", files.certificate, "-key", files.key]
        }
        return try Programs.run("/usr/bin/openssl", arguments, input: word, timeout: 30)
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let result = try Programs.run(executable, arguments, timeout: 60)
        guard result.exitCode == 0 else {
            throw HarnessError("\(executable) \(arguments.joined(separator: " ")) failed: \(result.error)")
        }
    }
}

/// Runs `body` against an in-process zkserver and always shuts it down.
func withTLSServer(
    _ configuration: ServerConfiguration, _ body: (ZooKeeperServer) async throws -> Void
) async throws {
    let server = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
    do {
        try await body(server)
    } catch {
        await server.shutdown()
        throw error
    }
    await server.shutdown()
}
