import Testing

@testable import ZooKeeper

/// The server principal as Apache's client builds it, and the Kerberos logins JAAS sections give.
struct KerberosLoginTests {
    @Test func theServerPrincipalIsTheServiceSlashTheCanonicalHostAtTheRealm() {
        let login = KerberosLogin.ticketCache()
        let canonical: (String) -> String? = { $0 == "zk1" ? "zk1.example.com" : nil }
        #expect(
            login.serverPrincipalName(host: "zk1", clientRealm: "EXAMPLE.COM", canonicalName: canonical)
                == "zookeeper/zk1.example.com@EXAMPLE.COM")
        // An address without a name keeps the host as written.
        #expect(
            login.serverPrincipalName(host: "10.0.0.7", clientRealm: "EXAMPLE.COM", canonicalName: canonical)
                == "zookeeper/10.0.0.7@EXAMPLE.COM")
    }

    @Test func apachesClientPropertiesChangeTheServerPrincipal() {
        var login = KerberosLogin.ticketCache()
        login.apply(clientProperties: [
            "zookeeper.sasl.client.username": "zk", "zookeeper.server.realm": "SERVERS.ORG",
            "zookeeper.sasl.client.canonicalize.hostname": "false",
        ])
        #expect(
            login.serverPrincipalName(host: "zk1", clientRealm: "USERS.ORG", canonicalName: { _ in "other" })
                == "zk/zk1@SERVERS.ORG")
        login.apply(clientProperties: ["zookeeper.server.principal": "zookeeper/fixed.host"])
        #expect(login.serverPrincipalName(host: "zk1", clientRealm: nil) == "zookeeper/fixed.host@SERVERS.ORG")
        login.apply(clientProperties: ["zookeeper.server.principal": "zookeeper/fixed.host@ELSEWHERE"])
        #expect(login.serverPrincipalName(host: "zk1", clientRealm: nil) == "zookeeper/fixed.host@ELSEWHERE")
    }

    @Test func aKrb5LoginModuleSectionGivesAKerberosLogin() throws {
        let keytab = try JAASConfiguration(
            parsing: """
                Client {
                  com.sun.security.auth.module.Krb5LoginModule required
                  useKeyTab=true keyTab="/etc/alice.keytab" storeKey=true useTicketCache=false
                  principal="alice@EXAMPLE.COM";
                };
                """)
        #expect(
            try SASLCredentials(jaas: keytab) == .kerberos(.keytab("/etc/alice.keytab", principal: "alice@EXAMPLE.COM"))
        )
        let cache = try JAASConfiguration(
            parsing: "Client {\n com.sun.security.auth.module.Krb5LoginModule required useTicketCache=true;\n};")
        #expect(try SASLCredentials(jaas: cache) == .kerberos(.ticketCache()))
        #expect(try SASLCredentials(jaas: cache).description == "GSSAPI as the ticket cache's principal")
    }

    @Test func aKrb5LoginModuleThatWouldPromptForAPasswordIsRefused() throws {
        let jaas = try JAASConfiguration(
            parsing: "Client {\n com.sun.security.auth.module.Krb5LoginModule required principal=\"alice\";\n};",
            source: "jaas.conf")
        #expect(
            throws: JAASConfiguration.Error(
                kind: .unusable,
                message:
                    "jaas.conf: section 'Client': Krb5LoginModule needs useTicketCache=true or useKeyTab=true (a password cannot be prompted for)"
            )
        ) { try SASLCredentials(jaas: jaas) }
    }
}
