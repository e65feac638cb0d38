import Foundation
import Testing
import ZooKeeperServer
import ZooKeeperTestSupport

/// The same TLS steps against Apache ZooKeeper 3.8 (Netty, secureClientPort) and zkserver, compared.
@Suite(.serialized) struct TLSApacheComparisonTests {
    /// `whoami` over TLS shows the same identities, in the same order, on both servers: for a plain subject, for
    /// one with an escaped comma and an attribute (emailAddress) that Java writes as its OID and hex, and for the
    /// x509 super user (`X509AuthenticationProvider.superUser` in zoo.cfg).
    @Test(.timeLimit(.minutes(4))) func whoamiShowsWhatApacheShows() async throws {
        let fixture = try TLSFixture.make()
        let apache = try ApacheZooKeeperStandalone(
            extraConfig: ["X509AuthenticationProvider.superUser=\(TLSFixture.otherSubject)"], tls: fixture.apacheOptions
        )
        defer { apache.stop(signal: SIGKILL) }
        let securePort = try #require(apache.server.securePort)
        var configuration = fixture.serverConfiguration()
        configuration.x509SuperUser = TLSFixture.otherSubject
        try await withTLSServer(configuration) { server in
            let port = try #require(server.securePort)
            for (identity, count) in [("client", 2), ("rich", 2), ("other", 3)] {
                let expected = try fixture.zkCli(port: securePort, identity: identity, ["whoami"])
                let actual = try fixture.zkCli(port: port, identity: identity, ["whoami"])
                let apacheIdentities = TLSFixture.identities(in: expected.output)
                #expect(apacheIdentities.count == count, "Apache: \(expected.output)\(expected.error)")
                #expect(TLSFixture.identities(in: actual.output) == apacheIdentities, "\(actual.output)")
            }
        }
    }
}

/// zoo.cfg files that ask for TLS zkserver cannot give: the executable stops with one line, exit code 64 for a
/// file that cannot be read as a configuration, 2 for stores that cannot be used.
@Suite(.serialized) struct TLSConfigurationFailureTests {
    private func start(_ lines: [String], checkOnly: Bool = false) throws -> ProgramRun {
        let directory = try TestEnvironment.temporaryDirectory("tls-bad-cfg")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configFile = directory + "/zoo.cfg"
        let port = try TestEnvironment.freePort()
        try
            (["clientPortAddress=127.0.0.1", "dataDir=\(directory)/data", "admin.enableServer=false"]
            + lines.map {
                $0.replacingOccurrences(of: "PORT", with: "\(port)")
            }).joined(separator: "\n").write(toFile: configFile, atomically: true, encoding: .utf8)
        return try Programs.run(
            try ZKServerProcess.executable(), (checkOnly ? ["--check-config"] : []) + [configFile], timeout: 30)
    }

    @Test(.timeLimit(.minutes(2))) func eachBadSettingIsOneLine() throws {
        let fixture = try TLSFixture.make()
        let certificates = fixture.certificates
        let cases: [(lines: [String], message: String, exitCode: Int32)] = [
            (
                ["secureClientPort=PORT", "ssl.keyStore.location=/nonexistent/server.p12"],
                "ssl.keyStore.location: /nonexistent/server.p12: no such file", 2
            ),
            (
                [
                    "secureClientPort=PORT", "ssl.keyStore.location=\(certificates.path("server.p12"))",
                    "ssl.keyStore.password=wrong",
                ],
                "ssl.keyStore.location: wrong password for", 2
            ),
            (
                [
                    "secureClientPort=PORT", "ssl.keyStore.location=\(certificates.path("server.p12"))",
                    "ssl.keyStore.type=BCFKS",
                ],
                "ssl.keyStore.type: store type BCFKS is not supported", 64
            ),
            (
                [
                    "secureClientPort=PORT", "ssl.keyStore.location=\(certificates.path("server.p12"))",
                    "ssl.clientAuth=bogus",
                ],
                "ssl.clientAuth must be none, want or need, got 'bogus'", 64
            ),
            (
                ["clientPort=PORT", "ssl.keyStore.location=\(certificates.path("server.p12"))"],
                "no port serves TLS", 64
            ),
            (["secureClientPort=PORT"], "secureClientPort needs ssl.keyStore.location", 64),
        ]
        for (lines, message, exitCode) in cases {
            let run = try start(lines)
            let errorLines = run.error.split(separator: "\n")
            #expect(run.exitCode == exitCode, "\(lines): \(run.error)")
            #expect(errorLines.count == 1, "\(lines): \(run.error)")
            #expect(errorLines.first?.hasPrefix("zkserver: ") == true, "\(run.error)")
            #expect(run.error.contains(message), "\(lines): \(run.error)")
            #expect(run.output.isEmpty)
        }
    }

    /// `--check-config` reads the stores too: what would stop the start is found before it.
    @Test(.timeLimit(.minutes(1))) func checkConfigReadsTheStores() throws {
        let certificates = try TLSFixture.make().certificates
        let store = "ssl.keyStore.location=\(certificates.path("server.p12"))"
        let wrong = try start(["secureClientPort=PORT", store, "ssl.keyStore.password=wrong"], checkOnly: true)
        #expect(wrong.exitCode == 64, "\(wrong.error)")
        #expect(
            wrong.error.split(separator: "\n").count == 1 && wrong.error.contains("wrong password"), "\(wrong.error)")
        let good = try start(
            ["secureClientPort=PORT", store, "ssl.keyStore.password=\(certificates.password)"], checkOnly: true)
        #expect(good.exitCode == 0, "\(good.error)")
        #expect(good.output.contains(": OK (secureClientPort "), "\(good.output)")
    }
}
