import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// Kerberos (SASL GSSAPI) against Apache ZooKeeper 3.8 logging in as `zookeeper/localhost@REALM`, with an MIT
/// KDC each test starts on a free loopback port. The GSS-API library reads `KRB5_CONFIG` and `KRB5CCNAME` from
/// the process environment, so these tests run one at a time and put the environment back.
@Suite(.serialized) struct KerberosInteropTests {
    /// A KDC with the server's principal and alice's, and an Apache server using them.
    final class Realm: Sendable {
        let kdc: KerberosTestKDC
        let server: ApacheZooKeeperStandalone
        let aliceKeytab: String

        init() throws {
            kdc = try KerberosTestKDC()
            let setup = try ApacheSASLKerberosSetup(kdc: kdc)
            aliceKeytab = try kdc.addPrincipal("alice")
            server = try ApacheZooKeeperStandalone(
                extraConfig: setup.extraConfig, systemProperties: setup.systemProperties)
        }

        /// The host part of the server principal: `localhost`, not 127.0.0.1.
        var address: String { "localhost:\(server.port)" }
        var alice: String { kdc.principal("alice") }
    }

    static func connect(_ address: String, _ credentials: SASLCredentials?) async throws(ZooKeeperError)
        -> ZooKeeperClient
    {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(10)
        configuration.sasl = credentials
        return try await ZooKeeperClient.connect(address, configuration: configuration, timeout: .seconds(30))
    }

