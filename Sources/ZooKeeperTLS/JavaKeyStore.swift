import ZooKeeperProtocol

/// The contents of a Java KeyStore (JKS) file, Java's own store format (`keytool -storetype JKS`, and most
/// trust stores made before Java 9).
///
/// The format (Sun's `JavaKeyStore`, big-endian throughout):
/// magic `FEEDFEED`, version (1 or 2), entry count, then per entry a tag (1 = private key, 2 = trusted
/// certificate), the alias (Java's modified UTF-8 with a 2-byte length) and a millisecond timestamp.
/// A private-key entry holds a protected PKCS#8 key (length-prefixed) and its certificate chain; a trusted
/// entry holds one certificate. In version 2 each certificate is preceded by its type name ("X.509").
/// The file ends with SHA-1(password as UTF-16BE, "Mighty Aphrodite", every byte before the digest).
struct JavaKeyStore {
    struct PrivateKeyEntry {
        var alias: String
        /// `EncryptedPrivateKeyInfo` (DER) protected with Sun's key protector.
        var protectedKey: [UInt8]
        /// DER certificates, the entry's own first.
        var certificateChain: [[UInt8]]
    }

    struct TrustedCertificateEntry {
        var alias: String
        var certificate: [UInt8]
    }

    enum ParseError: Error, Equatable {
        case notJavaKeyStore
        case truncated
        case unsupportedVersion(UInt32)
        case unsupportedEntry(tag: UInt32)
        case unsupportedCertificateType(String)
        case integrityCheckFailed
    }

    static let magic: UInt32 = 0xFEED_FEED

    var privateKeys: [PrivateKeyEntry] = []
    var trustedCertificates: [TrustedCertificateEntry] = []

    /// True when `bytes` start as a JKS file does.
    static func looksLikeJavaKeyStore(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && bytes[0] == 0xFE && bytes[1] == 0xED && bytes[2] == 0xFE && bytes[3] == 0xED
    }

    /// Parses a store; with a password, checks the store's integrity digest first (as Java's
    /// `KeyStore.load(stream, password)` does); without one, skips the check (as `load(stream, null)` does).
    init(bytes: [UInt8], password: String?) throws(ParseError) {
        var reader = Reader(bytes: bytes)
        guard try reader.readUInt32() == Self.magic else { throw .notJavaKeyStore }
        let version = try reader.readUInt32()
        guard version == 1 || version == 2 else { throw .unsupportedVersion(version) }
        let count = try reader.readUInt32()
        for _ in 0..<count {
            let tag = try reader.readUInt32()
            let alias = try reader.readJavaUTF()
            _ = try reader.readBytes(8)  // creation date
            switch tag {
            case 1:
                let keyLength = try reader.readUInt32()
                let protectedKey = try reader.readBytes(Int(keyLength))
                let chainLength = try reader.readUInt32()
                var chain: [[UInt8]] = []
                for _ in 0..<chainLength {
                    chain.append(try reader.readCertificate(version: version))
                }
                privateKeys.append(PrivateKeyEntry(alias: alias, protectedKey: protectedKey, certificateChain: chain))
            case 2:
                trustedCertificates.append(
                    TrustedCertificateEntry(alias: alias, certificate: try reader.readCertificate(version: version)))
            default:
                // 3 is a secret-key entry, which only JCEKS stores hold.
                throw .unsupportedEntry(tag: tag)
            }
        }
        let signedLength = reader.offset
        let digest = try reader.readBytes(20)
        if let password {
            let expected = SHA1.hash(
                Self.passwordBytes(password) + Array("Mighty Aphrodite".utf8) + bytes[0..<signedLength])
            guard expected == digest else { throw .integrityCheckFailed }
        }
    }

