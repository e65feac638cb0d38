import NIOSSL

/// A certificate subject written as Apache's `X509AuthenticationProvider` writes it: Java's
/// `X500Principal.getName()`, the RFC 2253 form. The most specific part comes first (`CN=app,OU=eng,O=Example`),
/// only RFC 2253's keywords are spelled out, and any other attribute (`emailAddress`, `serialNumber`, ...) is
/// its dotted OID followed by `#` and the hex of its DER encoding.
///
/// The subject is read from the certificate's DER with a reader of the few constructs a Name has, not with
/// swift-certificates: linking X509, Crypto, SwiftASN1 and FoundationEssentials for this one field added 2,300
/// protocol-conformance records to every program that links the server (zkcli too, for `--embedded`), and the
/// Swift runtime scans all of them at each first dynamic cast (BENCHMARKS.md, issue 17).
enum DistinguishedNameFormatter {
    /// Java's RFC 2253 keywords, by the DER content of their OIDs.
    private static let keywords: [[UInt8]: String] = [
        [0x55, 0x04, 0x03]: "CN",  // 2.5.4.3
        [0x55, 0x04, 0x06]: "C",  // 2.5.4.6
        [0x55, 0x04, 0x07]: "L",  // 2.5.4.7
        [0x55, 0x04, 0x08]: "ST",  // 2.5.4.8
        [0x55, 0x04, 0x0A]: "O",  // 2.5.4.10
        [0x55, 0x04, 0x0B]: "OU",  // 2.5.4.11
        [0x55, 0x04, 0x09]: "STREET",  // 2.5.4.9
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x19]: "DC",  // 0.9.2342.19200300.100.1.25
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xF2, 0x2C, 0x64, 0x01, 0x01]: "UID",  // 0.9.2342.19200300.100.1.1
    ]

    /// The subject of `certificate`; "" when its DER does not hold one.
    static func subject(of certificate: NIOSSLCertificate) -> String {
        guard let bytes = try? certificate.toDERBytes() else { return "" }
        return subject(ofDER: bytes) ?? ""
    }

    /// The subject of a DER-encoded X.509 certificate: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
    /// [0] version OPTIONAL, serialNumber, signature, issuer, validity, subject, ... }, ... }.
    static func subject(ofDER certificate: [UInt8]) -> String? {
        var reader = DERReader(certificate[...])
        guard let outer = reader.next(), outer.tag == DERReader.sequence else { return nil }
        var outerContents = DERReader(outer.contents)
        guard let tbs = outerContents.next(), tbs.tag == DERReader.sequence else { return nil }
        var fields = DERReader(tbs.contents)
        guard let first = fields.next() else { return nil }
        // After the optional [0] EXPLICIT version: the serial number, signature algorithm, issuer and validity.
        let skipped = first.tag == 0xA0 ? 4 : 3
        for _ in 0..<skipped { guard fields.next() != nil else { return nil } }
        guard let subject = fields.next(), subject.tag == DERReader.sequence else { return nil }
        return format(nameContents: subject.contents)
    }

    /// A Name's RDNSequence content (SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }), in RFC 2253 order.
    static func format(nameContents: ArraySlice<UInt8>) -> String? {
        var names = DERReader(nameContents)
        var relativeNames: [String] = []
        while !names.atEnd {
            guard let set = names.next(), set.tag == DERReader.set else { return nil }
            var members = DERReader(set.contents)
            var attributes: [DERReader.Element] = []
            while !members.atEnd {
                guard let attribute = members.next(), attribute.tag == DERReader.sequence else { return nil }
                attributes.append(attribute)
            }
            // A multi-valued RDN in the order of its DER encodings, as a SET OF is kept.
            attributes.sort { precedesInSetOf($0.encoding, $1.encoding) }
            var texts: [String] = []
            for attribute in attributes {
                guard let text = format(attributeContents: attribute.contents) else { return nil }
                texts.append(text)
            }
            relativeNames.append(texts.joined(separator: "+"))
        }
        return relativeNames.reversed().joined(separator: ",")
    }

    private static func format(attributeContents: ArraySlice<UInt8>) -> String? {
        var parts = DERReader(attributeContents)
        guard let type = parts.next(), type.tag == DERReader.objectIdentifier, let value = parts.next(), parts.atEnd,
            let dotted = dottedOID(type.contents)
        else { return nil }
        if let keyword = keywords[Array(type.contents)], let text = directoryString(value) {
            return "\(keyword)=\(escaped(text))"
        }
        let hex = value.encoding.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
        return "\(dotted)=#\(hex)"
    }

    /// The text of a UTF8String, a PrintableString or an IA5String with only the characters its type allows;
    /// nil for any other value (written as hex).
    private static func directoryString(_ value: DERReader.Element) -> String? {
        switch value.tag {
        case 0x0C:  // UTF8String
            return String(decoding: value.contents, as: UTF8.self)
        case 0x13:  // PrintableString
            let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'()+-?:/= ,.".utf8)
            guard value.contents.allSatisfy({ allowed.contains($0) }) else { return nil }
            return String(decoding: value.contents, as: UTF8.self)
        case 0x16:  // IA5String
            guard value.contents.allSatisfy({ $0 < 128 }) else { return nil }
            return String(decoding: value.contents, as: UTF8.self)
        default:
            return nil
        }
    }

    /// `1.2.840.113549.1.9.1` from an OID's content octets: the first two arcs share the first number.
    private static func dottedOID(_ contents: ArraySlice<UInt8>) -> String? {
        var numbers: [UInt64] = []
        var current: UInt64 = 0
        for byte in contents {
            guard current >> 57 == 0 else { return nil }
            current = current << 7 | UInt64(byte & 0x7F)
            if byte & 0x80 == 0 {
                numbers.append(current)
                current = 0
            }
        }
        guard let first = numbers.first, contents.last.map({ $0 & 0x80 == 0 }) == true else { return nil }
        let head: [UInt64] = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80]
        return (head + numbers.dropFirst()).map { String($0) }.joined(separator: ".")
    }

    /// DER's order of a SET OF: by encoding, byte by byte; a prefix first unless the rest of the longer is zeros.
    private static func precedesInSetOf(_ left: ArraySlice<UInt8>, _ right: ArraySlice<UInt8>) -> Bool {
        for (leftByte, rightByte) in zip(left, right) where leftByte != rightByte {
            return leftByte < rightByte
        }
        return !right.dropFirst(left.count).allSatisfy { $0 == 0 }
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

/// The elements of a DER encoding, one after another: single-byte tags and definite lengths, as DER has them.
struct DERReader {
    static let sequence: UInt8 = 0x30
    static let set: UInt8 = 0x31
    static let objectIdentifier: UInt8 = 0x06

    struct Element {
        let tag: UInt8
        let contents: ArraySlice<UInt8>
        /// Tag, length and contents.
        let encoding: ArraySlice<UInt8>
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    var atEnd: Bool { bytes.isEmpty }

    /// The next element; nil at the end or when the encoding is malformed.
    mutating func next() -> Element? {
        guard let tag = bytes.first, tag & 0x1F != 0x1F, bytes.count >= 2 else { return nil }
        var index = bytes.startIndex + 1
        let first = bytes[index]
        index += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7F)
            guard count >= 1, count <= 4, bytes.endIndex - index >= count else { return nil }
            for _ in 0..<count {
                length = length << 8 | Int(bytes[index])
                index += 1
            }
        }
        guard bytes.endIndex - index >= length else { return nil }
        let element = Element(
            tag: tag, contents: bytes[index..<index + length], encoding: bytes[bytes.startIndex..<index + length])
        bytes = bytes[(index + length)...]
        return element
    }
}
