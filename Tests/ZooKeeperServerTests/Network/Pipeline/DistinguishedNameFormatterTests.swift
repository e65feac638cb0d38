import Testing
import X509

@testable import ZooKeeperServer

/// Subjects written as Java's `X500Principal.getName()` writes them (what Apache's x509 ids are).
struct DistinguishedNameFormatterTests {
    @Test func mostSpecificFirstWithCommasAndNoSpaces() throws {
        let name = try DistinguishedName {
            CountryName("US")
            OrganizationName("Example Inc")
            OrganizationalUnitName("eng")
            CommonName("app")
        }
        #expect(DistinguishedNameFormatter.format(name) == "CN=app,OU=eng,O=Example Inc,C=US")
    }

    @Test func attributesWithoutAnRFC2253KeywordAreTheirOIDAndHex() throws {
        let name = try DistinguishedName {
            CommonName("app")
            EmailAddress("a@b.c")
        }
        // IA5String (0x16), length 5, "a@b.c".
        #expect(DistinguishedNameFormatter.format(name) == "1.2.840.113549.1.9.1=#16056140622e63,CN=app")
    }

    @Test func specialCharactersAreEscaped() {
        #expect(DistinguishedNameFormatter.escaped("a,b+c") == "a\\,b\\+c")
        #expect(DistinguishedNameFormatter.escaped("#x ") == "\\#x\\ ")
        #expect(DistinguishedNameFormatter.escaped("plain") == "plain")
    }
}
