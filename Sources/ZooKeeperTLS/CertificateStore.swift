import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The store formats users keep certificates and keys in.
public enum StoreType: String, Sendable, Hashable, CaseIterable {
    /// PEM text: certificates, and for a key store the private key (optionally encrypted) in the same file.
    case pem = "PEM"
    /// PKCS#12 (`.p12`, `.pfx`), as made by `openssl pkcs12 -export` or `keytool -storetype PKCS12`.
    case pkcs12 = "PKCS12"
    /// Java KeyStore, as made by `keytool -storetype JKS`.
    case jks = "JKS"

    /// The type a store setting names (case-insensitive, as Apache's `KeyStoreFileType.fromPropertyValue`), or,
    /// when the setting is empty, the one its file name's extension implies (`.jks`, `.p12`/`.pfx`/`.pkcs12`,
    /// `.pem`/`.crt`). BCFKS, unknown names and unknown extensions are errors naming `setting`.
    public static func resolve(named name: String?, path: String, setting: String) throws(TLSError) -> StoreType {
        if let name, !name.isEmpty {
            let upper = name.uppercased()
            if let type = StoreType(rawValue: upper) { return type }
            if upper == "BCFKS" {
                throw TLSError(
                    .unsupportedStoreType, "\(setting): store type BCFKS is not supported (use PEM, PKCS12 or JKS)")
            }
            throw TLSError(.unsupportedStoreType, "\(setting): unknown store type '\(name)' (use PEM, PKCS12 or JKS)")
        }
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        guard let dot = fileName.lastIndex(of: ".") else {
            throw TLSError(
                .unsupportedStoreType, "\(setting): cannot tell the store type of '\(path)' from its name; set its type"
            )
        }
        switch fileName[fileName.index(after: dot)...].lowercased() {
        case "jks": return .jks
        case "p12", "pfx", "pkcs12": return .pkcs12
        case "pem", "crt": return .pem
        case "bcfks":
            throw TLSError(
                .unsupportedStoreType, "\(setting): store type BCFKS is not supported (use PEM, PKCS12 or JKS)")
        default:
            throw TLSError(
                .unsupportedStoreType, "\(setting): cannot tell the store type of '\(path)' from its name; set its type"
            )
        }
    }
}

/// A certificate and the private key that goes with it, with the certificates that chain it to its CA.
public struct TLSIdentity: Sendable {
    /// The identity's own certificate first.
    public var certificateChain: [NIOSSLCertificate]
    public var privateKey: NIOSSLPrivateKey

    public init(certificateChain: [NIOSSLCertificate], privateKey: NIOSSLPrivateKey) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }
}

/// A store file as a user names it: where it is, its password, its type (guessed from the name when nil), and the
/// setting it came from, which every error names.
public struct CertificateStore: Sendable, Hashable {
    public var path: String
    public var password: String?
    public var type: StoreType?
    /// For a PEM key store whose key lives in a file of its own; nil when the key is in `path`, as Apache expects.
    public var privateKeyPath: String?
    /// The setting to name in errors, e.g. `zookeeper.ssl.trustStore.location`.
    public var setting: String

    public init(
        path: String, password: String? = nil, type: StoreType? = nil, privateKeyPath: String? = nil,
        setting: String = "store"
    ) {
        self.path = path
        self.password = password
        self.type = type
        self.privateKeyPath = privateKeyPath
        self.setting = setting
    }

    /// The type set, or the one the file name implies.
    public func resolvedType() throws(TLSError) -> StoreType {
        if let type { return type }
        return try StoreType.resolve(named: nil, path: path, setting: setting)
    }

    // MARK: Trust

    /// The certificates this store trusts: every certificate of a PEM file or of a PKCS#12 file; a JKS file's
    /// trusted-certificate entries and the own certificate of each of its key entries (as Java's trust manager
    /// takes them).
    public func trustedCertificates() throws(TLSError) -> [NIOSSLCertificate] {
        let bytes = try TLSFile.read(path, setting: setting)
        let certificates: [NIOSSLCertificate]
        switch try effectiveType(of: bytes) {
        case .pem:
            certificates = try pemCertificates(bytes)
        case .pkcs12:
            certificates = try makeCertificates(try openPKCS12(bytes).certificates)
        case .jks:
            let store = try openJKS(bytes)
            let ders =
                store.trustedCertificates.map(\.certificate) + store.privateKeys.compactMap(\.certificateChain.first)
            certificates = try makeCertificates(ders)
        }
        guard !certificates.isEmpty else {
            throw TLSError(.noCertificate, "\(setting): \(path) holds no certificate")
        }
        return certificates
    }

