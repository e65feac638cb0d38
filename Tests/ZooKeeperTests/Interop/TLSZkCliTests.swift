import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The zkcli binary over TLS against Apache ZooKeeper 3.8, configured as zkCli.sh users configure it: a
/// `-client-configuration` properties file and `-D` words in `CLIENT_JVMFLAGS`.
@Suite(.serialized) struct TLSZkCliTests {
    let certificates: TestCertificates
    let directory: String

    init() throws {
        certificates = try TestCertificates.shared()
        directory = try TestEnvironment.temporaryDirectory("zkcli-tls")
    }

    /// Writes a client configuration file of `lines` and returns its path.
    func configuration(_ lines: [String], name: String = "client.properties") throws -> String {
        let path = directory + "/" + name
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func apacheKeys(trust: String, key: String?, password: String? = nil) -> [String] {
        let password = password ?? certificates.password
        var lines = [
            "zookeeper.client.secure=true",
            "zookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty",
            "zookeeper.ssl.trustStore.location=\(certificates.path(trust))",
            "zookeeper.ssl.trustStore.password=\(password)",
        ]
        if let key {
            lines += [
                "zookeeper.ssl.keyStore.location=\(certificates.path(key))",
                "zookeeper.ssl.keyStore.password=\(password)",
            ]
        }
        return lines
    }

    @Test(arguments: [
        ("trust.pem", "client-keystore.pem"), ("trust.p12", "client.p12"), ("trust.jks", "client.jks"),
    ])
    func oneShotOverTLSWithEveryStoreFormat(trust: String, key: String) throws {
        let server = try TLSTestServers.server(clientAuth: "need")
        let file = try configuration(apacheKeys(trust: trust, key: key))
        let run = try Programs.zkcli(server: server.secureAddress, ["-client-configuration", file, "ls", "/"])
        #expect(run.exitCode == 0, "\(run.error)")
        #expect(run.output.contains("zookeeper"))
    }

    @Test func kafkaSpellingsAndAPasswordFile() throws {
        let server = try TLSTestServers.server(clientAuth: "need")
        let passwordFile = directory + "/password"
        try "\(certificates.password)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let file = try configuration(
            [
                "zookeeper.ssl.client.enable=true",
                "zookeeper.ssl.truststore.location=\(certificates.path("trust.jks"))",
                "zookeeper.ssl.truststore.password=\(certificates.password)",
                "zookeeper.ssl.keystore.location=\(certificates.path("client.p12"))",
                "zookeeper.ssl.keyStore.passwordPath=\(passwordFile)",
                "zookeeper.ssl.keystore.type=PKCS12",
                "zookeeper.ssl.enabled.protocols=TLSv1.2",
                "zookeeper.ssl.endpoint.identification.algorithm=HTTPS",
            ], name: "kafka.properties")
        let run = try Programs.zkcli(server: server.secureAddress, ["-client-configuration", file, "ls", "/"])
        #expect(run.exitCode == 0, "\(run.error)")
        #expect(run.output.contains("zookeeper"))
    }

    @Test func clientJVMFlagsAloneAndUnderTheFile() throws {
        let server = try TLSTestServers.server(clientAuth: "need")
        let flags = apacheKeys(trust: "trust.jks", key: "client.jks").map { "-D" + $0 }.joined(separator: " ")
        let alone = try Programs.zkcli(
            server: server.secureAddress, ["ls", "/"], environment: ["CLIENT_JVMFLAGS": "-Xmx64m " + flags])
        #expect(alone.exitCode == 0, "\(alone.error)")
        #expect(alone.output.contains("zookeeper"))
        // The file's keys win: a wrong password in the file beats the right one in CLIENT_JVMFLAGS...
        let wrong = try configuration(["zookeeper.ssl.trustStore.password=wrong"], name: "wrong.properties")
        let overridden = try Programs.zkcli(
            server: server.secureAddress, ["-client-configuration", wrong, "ls", "/"],
            environment: ["CLIENT_JVMFLAGS": flags])
        #expect(overridden.exitCode == 2)
        #expect(overridden.error.hasPrefix("zkcli: zookeeper.ssl.trustStore.location: wrong password"))
        // ...and the right one in the file beats a wrong one in CLIENT_JVMFLAGS.
        let right = try configuration(
            ["zookeeper.ssl.trustStore.password=\(certificates.password)"], name: "right.properties")
        let fixed = try Programs.zkcli(
            server: server.secureAddress, ["-client-configuration", right, "ls", "/"],
            environment: ["CLIENT_JVMFLAGS": flags + " -Dzookeeper.ssl.trustStore.password=wrong"])
        #expect(fixed.exitCode == 0, "\(fixed.error)")
    }

