import Foundation

/// Certificates and stores for TLS tests, made with `openssl` and Java's `keytool` in a temporary directory, once per
/// test process: a CA, a server certificate for localhost/127.0.0.1/::1, a client certificate, an expired server
/// certificate, one for the wrong host, one signed by a CA nobody trusts, each in the store formats users have.
///
/// Every store password is `password`. Names: `<who>.key` / `<who>.pem` (key and certificate), `<who>-keystore.pem`
/// (key then certificate chain, the single file Apache's PEM key store reads), `<who>.p12` and `<who>.jks` (key
/// stores), `trust.pem`, `trust.p12`, `trust.jks` (trust stores holding the CA).
public final class TestCertificates: Sendable {
    public let directory: String
    public let password = "storepass"

    /// The identities made: `server` (valid for localhost, 127.0.0.1, ::1), `client` (CN=client), `expired`,
    /// `wronghost` (only for wrong.example), `untrusted` (signed by another CA), `mismatch` (a key with someone
    /// else's certificate; PEM and PKCS12 only is not possible, so PEM only).
    public static let identities = ["server", "client", "expired", "wronghost", "untrusted"]

    private struct SetupFailure: Error {
        var message: String
    }

    private static let sharedResult: Result<TestCertificates, SetupFailure> = {
        do {
            return .success(try TestCertificates())
        } catch {
            return .failure(SetupFailure(message: "cannot make test certificates: \(error)"))
        }
    }()

    /// One set per test process.
    public static func shared() throws -> TestCertificates {
        switch sharedResult {
        case .success(let certificates): return certificates
        case .failure(let failure): throw HarnessError(failure.message)
        }
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    private init() throws {
        directory = try TestEnvironment.temporaryDirectory("tls-certs")
        try makeAuthority("ca", subject: "/CN=ZooKeeper Test CA")
        try makeAuthority("otherca", subject: "/CN=Untrusted Test CA")
        let names = "DNS:localhost,IP:127.0.0.1,IP:::1"
        try makeLeaf("server", subject: "/O=ZooKeeper Tests/CN=localhost", altNames: names, signer: "ca")
        try makeLeaf("client", subject: "/O=ZooKeeper Tests/OU=apps/CN=client", altNames: "DNS:client", signer: "ca")
        try makeLeaf("expired", subject: "/CN=localhost", altNames: names, signer: "ca", expired: true)
        try makeLeaf("wronghost", subject: "/CN=wrong.example", altNames: "DNS:wrong.example", signer: "ca")
        try makeLeaf("untrusted", subject: "/CN=localhost", altNames: names, signer: "otherca")

        // The CA as a trust store, in each format.
        try FileManager.default.copyItem(atPath: path("ca.pem"), toPath: path("trust.pem"))
        for (file, type) in [("trust.jks", "JKS"), ("trust.p12", "PKCS12")] {
            try keytool([
                "-importcert", "-noprompt", "-alias", "ca", "-file", path("ca.pem"), "-keystore", path(file),
                "-storetype", type, "-storepass", password,
            ])
        }
        // Each identity as a PEM key store, PKCS12 (openssl) and JKS (keytool, from the PKCS12).
        for name in Self.identities {
            let signer = name == "untrusted" ? "otherca" : "ca"
            let keyAndChain =
                try String(contentsOfFile: path("\(name).key"), encoding: .utf8)
                + String(contentsOfFile: path("\(name).pem"), encoding: .utf8)
                + String(contentsOfFile: path("\(signer).pem"), encoding: .utf8)
            try keyAndChain.write(toFile: path("\(name)-keystore.pem"), atomically: true, encoding: .utf8)
            try openssl([
                "pkcs12", "-export", "-in", path("\(name).pem"), "-inkey", path("\(name).key"), "-certfile",
                path("\(signer).pem"), "-name", name, "-out", path("\(name).p12"), "-passout", "pass:\(password)",
            ])
            try keytool([
                "-importkeystore", "-noprompt", "-srckeystore", path("\(name).p12"), "-srcstoretype", "PKCS12",
                "-srcstorepass", password, "-destkeystore", path("\(name).jks"), "-deststoretype", "JKS",
                "-deststorepass", password, "-destkeypass", password,
            ])
        }
        // A key with a certificate that is not its own.
        let mismatched =
            try String(contentsOfFile: path("client.key"), encoding: .utf8)
            + String(contentsOfFile: path("server.pem"), encoding: .utf8)
        try mismatched.write(toFile: path("mismatch-keystore.pem"), atomically: true, encoding: .utf8)
        // The client key encrypted (PKCS#8, AES), as `openssl pkcs8 -topk8 -v2 aes256` writes it.
        try openssl([
            "pkcs8", "-topk8", "-in", path("client.key"), "-out", path("client-encrypted.key"), "-v2", "aes256",
            "-passout", "pass:\(password)",
        ])
        let encrypted =
            try String(contentsOfFile: path("client-encrypted.key"), encoding: .utf8)
            + String(contentsOfFile: path("client.pem"), encoding: .utf8)
        try encrypted.write(toFile: path("client-encrypted-keystore.pem"), atomically: true, encoding: .utf8)
    }

    private func makeAuthority(_ name: String, subject: String) throws {
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            path("\(name).key"), "-out", path("\(name).pem"), "-days", "3650", "-subj", subject, "-addext",
            "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ])
    }

    private func makeLeaf(_ name: String, subject: String, altNames: String, signer: String, expired: Bool = false)
        throws
    {
        try openssl([
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
            path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject,
        ])
        let extensions = [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            "extendedKeyUsage=serverAuth,clientAuth",
            "subjectAltName=\(altNames)",
        ]
        try (extensions.joined(separator: "\n") + "\n").write(
            toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        if expired {
            // `openssl x509 -req` cannot date a certificate in the past; `openssl ca` can.
            let database = path("\(signer)-db")
            try FileManager.default.createDirectory(atPath: database, withIntermediateDirectories: true)
            try "".write(toFile: database + "/index.txt", atomically: true, encoding: .utf8)
            try "1000\n".write(toFile: database + "/serial", atomically: true, encoding: .utf8)
            let config = [
                "[ca]", "default_ca = test", "[test]", "database = \(database)/index.txt",
                "serial = \(database)/serial", "new_certs_dir = \(database)", "default_md = sha256",
                "policy = anything", "copy_extensions = none", "[anything]", "commonName = supplied",
                "[leaf]",
            ]
            try ((config + extensions).joined(separator: "\n") + "\n").write(
                toFile: path("\(signer)-ca.cnf"), atomically: true, encoding: .utf8)
            try openssl([
                "ca", "-batch", "-config", path("\(signer)-ca.cnf"), "-extensions", "leaf", "-cert",
                path("\(signer).pem"), "-keyfile", path("\(signer).key"), "-in", path("\(name).csr"), "-out",
                path("\(name).pem"), "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext",
            ])
        } else {
            try openssl([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(signer).pem"), "-CAkey",
                path("\(signer).key"), "-CAcreateserial", "-out", path("\(name).pem"), "-days", "825", "-sha256",
                "-extfile", path("\(name).ext"),
            ])
        }
    }

    private func openssl(_ arguments: [String]) throws {
        try run("/usr/bin/openssl", arguments)
    }

    private func keytool(_ arguments: [String]) throws {
        try run("/usr/bin/keytool", arguments)
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let result = try Programs.run(executable, arguments, timeout: 60)
        guard result.exitCode == 0 else {
            throw HarnessError(
                "\(executable) \(arguments.joined(separator: " ")) failed (\(result.exitCode)): \(result.error)")
        }
    }
}
