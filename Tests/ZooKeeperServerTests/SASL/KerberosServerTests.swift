import Foundation
import NIOCore
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperServer

/// zkserver's Kerberos (SASL GSSAPI) logins, with an MIT KDC each test starts: the server logs in as
/// `zookeeper/localhost@REALM` from its keytab (the JAAS Server section Apache reads), clients as alice or
/// `zkcli/localhost`. Where the identity is a question of fidelity, Apache ZooKeeper 3.8 gets the same setup.
@Suite(.serialized) struct KerberosServerTests {
    /// A KDC with the server's principal and alice's, and a server of `kind` using them.
    final class Realm: @unchecked Sendable {
        let kdc: KerberosTestKDC
        let setup: ApacheSASLKerberosSetup
        let aliceKeytab: String
        let port: Int
        private let apache: ApacheZooKeeperStandalone?
        private let zkserver: ZooKeeperServer?

        /// `acceptorHook` runs before each step of zkserver's Kerberos acceptor.
        init(_ kind: TestServerKind, extraConfig: [String] = [], acceptorHook: GSSAPIStepHook? = nil) async throws {
            kdc = try KerberosTestKDC()
            setup = try ApacheSASLKerberosSetup(kdc: kdc)
            aliceKeytab = try kdc.addPrincipal("alice")
            switch kind {
            case .apache:
                let server = try ApacheZooKeeperStandalone(
                    extraConfig: setup.extraConfig + extraConfig, systemProperties: setup.systemProperties)
                apache = server
                zkserver = nil
                port = server.port
            case .zkserver:
                var configuration = try ZooCfg.parse(
                    (setup.extraConfig + extraConfig + ["admin.enableServer=false"]).joined(separator: "\n"),
                    base: ZooKeeperServerForTests.configuration()
                ).configuration
                try configuration.sasl.loadJAAS(file: setup.jaasFile)
                try configuration.sasl.validate()
                try configuration.sasl.kerberos?.checkCredentials()
                configuration.sasl.kerberos?.beforeEachStep = acceptorHook
                configuration.sasl.defaultRealm = SASLSettings.readDefaultRealm(krb5Config: kdc.krb5Config)
                let server = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
                apache = nil
                zkserver = server
                port = server.port
            }
        }

        /// The host part of the server principal: `localhost`, not 127.0.0.1.
        var address: String { "localhost:\(port)" }
        var alice: String { kdc.principal("alice") }
        var environment: [String: String?] { ["KRB5_CONFIG": kdc.krb5Config, "KRB5CCNAME": nil] }

        func stop() async {
            apache?.stop(signal: SIGKILL)
            await zkserver?.shutdown()
            kdc.stop()
        }
    }

    static func connect(_ address: String, _ credentials: SASLCredentials?) async throws(ZooKeeperError)
        -> ZooKeeperClient
    {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(10)
        configuration.sasl = credentials
        return try await ZooKeeperClient.connect(address, configuration: configuration, timeout: .seconds(30))
    }

