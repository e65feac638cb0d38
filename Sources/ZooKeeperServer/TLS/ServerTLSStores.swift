import NIOCore
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads the key and trust stores named in zoo.cfg (PEM and PKCS12), with one-line errors that name the setting.
enum ServerTLSStores {
    enum StoreType: String {
        case pem = "PEM"
        case pkcs12 = "PKCS12"
        case jks = "JKS"
    }

    /// The store's type: given, or guessed from the file's extension as Apache's `KeyStoreFileType.fromFilename`.
    static func type(of store: ServerTLSSettings.Store, setting: String) throws(ServerTLSError) -> StoreType {
        if let given = store.type, !given.isEmpty {
            guard let type = StoreType(rawValue: given.uppercased()) else {
                throw ServerTLSError("\(setting).type: unsupported store type '\(given)' (PEM, PKCS12 or JKS)")
            }
            return type
        }
        let lowered = store.location.lowercased()
        if lowered.hasSuffix(".pem") || lowered.hasSuffix(".crt") || lowered.hasSuffix(".key") { return .pem }
        if lowered.hasSuffix(".p12") || lowered.hasSuffix(".pkcs12") || lowered.hasSuffix(".pfx") { return .pkcs12 }
        if lowered.hasSuffix(".jks") { return .jks }
        throw ServerTLSError(
            "\(setting).type: cannot tell the type of \(store.location) from its name; set \(setting).type to PEM, PKCS12 or JKS"
        )
    }

    static func loadKeyStore(
        _ store: ServerTLSSettings.Store, setting: String
    ) throws(ServerTLSError) -> (certificates: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let type = try type(of: store, setting: setting)
        try requireReadable(store.location, setting: setting)
        switch type {
        case .pem:
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(store.location)
            } catch {
                throw ServerTLSError("\(setting).location: \(store.location) holds no readable PEM certificate")
            }
            guard !certificates.isEmpty else {
                throw ServerTLSError("\(setting).location: \(store.location) holds no certificate")
            }
            let password = try password(of: store, setting: setting)
            let key: NIOSSLPrivateKey
            do {
                key = try NIOSSLPrivateKey(file: store.location, format: .pem) { setPassword in
                    setPassword(password)
                }
            } catch {
                throw ServerTLSError(
                    "\(setting): \(store.location) holds no private key that \(setting).password opens")
            }
            return (certificates, key)
        case .pkcs12:
            let password = try password(of: store, setting: setting)
            do {
                let bundle = try NIOSSLPKCS12Bundle(file: store.location, passphrase: password)
                return (bundle.certificateChain, bundle.privateKey)
            } catch {
                throw ServerTLSError(
                    "\(setting).password: cannot open \(store.location) (wrong password, or not PKCS12)")
            }
        case .jks:
            throw ServerTLSError(
                "\(setting).type: JKS stores are not supported yet; convert with keytool -importkeystore to PKCS12")
        }
    }

    static func loadTrustStore(
        _ store: ServerTLSSettings.Store, setting: String
    ) throws(ServerTLSError) -> [NIOSSLCertificate] {
        let type = try type(of: store, setting: setting)
        try requireReadable(store.location, setting: setting)
        switch type {
        case .pem:
            guard let certificates = try? NIOSSLCertificate.fromPEMFile(store.location), !certificates.isEmpty else {
                throw ServerTLSError("\(setting).location: \(store.location) holds no PEM certificate")
            }
            return certificates
        case .pkcs12:
            let password = try password(of: store, setting: setting)
            do {
                let bundle = try NIOSSLPKCS12Bundle(file: store.location, passphrase: password)
                return bundle.certificateChain
            } catch {
                throw ServerTLSError(
                    "\(setting).password: cannot open \(store.location) (wrong password, or not PKCS12)")
            }
        case .jks:
            throw ServerTLSError(
                "\(setting).type: JKS stores are not supported yet; convert with keytool -importkeystore to PKCS12")
        }
    }

    /// The store's password: `password`, or the contents of `passwordPath` without one trailing newline.
    static func password(of store: ServerTLSSettings.Store, setting: String) throws(ServerTLSError) -> [UInt8] {
        guard let path = store.passwordPath else { return Array((store.password ?? "").utf8) }
        guard let contents = try? PosixFileSystem().readFile(path) else {
            throw ServerTLSError("\(setting).passwordPath: \(path) cannot be read")
        }
        var bytes = Array(contents.readableBytesView)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return bytes
    }

    private static func requireReadable(_ path: String, setting: String) throws(ServerTLSError) {
        guard access(path, R_OK) == 0 else {
            let reason = errno == ENOENT ? "does not exist" : "cannot be read"
            throw ServerTLSError("\(setting).location: \(path) \(reason)")
        }
    }
}
