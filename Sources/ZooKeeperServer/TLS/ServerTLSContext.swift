import NIOCore
import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A TLS setting zkserver cannot honour, with a one-line reason that names the setting.
public struct ServerTLSError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Builds the TLS context of the secure ports from the `ssl.*` settings, or says in one line why it cannot.
enum ServerTLSContext {
    static func make(_ settings: ServerTLSSettings) throws(ServerTLSError) -> NIOSSLContext {
        guard let keyStore = settings.keyStore else {
            throw ServerTLSError(
                "a TLS port (secureClientPort or client.portUnification) needs ssl.keyStore.location: the server's certificate and key"
            )
        }
        let identity = try ServerTLSStores.loadKeyStore(keyStore, setting: "ssl.keyStore")
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.certificates.map { .certificate($0) }, privateKey: .privateKey(identity.key))
        switch settings.clientAuthentication {
        case .none: configuration.certificateVerification = .none
        case .want: configuration.certificateVerification = .optionalVerification
        case .need: configuration.certificateVerification = .noHostnameVerification
        }
        if let trustStore = settings.trustStore {
            let roots = try ServerTLSStores.loadTrustStore(trustStore, setting: "ssl.trustStore")
            configuration.trustRoots = .certificates(roots)
        } else {
            configuration.trustRoots = .default
        }
        let versions = try settings.effectiveProtocols.map { name throws(ServerTLSError) -> TLSVersion in
            switch name {
            case "TLSv1.2": return .tlsv12
            case "TLSv1.3": return .tlsv13
            case "TLSv1.1": return .tlsv11
            case "TLSv1": return .tlsv1
            default:
                throw ServerTLSError("ssl.enabledProtocols: unknown protocol '\(name)' (TLSv1.2, TLSv1.3)")
            }
        }
        guard let lowest = versions.min(by: { $0.rank < $1.rank }),
            let highest = versions.max(by: { $0.rank < $1.rank })
        else {
            throw ServerTLSError("ssl.enabledProtocols: no protocol given")
        }
        configuration.minimumTLSVersion = lowest
        configuration.maximumTLSVersion = highest
        if let names = settings.cipherSuites {
            let suites = try names.map { name throws(ServerTLSError) -> NIOTLSCipher in
                guard let suite = TLSCipherSuiteNames.cipher(named: name) else {
                    throw ServerTLSError("ssl.ciphersuites: unknown or unsupported cipher suite '\(name)'")
                }
                return suite
            }
            configuration.cipherSuiteValues = suites
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ServerTLSError(
                "ssl.keyStore: the TLS context cannot be built (\(error)); does the key match the certificate?")
        }
    }
}

extension TLSVersion {
    fileprivate var rank: Int {
        switch self {
        case .tlsv1: return 0
        case .tlsv11: return 1
        case .tlsv12: return 2
        case .tlsv13: return 3
        }
    }
}
