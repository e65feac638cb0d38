import NIOSSL
import SwiftASN1
import Testing
import X509

@testable import ZooKeeperServer

/// Subjects written as Java's `X500Principal.getName()` writes them (what Apache's x509 ids are). The names are
/// built and encoded with swift-certificates, which the server itself no longer links.
struct DistinguishedNameFormatterTests {
    private func formatted(_ name: DistinguishedName) throws -> String? {
        var serializer = DER.Serializer()
        try serializer.serialize(name)
        var reader = DERReader(serializer.serializedBytes[...])
        let outer = reader.next()
        let sequence = try #require(outer)
        return DistinguishedNameFormatter.format(nameContents: sequence.contents)
    }

    @Test func mostSpecificFirstWithCommasAndNoSpaces() throws {
        let name = try DistinguishedName {
            CountryName("US")
            OrganizationName("Example Inc")
            OrganizationalUnitName("eng")
            CommonName("app")
        }
        #expect(try formatted(name) == "CN=app,OU=eng,O=Example Inc,C=US")
    }

    @Test func attributesWithoutAnRFC2253KeywordAreTheirOIDAndHex() throws {
        let name = try DistinguishedName {
            CommonName("app")
            EmailAddress("a@b.c")
        }
        // IA5String (0x16), length 5, "a@b.c".
        #expect(try formatted(name) == "1.2.840.113549.1.9.1=#16056140622e63,CN=app")
    }

    @Test func theKeywordsOfRFC2253AndTheDomainComponents() throws {
        var name = try DistinguishedName {
            DomainComponent("org")
            DomainComponent("example")
            LocalityName("Paris")
            StateOrProvinceName("IDF")
            StreetAddress("1 rue, de la Paix")
        }
        let userID = RelativeDistinguishedName.Attribute(type: [0, 9, 2342, 19_200_300, 100, 1, 1], utf8String: "u1")
        name = DistinguishedName(Array(name) + [RelativeDistinguishedName(userID)])
        #expect(try formatted(name) == "UID=u1,STREET=1 rue\\, de la Paix,ST=IDF,L=Paris,DC=example,DC=org")
    }

    @Test func theSubjectOfACertificateAndNotItsIssuer() throws {
        // Signed by the test CA (another subject), made by openssl from "/C=US/O=Example, Inc./OU=apps/CN=rich/
        // emailAddress=rich@example.com"; TLSApacheComparisonTests checks the same subject against Apache's.
        let fixture = try TLSFixture.make()
        let certificate = try NIOSSLCertificate(file: fixture.clientFiles("rich").certificate, format: .pem)
        #expect(
            DistinguishedNameFormatter.subject(of: certificate)
                == "1.2.840.113549.1.9.1=#161072696368406578616d706c652e636f6d,CN=rich,OU=apps,O=Example\\, Inc.,C=US")
        let bytes = try certificate.toDERBytes()
        #expect(DistinguishedNameFormatter.subject(ofDER: Array(bytes.prefix(bytes.count / 2))) == nil)
    }

    @Test func specialCharactersAreEscaped() {
        #expect(DistinguishedNameFormatter.escaped("a,b+c") == "a\\,b\\+c")
        #expect(DistinguishedNameFormatter.escaped("#x ") == "\\#x\\ ")
        #expect(DistinguishedNameFormatter.escaped("plain") == "plain")
    }
}
