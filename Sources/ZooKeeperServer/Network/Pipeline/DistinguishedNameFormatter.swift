import NIOSSL
import SwiftASN1
import X509

/// A certificate subject written as Apache's `X509AuthenticationProvider` writes it: Java's
/// `X500Principal.getName()`, the RFC 2253 form. The most specific part comes first (`CN=app,OU=eng,O=Example`),
/// only RFC 2253's keywords are spelled out, and any other attribute (`emailAddress`, `serialNumber`, ...) is
/// its dotted OID followed by `#` and the hex of its DER encoding.
enum DistinguishedNameFormatter {
    /// Java's RFC 2253 keywords.
    private static let keywords: [ASN1ObjectIdentifier: String] = [
        .RDNAttributeType.commonName: "CN",
        .RDNAttributeType.countryName: "C",
        .RDNAttributeType.localityName: "L",
        .RDNAttributeType.stateOrProvinceName: "ST",
        .RDNAttributeType.organizationName: "O",
        .RDNAttributeType.organizationalUnitName: "OU",
        .RDNAttributeType.streetAddress: "STREET",
        .RDNAttributeType.domainComponent: "DC",
        [0, 9, 2342, 19_200_300, 100, 1, 1]: "UID",
    ]

    /// The subject of `certificate`; its dotted OIDs and hex when it cannot be parsed as X.509.
    static func subject(of certificate: NIOSSLCertificate) -> String {
        guard let bytes = try? certificate.toDERBytes(), let parsed = try? Certificate(derEncoded: bytes) else {
            return ""
        }
        return format(parsed.subject)
    }

    static func format(_ name: DistinguishedName) -> String {
        name.reversed().map { relativeName in
            relativeName.map(format).joined(separator: "+")
        }.joined(separator: ",")
    }

    private static func format(_ attribute: RelativeDistinguishedName.Attribute) -> String {
        if let keyword = keywords[attribute.type], let text = String(attribute.value) {
            return "\(keyword)=\(escaped(text))"
        }
        var serializer = DER.Serializer()
        let encoded = (try? serializer.serialize(ASN1Any(attribute.value))).map { serializer.serializedBytes } ?? []
        let hex = encoded.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
        return "\(attribute.type)=#\(hex)"
    }

    /// RFC 2253 escaping: the special characters anywhere, a leading `#` or space, a trailing space.
    static func escaped(_ text: String) -> String {
        let special: Set<Character> = [",", "+", "\"", "\\", "<", ">", ";"]
        var result = ""
        let characters = Array(text)
        for (index, character) in characters.enumerated() {
            let leading = index == 0 && (character == "#" || character == " ")
            let trailing = index == characters.count - 1 && character == " "
            if special.contains(character) || leading || trailing { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
