/// Credentials for SASL authentication, run on every connection before any request.
///
/// Apache ZooKeeper servers accept SASL with `authProvider.N=org.apache.zookeeper.server.auth.SASLAuthenticationProvider`
/// in zoo.cfg and a JAAS `Server` section; the session then carries a `sasl` identity that ACLs such as
/// `sasl:bob:cdrwa` grant rights to. Read them from a JAAS file with `init(jaas:section:)`.
public struct SASLCredentials: Sendable, Hashable, CustomStringConvertible {
    enum Mechanism: Sendable, Hashable {
        case digestMD5(username: String, password: String)
        case kerberos(KerberosLogin)
    }

    let mechanism: Mechanism

    /// DIGEST-MD5 (RFC 2831) with a username and password the server's JAAS `Server` section lists as
    /// `user_NAME="password"`.
    public static func digestMD5(username: String, password: String) -> SASLCredentials {
        SASLCredentials(mechanism: .digestMD5(username: username, password: password))
    }

    /// Kerberos v5 through GSSAPI (RFC 4752), with the system's GSS-API library (MIT libgssapi_krb5), loaded
    /// on first use.
    public static func kerberos(_ login: KerberosLogin) -> SASLCredentials {
        SASLCredentials(mechanism: .kerberos(login))
    }

    /// The SASL mechanism name.
    public var mechanismName: String {
        switch mechanism {
        case .digestMD5: "DIGEST-MD5"
        case .kerberos: "GSSAPI"
        }
    }

    /// The identity the server will know the session by, as far as it is known before connecting.
    public var username: String {
        switch mechanism {
        case .digestMD5(let username, _): username
        case .kerberos(let login): login.principal ?? "the ticket cache's principal"
        }
    }

    /// The password is never shown.
    public var description: String { "\(mechanismName) as \(username)" }
}
