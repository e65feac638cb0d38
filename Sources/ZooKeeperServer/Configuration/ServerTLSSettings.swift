/// The zoo.cfg `ssl.*` settings of the TLS ports (`secureClientPort`, or `clientPort` with
/// `client.portUnification=true`), with Apache's defaults.
public struct ServerTLSSettings: Sendable, Hashable {
    /// Whether the server asks a client for a certificate (`ssl.clientAuth`).
    public enum ClientAuthentication: String, Sendable, Hashable, CaseIterable {
        /// No certificate is asked for.
        case none
        /// A certificate is asked for; a client without one is served without an x509 identity.
        case want
        /// A client without a trusted certificate fails the handshake (Apache's default).
        case need
    }

    /// A key or trust store: `ssl.keyStore.location|password|passwordPath|type` or the same for `trustStore`.
    public struct Store: Sendable, Hashable {
        public var location: String
        public var password: String?
        /// A file holding the password (`passwordPath`); read when the server starts, one trailing newline dropped.
        public var passwordPath: String?
        /// `PEM`, `PKCS12` or `JKS` (any case); nil guesses from the file's extension, as Apache does.
        public var type: String?

        public init(location: String, password: String? = nil, passwordPath: String? = nil, type: String? = nil) {
            self.location = location
            self.password = password
            self.passwordPath = passwordPath
            self.type = type
        }
    }

    /// The server's certificate and private key (`ssl.keyStore.*`).
    public var keyStore: Store? = nil
    /// The certificates that client certificates must chain to (`ssl.trustStore.*`); the system's roots when
    /// nil, as Java's default trust store is Apache's.
    public var trustStore: Store? = nil
    public var clientAuthentication: ClientAuthentication = .need
    /// `ssl.protocol`: the highest protocol (`TLSv1.2` or `TLSv1.3`, Apache's default).
    public var protocolName: String = "TLSv1.3"
    /// `ssl.enabledProtocols`; nil means `ssl.protocol` and, for TLSv1.3, TLSv1.2 too (Apache's default).
    public var enabledProtocols: [String]? = nil
    /// `ssl.ciphersuites`, by their IANA (Java) names; nil leaves the library's defaults.
    public var cipherSuites: [String]? = nil
    /// `ssl.handshakeDetectionTimeoutMillis`: how long a TLS handshake may take before the connection is
    /// dropped.
    public var handshakeTimeoutMilliseconds: Int = 5000

    public init() {}

    /// The protocols a handshake may use.
    public var effectiveProtocols: [String] {
        if let enabledProtocols { return enabledProtocols }
        return protocolName == "TLSv1.3" ? ["TLSv1.3", "TLSv1.2"] : [protocolName]
    }
}