    // MARK: Identity

    /// The private key and certificate chain of this key store: the key and the certificates of a PEM file (or of
    /// `privateKeyPath`), a PKCS#12 file's key and certificates, a JKS file's first private-key entry. The key must
    /// match the first certificate.
    public func identity() throws(TLSError) -> TLSIdentity {
        let bytes = try TLSFile.read(path, setting: setting)
        let chainDER: [[UInt8]]
        let keyDER: [UInt8]
        switch try effectiveType(of: bytes) {
        case .pem:
            var keyBytes = bytes
            if let privateKeyPath { keyBytes = try TLSFile.read(privateKeyPath, setting: setting) }
            let key = try pemPrivateKey(keyBytes)
            let chain = try pemCertificates(bytes)
            guard !chain.isEmpty else {
                throw TLSError(.noCertificate, "\(setting): \(path) holds no certificate")
            }
            let keyDER: [UInt8]
            do {
                keyDER = try key.derBytes
            } catch {
                throw TLSError(
                    .malformedStore, "\(setting): the private key in \(privateKeyPath ?? path) cannot be read")
            }
            try checkKey(keyDER, matches: certificateDER(chain[0]))
            return TLSIdentity(certificateChain: chain, privateKey: key)
        case .pkcs12:
            let contents = try openPKCS12(bytes)
            guard let key = contents.privateKey else {
                throw TLSError(.noPrivateKey, "\(setting): \(path) holds no private key")
            }
            keyDER = key
            chainDER = contents.certificates
        case .jks:
            let store = try openJKS(bytes)
            guard let entry = store.privateKeys.first else {
                throw TLSError(.noPrivateKey, "\(setting): \(path) holds no private key entry")
            }
            guard let password else {
                throw TLSError(.wrongPassword, "\(setting): \(path) needs a password to open its private key")
            }
            do {
                keyDER = try JavaKeyStore.recoverPrivateKey(entry.protectedKey, password: password)
            } catch {
                switch error {
                case .wrongPassword:
                    throw TLSError(.wrongPassword, "\(setting): wrong password for the private key in \(path)")
                case .unsupportedProtection:
                    throw TLSError(
                        .malformedStore,
                        "\(setting): the private key in \(path) is protected in a way JKS does not define")
                case .malformed:
                    throw TLSError(.malformedStore, "\(setting): the private key in \(path) is malformed")
                }
            }
            chainDER = entry.certificateChain
        }
        guard let leaf = chainDER.first else {
            throw TLSError(.noCertificate, "\(setting): \(path) holds no certificate for its private key")
        }
        try checkKey(keyDER, matches: leaf)
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: keyDER, format: .der)
        } catch {
            throw TLSError(.malformedStore, "\(setting): the private key in \(path) cannot be read")
        }
        return TLSIdentity(certificateChain: try makeCertificates(chainDER), privateKey: key)
    }

    // MARK: Formats

    /// Java reads a store by its content when the type and the content disagree (a PKCS#12 file named JKS and the
    /// reverse, `keystore.type.compat`); so do we. PEM is text and is never confused with either.
    private func effectiveType(of bytes: [UInt8]) throws(TLSError) -> StoreType {
        let type = try resolvedType()
        switch type {
        case .pem:
            return .pem
        case .jks, .pkcs12:
            if JavaKeyStore.looksLikeJavaKeyStore(bytes) { return .jks }
            if bytes.first == 0x30 { return .pkcs12 }
            throw TLSError(.malformedStore, "\(setting): \(path) is not a \(type.rawValue) store")
        }
    }

    private func openJKS(_ bytes: [UInt8]) throws(TLSError) -> JavaKeyStore {
        do {
            return try JavaKeyStore(bytes: bytes, password: password)
        } catch {
            switch error {
            case .integrityCheckFailed:
                throw TLSError(
                    .wrongPassword,
                    "\(setting): wrong password for \(path), or the file was altered (its integrity check fails)")
            case .unsupportedEntry(tag: 3):
                throw TLSError(
                    .unsupportedStoreType, "\(setting): \(path) holds secret-key entries (JCEKS), not supported")
            case .notJavaKeyStore, .truncated, .unsupportedVersion, .unsupportedEntry, .unsupportedCertificateType:
                throw TLSError(.malformedStore, "\(setting): \(path) is not a valid JKS store")
            }
        }
    }

    private func openPKCS12(_ bytes: [UInt8]) throws(TLSError) -> PKCS12Contents {
        do {
            return try PKCS12Contents(bytes: bytes, password: password)
        } catch {
            switch error {
            case .wrongPasswordOrMalformed:
                throw TLSError(.wrongPassword, "\(setting): wrong password for \(path)")
            case .malformed:
                throw TLSError(.malformedStore, "\(setting): \(path) is not a valid PKCS12 store")
            }
        }
    }

    private func pemCertificates(_ bytes: [UInt8]) throws(TLSError) -> [NIOSSLCertificate] {
        guard bytes.containsSubsequence(Array("-----BEGIN CERTIFICATE-----".utf8)) else { return [] }
        do {
            return try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw TLSError(.malformedStore, "\(setting): \(path) holds a certificate that cannot be read")
        }
    }

    private func pemPrivateKey(_ bytes: [UInt8]) throws(TLSError) -> NIOSSLPrivateKey {
        let keyPath = privateKeyPath ?? path
        guard bytes.containsSubsequence(Array("PRIVATE KEY-----".utf8)) else {
            throw TLSError(.noPrivateKey, "\(setting): \(keyPath) holds no private key")
        }
        let encrypted =
            bytes.containsSubsequence(Array("ENCRYPTED PRIVATE KEY".utf8))
            || bytes.containsSubsequence(Array("Proc-Type: 4,ENCRYPTED".utf8))
        if encrypted {
            guard let password, !password.isEmpty else {
                throw TLSError(
                    .wrongPassword, "\(setting): the private key in \(keyPath) is encrypted; give its password")
            }
            do {
                return try NIOSSLPrivateKey(bytes: bytes, format: .pem) { supply in supply(Array(password.utf8)) }
            } catch {
                throw TLSError(.wrongPassword, "\(setting): wrong password for the private key in \(keyPath)")
            }
        }
        do {
            return try NIOSSLPrivateKey(bytes: bytes, format: .pem)
        } catch {
            throw TLSError(.malformedStore, "\(setting): the private key in \(keyPath) cannot be read")
        }
    }

    private func certificateDER(_ certificate: NIOSSLCertificate) throws(TLSError) -> [UInt8] {
        do {
            return try certificate.toDERBytes()
        } catch {
            throw TLSError(.malformedStore, "\(setting): \(path) holds a certificate that cannot be read")
        }
    }

    private func checkKey(_ keyDER: [UInt8], matches certificate: [UInt8]) throws(TLSError) {
        guard privateKey(keyDER, matches: certificate) else {
            throw TLSError(
                .keyDoesNotMatchCertificate, "\(setting): the private key in \(path) does not match its certificate")
        }
    }

    private func makeCertificates(_ ders: [[UInt8]]) throws(TLSError) -> [NIOSSLCertificate] {
        var certificates: [NIOSSLCertificate] = []
        for der in ders {
            do {
                certificates.append(try NIOSSLCertificate(bytes: der, format: .der))
            } catch {
                throw TLSError(.malformedStore, "\(setting): \(path) holds a certificate that cannot be read")
            }
        }
        return certificates
    }
}

private let systemRead = read

/// Reads the small files TLS settings name (stores, password files) with plain POSIX calls.
public enum TLSFile {
    /// The file's bytes; a missing or unreadable file is a one-line error naming `setting`.
    public static func read(_ path: String, setting: String) throws(TLSError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            let error = errno
            if error == ENOENT || error == ENOTDIR {
                throw TLSError(.missingFile, "\(setting): \(path): no such file")
            }
            throw TLSError(.unreadableFile, "\(setting): \(path): \(String(cString: strerror(error)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                systemRead(descriptor, buffer.baseAddress, buffer.count)
            }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw TLSError(.unreadableFile, "\(setting): \(path): \(String(cString: strerror(errno)))")
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}

extension [UInt8] {
    fileprivate func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if self[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
