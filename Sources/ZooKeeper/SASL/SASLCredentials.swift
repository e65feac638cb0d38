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

extension SASLCredentials {
    /// The credentials of a JAAS client section (`Client` unless `zookeeper.sasl.clientconfig` names another).
    ///
    /// Throws a one-line error naming the cause. A `Krb5LoginModule` gives a Kerberos login: the ticket cache
    /// with `useTicketCache=true` (and `ticketCache`), a keytab with `useKeyTab=true keyTab=... principal=...`
    /// (after the cache when both are asked for, as Java does); one of them is needed, since nothing can prompt
    /// for a password.
    public init(jaas: JAASConfiguration, section: String = JAASConfiguration.defaultClientSection)
        throws(JAASConfiguration.Error)
    {
        switch try jaas.clientLogin(section: section) {
        case .digest(let username, let password):
            self = .digestMD5(username: username, password: password)
        case .kerberos(let options):
            guard options.useKeyTab || options.useTicketCache else {
                throw JAASConfiguration.Error(
                    kind: .unusable,
                    message:
                        "\(jaas.source): section '\(section)': Krb5LoginModule needs useTicketCache=true or useKeyTab=true (a password cannot be prompted for)"
                )
            }
            self = .kerberos(
                KerberosLogin(
                    principal: options.principal, keytab: options.useKeyTab ? options.keyTab : nil,
                    useTicketCache: options.useTicketCache, ticketCache: options.ticketCache))
        }
    }
}