    @Test func ourClientLogsInWithAKeytabAndSASLACLsOnThePrincipalAreEnforced() async throws {
        let realm = try await Realm(.zkserver)
        try await KerberosTestKDC.withEnvironment(realm.environment) {
            let alice = try await Self.connect(
                realm.address, .kerberos(.keytab(realm.aliceKeytab, principal: realm.alice)))
            #expect(
                Set(try await alice.whoAmI()) == [
                    ClientInfo(authScheme: "ip", user: "127.0.0.1"), ClientInfo(authScheme: "sasl", user: realm.alice),
                ])
            let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: realm.alice))]
            try await alice.create("/alices", data: Array("mine".utf8), acl: acl)
            #expect(try await alice.getData("/alices").data == Array("mine".utf8))
            let anonymous = try await Self.connect(realm.address, nil)
            await expectCode(.noAuth) { try await anonymous.getData("/alices") }
            await anonymous.close()
            await alice.close()
        }
        await realm.stop()
    }

    /// A ticket for another service principal (zk/localhost, known to the KDC) is refused with AuthFailed by
    /// Apache and zkserver alike, and only that connection is lost.
    @Test(arguments: TestServerKind.allCases)
    func aTicketForAnotherServicePrincipalFailsTheLogin(_ kind: TestServerKind) async throws {
        let realm = try await Realm(kind)
        _ = try realm.kdc.addPrincipal("zk/localhost")
        try await KerberosTestKDC.withEnvironment(realm.environment) {
            let alice = try await Self.connect(
                realm.address, .kerberos(.keytab(realm.aliceKeytab, principal: realm.alice)))
            var elsewhere = KerberosLogin.keytab(realm.aliceKeytab, principal: realm.alice)
            elsewhere.apply(clientProperties: ["zookeeper.sasl.client.username": "zk"])
            await expectCode(.authFailed) { try await Self.connect(realm.address, .kerberos(elsewhere)) }
            #expect(try await alice.whoAmI().contains(ClientInfo(authScheme: "sasl", user: realm.alice)))
            await alice.close()
        }
        await realm.stop()
    }

    /// `kerberos.removeRealmFromPrincipal=true`: `zkcli/localhost@REALM` is `sasl:zkcli/localhost`, alice is
    /// `sasl:alice`, on Apache and zkserver alike.
    @Test(arguments: TestServerKind.allCases)
    func theRemoveRealmRuleShortensTheIdentity(_ kind: TestServerKind) async throws {
        let realm = try await Realm(kind, extraConfig: ["kerberos.removeRealmFromPrincipal=true"])
        let zkcliKeytab = try realm.kdc.addPrincipal("zkcli/localhost")
        try await KerberosTestKDC.withEnvironment(realm.environment) {
            let host = try await Self.connect(
                realm.address, .kerberos(.keytab(zkcliKeytab, principal: realm.kdc.principal("zkcli/localhost"))))
            #expect(try await host.whoAmI().contains(ClientInfo(authScheme: "sasl", user: "zkcli/localhost")))
            await host.close()
            let alice = try await Self.connect(
                realm.address, .kerberos(.keytab(realm.aliceKeytab, principal: realm.alice)))
            #expect(try await alice.whoAmI().contains(ClientInfo(authScheme: "sasl", user: "alice")))
            await alice.close()
        }
        await realm.stop()
    }

    /// `security.auth_to_local` rules (Hadoop's syntax, with a `$1` group in a substitution) map alice to carol and
    /// `zkcli/localhost` to `zcli/localhost`; bob matches no rule, so his identity is his whole principal, even with
    /// `kerberos.removeRealmFromPrincipal`. whoami and a `sasl:carol` ACL agree on Apache and zkserver.
    @Test(arguments: TestServerKind.allCases)
    func authToLocalRulesMapThePrincipal(_ kind: TestServerKind) async throws {
        let rules = "RULE:[1:$1](alice)s/alice/carol/ RULE:[2:$1@$0](zkcli@.*)s/(z)k(cli)@.*/$1$2/"
        let realm = try await Realm(
            kind, extraConfig: ["security.auth_to_local=\(rules)", "kerberos.removeRealmFromPrincipal=true"])
        let zkcliKeytab = try realm.kdc.addPrincipal("zkcli/localhost")
        let bobKeytab = try realm.kdc.addPrincipal("bob")
        try await KerberosTestKDC.withEnvironment(realm.environment) {
            let alice = try await Self.connect(
                realm.address, .kerberos(.keytab(realm.aliceKeytab, principal: realm.alice)))
            #expect(try await alice.whoAmI().contains(ClientInfo(authScheme: "sasl", user: "carol")))
            try await alice.create(
                "/carols", data: Array("hers".utf8), acl: [ACL(permissions: .all, id: Id(scheme: "sasl", id: "carol"))])
            #expect(try await alice.getData("/carols").data == Array("hers".utf8))
            await alice.close()

            let host = try await Self.connect(
                realm.address, .kerberos(.keytab(zkcliKeytab, principal: realm.kdc.principal("zkcli/localhost"))))
            #expect(try await host.whoAmI().contains(ClientInfo(authScheme: "sasl", user: "zcli/localhost")))
            await expectCode(.noAuth) { try await host.getData("/carols") }
            await host.close()

            let bob = try await Self.connect(
                realm.address, .kerberos(.keytab(bobKeytab, principal: realm.kdc.principal("bob"))))
            #expect(try await bob.whoAmI().contains(ClientInfo(authScheme: "sasl", user: realm.kdc.principal("bob"))))
            await bob.close()
        }
        await realm.stop()
    }

    @Test func garbageTokensCostOneConnection() async throws {
        let realm = try await Realm(.zkserver)
        let healthy = try #require(RawConnection(port: realm.port, timeout: 10))
        _ = try #require(healthy.handshake())
        for garbage: [UInt8] in [[], Array("not a kerberos token".utf8), [0x60, 0x82, 0xff, 0xff, 0x06]] {
            let connection = try #require(RawConnection(port: realm.port, timeout: 10))
            _ = try #require(connection.handshake())
            let (header, _) = try #require(connection.call(.sasl(token: garbage), xid: 1))
            #expect(header.error == .authFailed, "\(garbage)")
            #expect(connection.isClosedByServer())
        }
        let (who, _) = try #require(healthy.call(.whoAmI, xid: 9))
        #expect(who.error == .ok)
        await realm.stop()
    }

    /// A Kerberos login step that does not return (a hook holds the acceptor's thread, as a keytab on a hung file
    /// system would) stalls only its own connection: meanwhile another client gets a session and an answer. The
    /// request the client pipelined behind its token waits: the SASL answer comes first.
    @Test(.timeLimit(.minutes(2))) func aBlockedAcceptorStallsOnlyItsOwnConnection() async throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let hook = GSSAPIStepHook {
            entered.signal()
            _ = release.wait(timeout: .now() + 30)
        }
        let realm = try await Realm(.zkserver, acceptorHook: hook)
        let blocked = try #require(RawConnection(port: realm.port, timeout: 40))
        _ = try #require(blocked.handshake())
        var frames = ByteBuffer()
        ZooKeeperRequest.sasl(token: Array("not a kerberos token".utf8)).encodeFrame(xid: 1, into: &frames)
        ZooKeeperRequest.whoAmI.encodeFrame(xid: 2, into: &frames)
        #expect(blocked.send(frames))
        #expect(entered.wait(timeout: .now() + 20) == .success, "the acceptor never ran")

        let other = try #require(RawConnection(port: realm.port, timeout: 10))
        #expect(other.handshake() != nil, "a new session waited for another connection's Kerberos step")
        let (who, _) = try #require(other.call(.whoAmI, xid: 1), "a request waited for another connection's login")
        #expect(who.error == .ok)
        release.signal()

        var first = try #require(blocked.readFrame())
        let header = try ReplyHeader(from: &first)
        #expect(header.xid == 1)
        #expect(header.error == .authFailed)
        #expect(blocked.readFrame() == nil, "the request behind the failed login was answered")
        await realm.stop()
    }

    /// The zkserver executable started the way zkServer.sh users start Apache: the JAAS file, krb5.conf and
    /// `auth_to_local` rules as `-D` flags in SERVER_JVMFLAGS. zkcli and Apache's zkCli.sh (JAAS in CLIENT_JVMFLAGS)
    /// log in as alice, whom the rules map to carol.
    @Test(.timeLimit(.minutes(3))) func theZkserverExecutableTakesItsKerberosLoginFromSERVER_JVMFLAGS() async throws {
        try ApacheZooKeeperInstallation.require()
        let kdc = try KerberosTestKDC()
        defer { kdc.stop() }
        let setup = try ApacheSASLKerberosSetup(kdc: kdc)
        let aliceKeytab = try kdc.addPrincipal("alice")
        let port = try TestEnvironment.freePort()
        let flags =
            setup.systemProperties + ["-Dzookeeper.security.auth_to_local=RULE:[1:$1](alice)s/alice/carol/DEFAULT"]
        // No KRB5_CONFIG of another test's: the server must find krb5.conf through -Djava.security.krb5.conf alone.
        let server = try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": nil, "KRB5CCNAME": nil]) {
            try ZKServerProcess(
                port: port, configuration: setup.extraConfig + ["tickTime=2000"],
                logFile: kdc.directory + "/zkserver.log",
                environment: ["SERVER_JVMFLAGS": flags.joined(separator: " ")])
        }
        defer { server.stop() }
        let carol = "carol@" + kdc.realm
        let clientJAAS = kdc.directory + "/client-jaas.conf"
        try """
        Client {
            com.sun.security.auth.module.Krb5LoginModule required
            useKeyTab=true keyTab="\(aliceKeytab)" storeKey=true useTicketCache=false principal="\(kdc.principal("alice"))";
        };

        """.write(toFile: clientJAAS, atomically: true, encoding: .utf8)
        let environment = [
            "CLIENT_JVMFLAGS":
                "-Djava.security.auth.login.config=\(clientJAAS) -Djava.security.krb5.conf=\(kdc.krb5Config)",
            "KRB5_CONFIG": kdc.krb5Config, "ZOO_LOG_DIR": kdc.directory,
        ]
        let address = "localhost:\(port)"
        let ours = try Programs.zkcli(
            server: address, input: "whoami\ncreate /z ours sasl:\(carol):cdrwa\nget /z\n", environment: environment)
        #expect(ours.exitCode == 0, "\(ours.error)")
        #expect(ours.output.contains("sasl: \(carol)"), "\(ours.output)")
        #expect(ours.output.hasSuffix("ours\n"), "\(ours.output)")
        let theirs = try runTool(
            ApacheZooKeeperInstallation.zkCli, ["-server", address, "whoami"], environment: environment, timeout: 60)
        #expect(theirs.lines.contains("sasl: \(carol)"), "\(theirs.output)")
        let read = try runTool(
            ApacheZooKeeperInstallation.zkCli, ["-server", address, "get", "/z"], environment: environment,
            timeout: 60)
        #expect(read.lines.contains("ours"), "\(read.output)")
        let anonymous = try Programs.zkcli(server: address, ["get", "/z"])
        #expect(anonymous.exitCode != 0)
    }

    /// zkcli and Apache's zkCli.sh, configured the same way (a JAAS Client section with alice's keytab in
    /// CLIENT_JVMFLAGS), log into zkserver as alice.
    @Test(.timeLimit(.minutes(3))) func zkcliAndApacheZkCliLogInWithAJAASClientSection() async throws {
        let zkCliPath = ApacheZooKeeperInstallation.zkCli
        guard FileManager.default.isExecutableFile(atPath: zkCliPath) else {
            throw HarnessError("\(zkCliPath) is missing; install it with: apt-get install zookeeper zookeeper-bin")
        }
        let realm = try await Realm(.zkserver)
        let clientJAAS = realm.kdc.directory + "/client-jaas.conf"
        try """
        Client {
            com.sun.security.auth.module.Krb5LoginModule required
            useKeyTab=true
            keyTab="\(realm.aliceKeytab)"
            storeKey=true
            useTicketCache=false
            principal="\(realm.alice)";
        };

        """.write(toFile: clientJAAS, atomically: true, encoding: .utf8)
        let flags = "-Djava.security.auth.login.config=\(clientJAAS) -Djava.security.krb5.conf=\(realm.kdc.krb5Config)"
        let environment = [
            "CLIENT_JVMFLAGS": flags, "KRB5_CONFIG": realm.kdc.krb5Config, "ZOO_LOG_DIR": realm.kdc.directory,
        ]

        let ours = try Programs.zkcli(
            server: realm.address, input: "whoami\ncreate /z ours sasl:\(realm.alice):cdrwa\nget /z\n",
            environment: environment)
        #expect(ours.exitCode == 0, "\(ours.error)")
        #expect(ours.output.contains("sasl: \(realm.alice)"), "\(ours.output)")
        #expect(ours.output.hasSuffix("ours\n"), "\(ours.output)")

        func zkCli(_ arguments: String..., jaas: Bool = true) throws -> ToolResult {
            var variables = environment
            if !jaas { variables["CLIENT_JVMFLAGS"] = nil }
            return try runTool(zkCliPath, ["-server", realm.address] + arguments, environment: variables, timeout: 60)
        }
        var result = try zkCli("whoami")
        #expect(result.lines.contains("sasl: \(realm.alice)"), "\(result.output)")
        result = try zkCli("get", "/z")
        #expect(result.lines.contains("ours"), "\(result.output)")
        result = try zkCli("getAcl", "/z")
        #expect(result.lines.contains("'sasl,'\(realm.alice)"), "\(result.output)")
        result = try zkCli("get", "/z", jaas: false)
        #expect(result.output.contains("Insufficient permission : /z"), "\(result.output)")
        await realm.stop()
    }
}
