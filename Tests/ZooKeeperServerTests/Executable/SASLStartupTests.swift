import Foundation
import Testing
import ZooKeeperTestSupport

/// How the zkserver executable finds its JAAS file and refuses SASL settings it cannot honour: one line, exit 64.
@Suite struct SASLStartupTests {
    static let provider = "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"

    /// A directory with `zoo.cfg` (the lines given) and `jaas.conf` (the text given).
    static func files(zooCfg: [String], jaas: String) throws -> (zooCfg: String, jaas: String) {
        let directory = try TestEnvironment.temporaryDirectory("zkserver-sasl")
        let zooCfgFile = directory + "/zoo.cfg"
        let jaasFile = directory + "/jaas.conf"
        try (["tickTime=2000", "clientPort=0", "admin.enableServer=false"] + zooCfg).joined(separator: "\n")
            .write(toFile: zooCfgFile, atomically: true, encoding: .utf8)
        try jaas.write(toFile: jaasFile, atomically: true, encoding: .utf8)
        return (zooCfgFile, jaasFile)
    }

    static let digestSection = """
        Server {
            org.apache.zookeeper.server.auth.DigestLoginModule required
            user_bob="secret";
        };
        """

    static let kerberosSection = """
        Server {
            com.sun.security.auth.module.Krb5LoginModule required
            useKeyTab=true keyTab="/etc/zk.keytab" storeKey=true principal="zookeeper/localhost@EXAMPLE.COM";
        };
        """

    @Test(arguments: ["SERVER_JVMFLAGS", "JVMFLAGS"])
    func theJAASFileIsFoundInTheJVMFlags(variable: String) throws {
        let (zooCfg, jaas) = try Self.files(zooCfg: [Self.provider], jaas: Self.digestSection)
        let run = try Programs.run(
            try ZKServerProcess.executable(), ["--check-config", zooCfg],
            environment: [variable: "-Xmx512m -Djava.security.auth.login.config=\(jaas) -Dfoo=bar"])
        #expect(run.exitCode == 0, "\(run.error)")
        // A Kerberos Server section named the same way is checked, and its missing keytab refused: so the
        // variable was read.
        try Self.kerberosSection.write(toFile: jaas, atomically: true, encoding: .utf8)
        let refused = try Programs.run(
            try ZKServerProcess.executable(), ["--check-config", zooCfg],
            environment: [variable: "-Djava.security.auth.login.config=\(jaas)"])
        #expect(refused.exitCode == 64)
        #expect(refused.error.contains("from the keytab /etc/zk.keytab"), "\(refused.error)")
    }

    @Test func aKerberosServerSectionWithoutItsKeytabStopsTheServerWithOneLine() throws {
        let (zooCfg, jaas) = try Self.files(zooCfg: [Self.provider], jaas: Self.kerberosSection)
        let run = try Programs.run(
            try ZKServerProcess.executable(), [zooCfg, "--in-memory", "--jaas", jaas], timeout: 30)
        #expect(run.exitCode == 64)
        #expect(
            run.error.hasPrefix(
                "zkserver: Kerberos: failed while getting the keys of zookeeper/localhost@EXAMPLE.COM from the keytab "
                    + "/etc/zk.keytab ("), "\(run.error)")
        #expect(run.error.filter { $0 == "\n" }.count == 1, "\(run.error)")
    }

    @Test func aJAASFileWithoutAServerSectionIsRefused() throws {
        let (zooCfg, jaas) = try Self.files(
            zooCfg: [Self.provider],
            jaas:
                "Client { org.apache.zookeeper.server.auth.DigestLoginModule required username=\"a\" password=\"b\"; };"
        )
        let run = try Programs.run(try ZKServerProcess.executable(), ["--check-config", zooCfg, "--jaas", jaas])
        #expect(run.exitCode == 64)
        #expect(run.error == "zkserver: \(jaas): no JAAS section named 'Server'\n")
    }

    @Test(arguments: [
        (["enforce.auth.enabled=true"], "enforce.auth.schemes must name at least one scheme"),
        (["sessionRequireClientSASLAuth=true"], "authentication scheme sasl is not available"),
        (
            ["enforce.auth.enabled=true", "enforce.auth.schemes=kerberos"],
            "authentication scheme kerberos is not available"
        ),
    ])
    func enforcementThatCannotWorkIsRefused(lines: [String], message: String) throws {
        let (zooCfg, _) = try Self.files(zooCfg: lines, jaas: "")
        let run = try Programs.run(try ZKServerProcess.executable(), ["--check-config", zooCfg])
        #expect(run.exitCode == 64)
        #expect(run.error.contains(message), "\(run.error)")
        #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
    }
}