    @Test func unusableSettingsAreOneLineAndExitTwo() throws {
        let cases: [(lines: [String], message: String)] = [
            (
                apacheKeys(trust: "trust.jks", key: "client.jks", password: "wrong"),
                "zkcli: zookeeper.ssl.trustStore.location: wrong password for \(certificates.path("trust.jks"))"
            ),
            (
                apacheKeys(trust: "absent.jks", key: nil),
                "zkcli: zookeeper.ssl.trustStore.location: \(certificates.path("absent.jks")): no such file"
            ),
            (
                apacheKeys(trust: "trust.jks", key: nil) + ["zookeeper.ssl.trustStore.type=BCFKS"],
                "zkcli: zookeeper.ssl.trustStore.type: store type BCFKS is not supported"
            ),
            (
                apacheKeys(trust: "trust.pem", key: "mismatch-keystore.pem"),
                "zkcli: zookeeper.ssl.keyStore.location: the private key in \(certificates.path("mismatch-keystore.pem")) does not match its certificate"
            ),
            (
                apacheKeys(trust: "trust.pem", key: nil) + ["zookeeper.ssl.protocol=SSLv3"],
                "zkcli: zookeeper.ssl.protocol: unknown protocol 'SSLv3'"
            ),
        ]
        for (index, (lines, message)) in cases.enumerated() {
            let file = try configuration(lines, name: "bad\(index).properties")
            let run = try Programs.zkcli(server: "127.0.0.1:1", ["-client-configuration", file, "ls", "/"])
            #expect(run.exitCode == 2, "\(lines)")
            #expect(run.error.hasPrefix(message), "\(run.error)")
            #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
        }
    }

    @Test func failedHandshakesExitOneWithTheReason() throws {
        let need = try TLSTestServers.server(clientAuth: "need")
        let untrusted = try TLSTestServers.server(identity: "untrusted", clientAuth: "none")
        let expired = try TLSTestServers.server(identity: "expired", clientAuth: "none")
        let wrongHost = try TLSTestServers.server(identity: "wronghost", clientAuth: "none")
        let withCertificate = try configuration(
            apacheKeys(trust: "trust.pem", key: "client.p12"), name: "mtls.properties")
        let withoutCertificate = try configuration(apacheKeys(trust: "trust.pem", key: nil), name: "tls.properties")
        let cases: [(server: String, file: String?, reason: String)] = [
            (untrusted.secureAddress, withoutCertificate, "is not signed by a CA of the trust store"),
            (expired.secureAddress, withoutCertificate, "has expired"),
            (wrongHost.secureAddress, withoutCertificate, "is not valid for the name '127.0.0.1'"),
            (need.secureAddress, withoutCertificate, "requires a client certificate"),
            (need.address, withCertificate, "is it a plaintext port?"),
            (need.secureAddress, nil, "accepts only TLS connections"),
        ]
        for (server, file, reason) in cases {
            let arguments = (file.map { ["-client-configuration", $0] } ?? []) + ["ls", "/"]
            let run = try Programs.zkcli(server: server, arguments)
            #expect(run.exitCode == 1, "\(server) \(run.error)")
            #expect(run.error.contains(reason), "\(server): \(run.error)")
            #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
        }
    }

    @Test func completionListsPathsOverTLS() throws {
        let server = try TLSTestServers.server(clientAuth: "need")
        let file = try configuration(apacheKeys(trust: "trust.jks", key: "client.jks"), name: "complete.properties")
        let run = try Programs.run(
            try Programs.zkcli,
            ["--complete", "--", "-client-configuration", file, "-server", server.secureAddress, "ls", "/zoo"],
            timeout: 30)
        #expect(run.exitCode == 0, "\(run.error)")
        #expect(run.output.hasPrefix("words\n/zookeeper\n"), "\(run.output)")
        // Commands complete without a server, whatever the configuration says.
        let commands = try Programs.run(
            try Programs.zkcli, ["--complete", "--", "-client-configuration", file, "-server", "127.0.0.1:1", "getE"])
        #expect(commands.output.hasPrefix("words\ngetEphemerals"), "\(commands.output)")
    }
}
