import Foundation
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// The zkcli binary logging in with SASL DIGEST-MD5 to Apache ZooKeeper 3.8, configured as zkCli.sh users
/// configure it: a JAAS file named by `java.security.auth.login.config`, in a `-client-configuration` file or
/// as a `-D` word of `CLIENT_JVMFLAGS`.
@Suite(.serialized) struct SASLZkCliTests {
    let directory: String

    init() throws {
        directory = try TestEnvironment.temporaryDirectory("zkcli-sasl")
    }

    func write(_ text: String, to name: String) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func clientJAAS(user: String, password: String, section: String = "Client") throws -> String {
        try write(
            """
            \(section) {
                org.apache.zookeeper.server.auth.DigestLoginModule required
                username="\(user)"
                password="\(password)";
            };

            """, to: "jaas-\(section)-\(user)-\(password).conf")
    }

    static func server() throws -> ApacheZooKeeperStandalone {
        let setup = try ApacheSASLDigestSetup(users: ["bob": "secret"])
        return try ApacheZooKeeperStandalone(extraConfig: setup.extraConfig, systemProperties: setup.systemProperties)
    }

    @Test func aJAASFileInTheClientConfigurationLogsIn() throws {
        let server = try Self.server()
        let jaas = try clientJAAS(user: "bob", password: "secret")
        let properties = try write("java.security.auth.login.config=\(jaas)\n", to: "client.properties")
        let whoami = try Programs.zkcli(server: server.address, ["-client-configuration", properties, "whoami"])
        #expect(whoami.exitCode == 0, "\(whoami.error)")
        #expect(whoami.output.contains("sasl: bob"), "\(whoami.output)")

        // The login's identity is what ACLs grant rights to: bob may read his node, an anonymous client not.
        let script = "create /bobs mine sasl:bob:cdrwa\nget /bobs\n"
        let bob = try Programs.zkcli(server: server.address, ["-client-configuration", properties], input: script)
        #expect(bob.exitCode == 0, "\(bob.error)")
        #expect(bob.output == "mine\n")
        #expect(bob.error == "Created /bobs\n")
        let anonymous = try Programs.zkcli(server: server.address, ["get", "/bobs"])
        #expect(anonymous.exitCode == 1)
        #expect(anonymous.error.contains("Insufficient permission : /bobs"), "\(anonymous.error)")
    }

    @Test func aJAASFileInClientJVMFlagsLogsInWithTheNamedSection() throws {
        let server = try Self.server()
        let jaas = try clientJAAS(user: "bob", password: "secret", section: "ZkClient")
        let flags =
            "-Xmx256m -Djava.security.auth.login.config=\(jaas) -Dzookeeper.sasl.clientconfig=ZkClient"
        let run = try Programs.zkcli(server: server.address, ["whoami"], environment: ["CLIENT_JVMFLAGS": flags])
        #expect(run.exitCode == 0, "\(run.error)")
        #expect(run.output.contains("sasl: bob"), "\(run.output)")
    }

    @Test func saslCanBeTurnedOffAndAMissingSectionMeansNoLogin() throws {
        let server = try Self.server()
        let jaas = try clientJAAS(user: "bob", password: "secret")
        let off = try write(
            "java.security.auth.login.config=\(jaas)\nzookeeper.sasl.client=false\n", to: "off.properties")
        let run = try Programs.zkcli(server: server.address, ["-client-configuration", off, "whoami"])
        #expect(run.exitCode == 0, "\(run.error)")
        #expect(!run.output.contains("sasl"), "\(run.output)")
        #expect(run.error == "")

        let other = try write(
            "java.security.auth.login.config=\(jaas)\nzookeeper.sasl.clientconfig=Elsewhere\n", to: "other.properties")
        let missing = try Programs.zkcli(server: server.address, ["-client-configuration", other, "whoami"])
        #expect(missing.exitCode == 0, "\(missing.error)")
        #expect(!missing.output.contains("sasl"))
        #expect(missing.error == "zkcli: \(jaas) has no section 'Elsewhere': connecting without SASL\n")
    }

    @Test func aRefusedLoginIsOneLineAndStatusOne() throws {
        let server = try Self.server()
        let jaas = try clientJAAS(user: "bob", password: "wrong")
        let properties = try write("java.security.auth.login.config=\(jaas)\n", to: "wrong.properties")
        let run = try Programs.zkcli(server: server.address, ["-client-configuration", properties, "ls", "/"])
        #expect(run.exitCode == 1)
        #expect(run.output == "")
        #expect(run.error.contains("SASL DIGEST-MD5 authentication as bob failed"), "\(run.error)")
        #expect(run.error.filter { $0 == "\n" }.count == 1, "one line: \(run.error)")
    }

    @Test func badJAASFilesAreOneLineWithTheirStatus() throws {
        let server = try Self.server()
        let unreadable = try write(
            "java.security.auth.login.config=\(directory)/absent.conf\n", to: "absent.properties")
        let absent = try Programs.zkcli(server: server.address, ["-client-configuration", unreadable, "ls", "/"])
        #expect(absent.exitCode == 2)
        #expect(absent.error.hasPrefix("zkcli: ") && absent.error.contains("absent.conf"), "\(absent.error)")
        #expect(absent.error.filter { $0 == "\n" }.count == 1)

        let broken = try write(
            "Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n", to: "broken.conf")
        let malformed = try write("java.security.auth.login.config=\(broken)\n", to: "broken.properties")
        let run = try Programs.zkcli(server: server.address, ["-client-configuration", malformed, "ls", "/"])
        #expect(run.exitCode == 1)
        #expect(run.error.hasPrefix("zkcli: ") && run.error.contains("broken.conf"), "\(run.error)")
        #expect(run.error.filter { $0 == "\n" }.count == 1)
        #expect(run.output == "")
    }
}
