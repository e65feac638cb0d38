import NIOSSL

/// What a user configures for TLS, on either side of a connection: the stores, hostname verification, protocol
/// versions and cipher suites (Apache's `zookeeper.ssl.*` client keys and `ssl.*` server keys). Both the client and
/// the server turn it into swift-nio-ssl's `TLSConfiguration`.
public struct TLSSettings: Sendable, Hashable {
    /// Whether a server asks connecting clients for a certificate (`ssl.clientAuth`).
    public enum ClientAuthentication: String, Sendable, Hashable, CaseIterable {
        /// No certificate is asked for.
        case none
        /// A certificate is asked for and verified if given; a client without one is still accepted.
        case want
        /// A verified certificate is required (Apache's default).
        case need
    }

    /// The certificates that may sign the peer's certificate; nil means the system's trust roots.
    public var trustStore: CertificateStore?
    /// This side's own certificate and key: required on a server, optional on a client (for servers that ask).
    public var keyStore: CertificateStore?
    /// Client side: check that the server's certificate names the host from the connect string (an IP address
    /// against the certificate's IP addresses). On by default, as in Apache.
    public var hostnameVerification = true
    /// The protocol versions allowed; nil means TLSv1.2 and TLSv1.3.
    public var protocols: [TLSVersion]?
    /// TLS 1.2 cipher suites by their IANA (and Java) names, in order of preference; nil means swift-nio-ssl's
    /// defaults. TLS 1.3 suites are always enabled; their names are accepted and need no setting.
    public var cipherSuites: [String]?
    /// Server side: whether clients must present a certificate.
    public var clientAuthentication = ClientAuthentication.need
    /// The setting names errors about `protocols` and `cipherSuites` mention.
    public var protocolsSetting = "zookeeper.ssl.enabledProtocols"
    public var cipherSuitesSetting = "zookeeper.ssl.ciphersuites"

    public init(trustStore: CertificateStore? = nil, keyStore: CertificateStore? = nil) {
        self.trustStore = trustStore
        self.keyStore = keyStore
    }

    /// A client configuration: the trust store's certificates as the only roots, the key store's identity (if
    /// any) offered to servers that ask, full verification (or without the hostname check when that is off).
    /// Every store is read now, so a bad one fails here with its one-line error.
    public func makeClientConfiguration() throws(TLSError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        try apply(to: &configuration)
        configuration.certificateVerification = hostnameVerification ? .fullVerification : .noHostnameVerification
        return configuration
    }

    /// A server configuration: the key store's identity, the trust store's certificates as the roots client
    /// certificates must chain to, and `clientAuthentication`.
    public func makeServerConfiguration() throws(TLSError) -> TLSConfiguration {
        guard let keyStore else {
            throw TLSError(.noPrivateKey, "a TLS server needs a key store (ssl.keyStore.location)")
        }
        let identity = try keyStore.identity()
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: identity.certificateChain.map { .certificate($0) },
            privateKey: .privateKey(identity.privateKey))
        try apply(to: &configuration, includingIdentity: false)
        switch clientAuthentication {
        case .none: configuration.certificateVerification = .none
        case .want: configuration.certificateVerification = .optionalVerification
        case .need: configuration.certificateVerification = .noHostnameVerification
        }
        return configuration
    }

    private func apply(to configuration: inout TLSConfiguration, includingIdentity: Bool = true) throws(TLSError) {
        if let trustStore {
            configuration.trustRoots = .certificates(try trustStore.trustedCertificates())
        }
        if includingIdentity, let keyStore {
            let identity = try keyStore.identity()
            configuration.certificateChain = identity.certificateChain.map { .certificate($0) }
            configuration.privateKey = .privateKey(identity.privateKey)
        }
        let versions = protocols ?? [.tlsv12, .tlsv13]
        guard let lowest = versions.min(by: Self.isOlder), let highest = versions.max(by: Self.isOlder) else {
            throw TLSError(.invalidSetting, "\(protocolsSetting): no protocol given")
        }
        configuration.minimumTLSVersion = lowest
        configuration.maximumTLSVersion = highest
        if let cipherSuites {
            let known = cipherSuites.compactMap { Self.cipherSuitesByName[$0] }
            let tls13Only = cipherSuites.allSatisfy { Self.tls13CipherSuites.contains($0) }
            if known.isEmpty && !tls13Only {
                throw TLSError(
                    .invalidSetting,
                    "\(cipherSuitesSetting): none of \(cipherSuites.joined(separator: ",")) is a cipher suite we support"
                )
            }
            if !known.isEmpty { configuration.cipherSuiteValues = known }
        }
    }

    // MARK: Parsing settings

    /// The versions a comma-separated JSSE protocol list names (`TLSv1.2,TLSv1.3`); `TLS` alone means both of
    /// the current ones.
    public static func protocols(from value: String, setting: String) throws(TLSError) -> [TLSVersion] {
        var versions: [TLSVersion] = []
        for name in value.split(separator: ",").map({ $0.trimmingWhitespace() }) where !name.isEmpty {
            switch name {
            case "TLSv1.3": versions.append(.tlsv13)
            case "TLSv1.2": versions.append(.tlsv12)
            case "TLSv1.1": versions.append(.tlsv11)
            case "TLSv1": versions.append(.tlsv1)
            case "TLS": versions.append(contentsOf: [.tlsv12, .tlsv13])
            default:
                throw TLSError(.invalidSetting, "\(setting): unknown protocol '\(name)' (use TLSv1.2 or TLSv1.3)")
            }
        }
        guard !versions.isEmpty else { throw TLSError(.invalidSetting, "\(setting): no protocol given") }
        return versions
    }

    /// The names of a comma-separated cipher suite list.
    public static func cipherSuites(from value: String) -> [String] {
        value.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    private static func isOlder(_ lhs: TLSVersion, _ rhs: TLSVersion) -> Bool {
        order(lhs) < order(rhs)
    }

    private static func order(_ version: TLSVersion) -> Int {
        switch version {
        case .tlsv1: 10
        case .tlsv11: 11
        case .tlsv12: 12
        case .tlsv13: 13
        }
    }

    private static let tls13CipherSuites: Set<String> = [
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
    ]

    private static let cipherSuitesByName: [String: NIOTLSCipher] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": .TLS_RSA_WITH_AES_128_CBC_SHA,
        "TLS_RSA_WITH_AES_256_CBC_SHA": .TLS_RSA_WITH_AES_256_CBC_SHA,
        "TLS_RSA_WITH_AES_128_GCM_SHA256": .TLS_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_RSA_WITH_AES_256_GCM_SHA384": .TLS_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