    /// Java turns a password into bytes as UTF-16 code units, big-endian, for both the store digest and the key
    /// protector.
    static func passwordBytes(_ password: String) -> [UInt8] {
        password.utf16.flatMap { unit in [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
    }

    enum KeyRecoveryError: Error, Equatable {
        case malformed
        case unsupportedProtection
        case wrongPassword
    }

    /// The object identifier of Sun's key protector (1.3.6.1.4.1.42.2.17.1.1), DER content bytes.
    private static let keyProtectorOID: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x11, 0x01, 0x01]

    /// Recovers the PKCS#8 `PrivateKeyInfo` (DER) from a protected key.
    ///
    /// Sun's key protector: the encrypted data is a 20-byte salt, the key XORed with a keystream, and a 20-byte
    /// check. The keystream is SHA-1 chained from the salt: d1 = SHA1(pw ‖ salt), d2 = SHA1(pw ‖ d1), …; the check
    /// is SHA1(pw ‖ plain key), which is how a wrong password is told apart.
    static func recoverPrivateKey(_ protectedKey: [UInt8], password: String) throws(KeyRecoveryError) -> [UInt8] {
        // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
        var outer = DERReader(protectedKey)
        guard var info = outer.read(tag: 0x30) else { throw .malformed }
        guard var algorithm = info.read(tag: 0x30), let oid = algorithm.read(tag: 0x06) else { throw .malformed }
        guard oid.bytes.elementsEqual(keyProtectorOID) else { throw .unsupportedProtection }
        guard let content = info.read(tag: 0x04)?.bytes, content.count >= 40 else { throw .malformed }
        let encrypted = Array(content)

        let salt = Array(encrypted[0..<20])
        let cipherText = Array(encrypted[20..<(encrypted.count - 20)])
        let check = Array(encrypted[(encrypted.count - 20)...])
        let passwordBytes = passwordBytes(password)

        var plain = [UInt8]()
        plain.reserveCapacity(cipherText.count)
        var digest = salt
        while plain.count < cipherText.count {
            digest = SHA1.hash(passwordBytes + digest)
            for byte in digest where plain.count < cipherText.count {
                plain.append(cipherText[plain.count] ^ byte)
            }
        }
        guard SHA1.hash(passwordBytes + plain) == check else { throw .wrongPassword }
        return plain
    }
}

extension JavaKeyStore {
    fileprivate struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func readBytes(_ count: Int) throws(ParseError) -> [UInt8] {
            guard count >= 0, bytes.count - offset >= count else { throw .truncated }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func readUInt32() throws(ParseError) -> UInt32 {
            try readBytes(4).reduce(0) { ($0 << 8) | UInt32($1) }
        }

        mutating func readUInt16() throws(ParseError) -> Int {
            try readBytes(2).reduce(0) { ($0 << 8) | Int($1) }
        }

        /// Java's `DataInput.readUTF`: a 2-byte length, then modified UTF-8 (which differs from UTF-8 only for NUL
        /// and characters outside the BMP, neither of which matters for an alias we only show).
        mutating func readJavaUTF() throws(ParseError) -> String {
            let length = try readUInt16()
            return String(decoding: try readBytes(length), as: UTF8.self)
        }

        mutating func readCertificate(version: UInt32) throws(ParseError) -> [UInt8] {
            if version == 2 {
                let type = try readJavaUTF()
                guard type == "X.509" else { throw .unsupportedCertificateType(type) }
            }
            let length = try readUInt32()
            return try readBytes(Int(length))
        }
    }
}

/// Reads DER tag-length-value items, enough for the few structures the stores wrap keys in.
struct DERReader {
    private(set) var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }
    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    /// The next item's content if its tag is `tag`; nil (and nothing consumed) otherwise or if it is truncated.
    mutating func read(tag: UInt8) -> DERReader? {
        var cursor = bytes.startIndex
        guard cursor < bytes.endIndex, bytes[cursor] == tag else { return nil }
        cursor += 1
        guard cursor < bytes.endIndex else { return nil }
        var length = Int(bytes[cursor])
        cursor += 1
        if length & 0x80 != 0 {
            let lengthBytes = length & 0x7F
            guard lengthBytes > 0, lengthBytes <= 4, bytes.endIndex - cursor >= lengthBytes else { return nil }
            length = 0
            for _ in 0..<lengthBytes {
                length = (length << 8) | Int(bytes[cursor])
                cursor += 1
            }
        }
        guard bytes.endIndex - cursor >= length else { return nil }
        let content = bytes[cursor..<(cursor + length)]
        bytes = bytes[(cursor + length)...]
        return DERReader(content)
    }
}