    @Test func aKeytabLoginGivesTheSessionTheKerberosIdentityThatACLsGrantRightsTo() async throws {
        let realm = try Realm()
        try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": realm.kdc.krb5Config, "KRB5CCNAME": nil]) {
            let alice = try await Self.connect(
                realm.address, .kerberos(.keytab(realm.aliceKeytab, principal: realm.alice)))
            #expect(alice.state == .connected)
            #expect(
                Set(try await alice.whoAmI()) == [
                    ClientInfo(authScheme: "ip", user: "127.0.0.1"), ClientInfo(authScheme: "sasl", user: realm.alice),
                ])
            let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: realm.alice))]
            try await alice.create("/alices", data: Array("mine".utf8), acl: acl)
            #expect(try await alice.getData("/alices").data == Array("mine".utf8))

            let anonymous = try await Self.connect(realm.address, nil)
            await expectError(.noAuth) { try await anonymous.getData("/alices") }
            await anonymous.close()
            await alice.close()
        }
    }

    @Test func aTicketCacheFilledByKinitLogsIn() async throws {
        let realm = try Realm()
        let cache = "FILE:\(realm.kdc.directory)/alice.ccache"
        try realm.kdc.kinit("alice", keytab: realm.aliceKeytab, cache: cache)
        try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": realm.kdc.krb5Config, "KRB5CCNAME": cache]) {
            let alice = try await Self.connect(realm.address, .kerberos(.ticketCache()))
            #expect(try await alice.whoAmI().contains(ClientInfo(authScheme: "sasl", user: realm.alice)))
            await alice.close()
        }
        // The same from a JAAS Client section, as zkcli users write it.
        let jaas = try JAASConfiguration(
            parsing: """
                Client {
                    com.sun.security.auth.module.Krb5LoginModule required
                    useTicketCache=true ticketCache="\(cache)";
                };
                """)
        try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": realm.kdc.krb5Config, "KRB5CCNAME": nil]) {
            let alice = try await Self.connect(realm.address, try SASLCredentials(jaas: jaas))
            #expect(try await alice.whoAmI().contains(ClientInfo(authScheme: "sasl", user: realm.alice)))
            await alice.close()
        }
    }

    @Test func withoutATicketOrWithAnUnknownPrincipalTheClientStopsWithAuthFailedAndTheCause() async throws {
        let realm = try Realm()
        let missing = "FILE:\(realm.kdc.directory)/nobody.ccache"
        try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": realm.kdc.krb5Config, "KRB5CCNAME": missing]) {
            do throws(ZooKeeperError) {
                let client = try await Self.connect(realm.address, .kerberos(.ticketCache()))
                Issue.record("connected without a ticket: \(client.state)")
                await client.close()
            } catch {
                #expect(error.code == .authFailed)
                #expect(
                    error.description.hasPrefix(
                        "SASL GSSAPI authentication failed: Kerberos: no ticket (run kinit, or use a keytab) while reading the ticket cache \(missing)"
                    ), "\(error)")
            }
        }
        // A ticket that has expired: kinit for 2 seconds, then wait (bounded) until klist sees it expired.
        let expiring = "FILE:\(realm.kdc.directory)/expiring.ccache"
        try realm.kdc.kinit("alice", keytab: realm.aliceKeytab, cache: expiring, lifetime: "2s")
        #expect(
            TestEnvironment.waitUntil(timeout: 30) {
                (try? Programs.run("/usr/bin/klist", ["-s", "-c", expiring], environment: realm.kdc.environment))?
                    .exitCode == 1
            })
        try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": realm.kdc.krb5Config, "KRB5CCNAME": expiring]) {
            do throws(ZooKeeperError) {
                let client = try await Self.connect(realm.address, .kerberos(.ticketCache()))
                Issue.record("connected with an expired ticket: \(client.state)")
                await client.close()
            } catch {
                #expect(error.code == .authFailed)
                #expect(error.description.contains("Kerberos: the ticket has expired (run kinit again)"), "\(error)")
            }
        }
        // A keytab whose principal the KDC no longer knows.
        let bobKeytab = try realm.kdc.addPrincipal("bob")
        try realm.kdc.kadmin("delprinc -force \(realm.kdc.principal("bob"))")
        try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": realm.kdc.krb5Config, "KRB5CCNAME": nil]) {
            do throws(ZooKeeperError) {
                let client = try await Self.connect(
                    realm.address, .kerberos(.keytab(bobKeytab, principal: realm.kdc.principal("bob"))))
                Issue.record("connected as a deleted principal: \(client.state)")
                await client.close()
            } catch {
                #expect(error.code == .authFailed)
                #expect(error.description.contains("Kerberos: the KDC does not know the client principal"), "\(error)")
            }
        }
        // A server principal the KDC does not know (zookeeper.sasl.client.username=zk).
        var login = KerberosLogin.keytab(realm.aliceKeytab, principal: realm.alice)
        login.apply(clientProperties: ["zookeeper.sasl.client.username": "zk"])
        try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": realm.kdc.krb5Config, "KRB5CCNAME": nil]) {
            do throws(ZooKeeperError) {
                let client = try await Self.connect(realm.address, .kerberos(login))
                Issue.record("connected to an unknown service principal: \(client.state)")
                await client.close()
            } catch {
                #expect(error.code == .authFailed)
                #expect(
                    error.description.contains(
                        "Kerberos: the KDC does not know the server principal zk/localhost@\(realm.kdc.realm)"),
                    "\(error)")
            }
        }
    }

    /// Failover in a 3-node Apache ensemble whose members all log in as `zookeeper/localhost`: the member the
    /// client is connected to is killed, the client moves to another one, logs in with Kerberos again before
    /// anything else, and still reads the znode only alice may read; the session is the same. Apache's zkCli.sh,
    /// logged in the same way, reads it from the surviving members too.
    @Test(.timeLimit(.minutes(5))) func afterItsMemberIsKilledTheClientLogsInOnAnotherAndStillReadsItsZnode()
        async throws
    {
        let kdc = try KerberosTestKDC()
        defer { kdc.stop() }
        let setup = try ApacheSASLKerberosSetup(kdc: kdc)
        let aliceKeytab = try kdc.addPrincipal("alice")
        let alicePrincipal = kdc.principal("alice")
        let ensemble = try ApacheZooKeeperEnsemble(
            extraConfig: setup.extraConfig, systemProperties: setup.systemProperties)
        defer { ensemble.stopAll(signal: SIGKILL) }
        // The host part of the server principal: localhost, not 127.0.0.1.
        let connectString = ensemble.servers.map { "localhost:\($0.clientPort)" }.joined(separator: ",")
        try await KerberosTestKDC.withEnvironment(["KRB5_CONFIG": kdc.krb5Config, "KRB5CCNAME": nil]) {
            let alice = try await Self.connect(
                connectString, .kerberos(.keytab(aliceKeytab, principal: alicePrincipal)))
            let events = EventRecorder(alice.connectionEvents)
            #expect(await events.next() == .connecting)
            #expect(await events.next() == .connected)
            let sessionID = alice.sessionID
            let acl = [ACL(permissions: .all, id: Id(scheme: "sasl", id: alicePrincipal))]
            try await alice.create("/alices", data: Array("mine".utf8), acl: acl)

            let port = try #require(alice.currentServer?.port)
            let killed = try #require(ensemble.server(port: port))
            killed.stop(signal: SIGKILL)
            #expect(await events.next(within: .seconds(60)) == .disconnected)
            #expect(await events.next(within: .seconds(60)) == .reconnected)
            #expect(alice.currentServer?.port != port)
            #expect(alice.sessionID == sessionID)
            #expect(try await alice.whoAmI().contains(ClientInfo(authScheme: "sasl", user: alicePrincipal)))
            #expect(try await alice.getData("/alices").data == Array("mine".utf8))
            await alice.close()

            let clientJAAS = kdc.directory + "/client-jaas.conf"
            try """
            Client {
                com.sun.security.auth.module.Krb5LoginModule required
                useKeyTab=true keyTab="\(aliceKeytab)" storeKey=true useTicketCache=false principal="\(alicePrincipal)";
            };

            """.write(toFile: clientJAAS, atomically: true, encoding: .utf8)
            let survivors = ensemble.servers.filter { $0.clientPort != port }.map { "localhost:\($0.clientPort)" }
            let zkCli = try Programs.run(
                ApacheZooKeeperInstallation.zkCli, ["-server", survivors.joined(separator: ","), "get", "/alices"],
                environment: [
                    "CLIENT_JVMFLAGS":
                        "-Djava.security.auth.login.config=\(clientJAAS) -Djava.security.krb5.conf=\(kdc.krb5Config)",
                    "ZOO_LOG_DIR": kdc.directory,
                ])
            #expect(zkCli.output.split(separator: "\n").contains("mine"), "\(zkCli.output)")
        }
    }
}
