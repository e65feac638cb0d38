import ZooKeeperProtocol

/// A certificate store or a TLS setting that cannot be used: a missing file, a wrong password, a key that does not
/// match its certificate, a store type we do not read. `description` is one line for the user, naming the setting
/// or the file it concerns.
public struct TLSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong. An extensible set: new codes can be added without breaking callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case missingFile
            case unreadableFile
            case wrongPassword
            case keyDoesNotMatchCertificate
            case unsupportedStoreType
            case malformedStore
            case noPrivateKey
            case noCertificate
            case invalidSetting
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The store file does not exist.
        public static let missingFile = Self(.missingFile)
        /// The store file exists but cannot be read (permissions, a directory).
        public static let unreadableFile = Self(.unreadableFile)
        /// The store's integrity check or its key's protection does not open with the password given.
        public static let wrongPassword = Self(.wrongPassword)
        /// The private key is not the one whose public half the certificate carries.
        public static let keyDoesNotMatchCertificate = Self(.keyDoesNotMatchCertificate)
        /// A store type we do not read (BCFKS, an unknown name, an extension we cannot guess from).
        public static let unsupportedStoreType = Self(.unsupportedStoreType)
        /// The file is not a valid store of its type.
        public static let malformedStore = Self(.malformedStore)
        /// A key store without a private key.
        public static let noPrivateKey = Self(.noPrivateKey)
        /// A store without any certificate.
        public static let noCertificate = Self(.noCertificate)
        /// A setting whose value we cannot use (an unknown protocol or cipher suite name).
        public static let invalidSetting = Self(.invalidSetting)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// One line that says what is wrong and where.
    public var message: String

    /// A setting's value may hold a line end (a `\n` escape in a properties file); the message stays one line.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message.escapingLineEnds
    }

    public var description: String { message }
}
