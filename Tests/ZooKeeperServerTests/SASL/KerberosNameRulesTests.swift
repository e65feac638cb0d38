import Foundation
import Testing
import ZooKeeperServer

/// `zookeeper.security.auth_to_local` as Apache's KerberosName reads and applies it; the end-to-end comparison
/// with Apache is `KerberosServerTests.authToLocalRulesMapThePrincipal`.
@Suite struct KerberosNameRulesTests {
    func shortName(_ rules: String, _ components: [String], realm: String = "EXAMPLE.COM") throws -> String? {
        try KerberosNameRules(rules).shortName(components: components, realm: realm, defaultRealm: "EXAMPLE.COM")
    }

    @Test func theDefaultRuleStripsOnlyTheDefaultRealm() throws {
        #expect(try shortName("DEFAULT", ["alice"]) == "alice")
        #expect(try shortName("DEFAULT", ["zookeeper", "host"]) == "zookeeper")
        #expect(try shortName("DEFAULT", ["alice"], realm: "OTHER.ORG") == nil)
        #expect(KerberosNameRules.default.shortName(components: ["alice"], realm: "R", defaultRealm: nil) == nil)
    }

    @Test func rulesFormatMatchAndSubstitute() throws {
        #expect(try shortName("RULE:[1:$1@$0](.*@OTHER.ORG)s/@.*//", ["joe"], realm: "OTHER.ORG") == "joe")
        #expect(try shortName("RULE:[2:$1](johndoe)s/^.*$/guest/", ["johndoe", "host"]) == "guest")
        #expect(try shortName("RULE:[2:$1;$2](^.*;admin$)s/;admin$//", ["joe", "admin"]) == "joe")
        #expect(try shortName("RULE:[2:$1;$2](^.*;admin$)s/;admin$//", ["joe", "web"]) == nil)
        // Groups in the replacement, and g for every occurrence.
        #expect(try shortName("RULE:[1:$1](.*)s/(a)(l)/$2$1/g", ["alal"]) == "lala")
        #expect(try shortName("RULE:[1:$1](.*)s/(a)(l)/$2$1/", ["alal"]) == "laal")
        // No substitution: the formatted name itself.
        #expect(try shortName("RULE:[1:$1]", ["alice"]) == "alice")
    }

    @Test func theFirstRuleThatAppliesDecides() throws {
        let rules = "RULE:[2:$1](hbase)s/.*/hbase-user/\n  RULE:[1:$1](bob)s/bob/robert/ DEFAULT"
        #expect(try shortName(rules, ["hbase", "node1"]) == "hbase-user")
        #expect(try shortName(rules, ["bob"]) == "robert")
        #expect(try shortName(rules, ["carol"]) == "carol")
    }

    @Test func aNameThatIsNotSimpleOrABadFormatMapsNothing() throws {
        #expect(try shortName("RULE:[1:$1@$0] DEFAULT", ["alice"]) == nil)
        #expect(try shortName("RULE:[1:$3] DEFAULT", ["alice"]) == nil)
        #expect(try shortName("RULE:[1:$] DEFAULT", ["alice"]) == nil)
        // A rule for another number of components is skipped.
        #expect(try shortName("RULE:[2:$3] DEFAULT", ["alice"]) == "alice")
    }

    @Test(arguments: ["RULE:[x:$1]", "NONSENSE", "DEFAULT RULE:[1:$1", "RULE:[1:$1](a[)", "RULE:[1:$1]s/(/x/"])
    func aMalformedRuleIsOneLine(_ rules: String) {
        #expect(throws: ZooCfg.Failure.self) { try KerberosNameRules(rules) }
    }

    @Test func zooCfgReadsTheRulesAndNamesTheLineOfABadOne() throws {
        let parsed = try ZooCfg.parse("clientPort=0\nsecurity.auth_to_local=RULE:[1:$1](a)s/a/b/ DEFAULT\n")
        #expect(parsed.configuration.sasl.authToLocal.description == "RULE:[1:$1](a)s/a/b/ DEFAULT")
        #expect(throws: ZooCfg.Failure("line 2: zookeeper.security.auth_to_local: invalid rule: RULE:[")) {
            try ZooCfg.parse("clientPort=0\nzookeeper.security.auth_to_local=RULE:[\n")
        }
    }

    @Test func theIdentityAddsHostAndRealmToTheShortNameUnlessRemoved() throws {
        var settings = SASLSettings()
        settings.defaultRealm = "EXAMPLE.COM"
        settings.authToLocal = try KerberosNameRules("RULE:[2:$1](svc)s/svc/service/ DEFAULT")
        #expect(settings.saslIdentity(ofPrincipal: "svc/host@EXAMPLE.COM") == "service/host@EXAMPLE.COM")
        #expect(settings.saslIdentity(ofPrincipal: "alice@EXAMPLE.COM") == "alice@EXAMPLE.COM")
        // No rule maps a principal of another realm: the identity is the principal, whatever is removed.
        settings.removeRealmFromPrincipal = true
        settings.removeHostFromPrincipal = true
        #expect(settings.saslIdentity(ofPrincipal: "svc/host@EXAMPLE.COM") == "service")
        #expect(settings.saslIdentity(ofPrincipal: "alice@OTHER.ORG") == "alice@OTHER.ORG")
    }

    @Test func theDefaultRealmComesFromTheLibdefaultsOfTheFirstFileThatHasOne() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("krb5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = directory.appendingPathComponent("a.conf").path
        let second = directory.appendingPathComponent("b.conf").path
        try "[realms]\n default_realm = NOT.THIS\n".write(toFile: first, atomically: true, encoding: .utf8)
        try "# site\n[libdefaults]\n  dns_lookup_kdc = false\n  default_realm = EXAMPLE.COM\n[realms]\n"
            .write(toFile: second, atomically: true, encoding: .utf8)
        #expect(SASLSettings.readDefaultRealm(krb5Config: "\(first):\(second)") == "EXAMPLE.COM")
        #expect(SASLSettings.readDefaultRealm(krb5Config: first) == nil)
        #expect(SASLSettings.readDefaultRealm(krb5Config: directory.appendingPathComponent("none").path) == nil)
    }
}
