/// Credentials for SASL authentication, run on every connection before any request.
///
/// Apache ZooKeeper servers accept SASL with `authProvider.N=org.apache.zookeeper.server.auth.SASLAuthenticationProvider`
/// in zoo.cfg and a JAAS `Server` section; the session then carries a `sasl` identity that ACLs such as
/// `sasl:bob:cdrwa` grant rights to. Read them from a JAAS file with `init(jaas:section:)`.
public struct SASLCredentials: Sendable, Hashable, CustomStringConvertible {
    enum Mechanism: Sendable, Hashable {
        case digestMD5(username: String, password: String)
    }

    let mechanism: Mechanism

    /// DIGEST-MD5 (RFC 2831) with a username and password the server's JAAS `Server` section lists as
    /// `user_NAME="password"`.
    public static func digestMD5(username: String, password: String) -> SASLCredentials {
        SASLCredentials(mechanism: .digestMD5(username: username, password: password))
    }

    /// The SASL mechanism name.
    public var mechanismName: String {
        switch mechanism {
        case .digestMD5: "DIGEST-MD5"
        }
    }

    /// The identity the server will know the session by.
    public var username: String {
        switch mechanism {
        case .digestMD5(let username, _): username
        }
    }

    /// The password is never shown.
    public var description: String { "\(mechanismName) as \(username)" }
}
