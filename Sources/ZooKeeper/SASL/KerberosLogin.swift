/// A Kerberos (SASL GSSAPI) login: where the client's credentials come from and how the server's principal
/// is named.
///
/// The credentials are the ticket cache `kinit` filled (`KRB5CCNAME`, or `ticketCache`), or a keytab with the
/// client's principal. The server principal is `zookeeper/<host>@REALM` by default, as Apache's client builds
/// it; the properties Apache's client reads change it the same way here.
public struct KerberosLogin: Sendable, Hashable {
    /// The client principal (`alice@EXAMPLE.COM`); with a keytab, its first entry when nil.
    public var principal: String?
    /// Take credentials from this keytab (JAAS `useKeyTab=true keyTab=...`).
    public var keytab: String?
    /// Take credentials from the ticket cache (JAAS `useTicketCache=true`); tried before the keytab.
    public var useTicketCache: Bool
    /// The cache to read (JAAS `ticketCache`); nil is `KRB5CCNAME` or the system's default.
    public var ticketCache: String?
    /// `zookeeper.server.principal`: the server's whole principal, used as given.
    public var serverPrincipal: String?
    /// `zookeeper.sasl.client.username`: the service part of the server principal.
    public var serviceName: String
    /// `zookeeper.server.realm`: the server's realm; by default the client principal's.
    public var serverRealm: String?
    /// `zookeeper.sasl.client.canonicalize.hostname`: name the server by the canonical name of its address.
    public var canonicalizeHostname: Bool

    /// The service name of Apache's servers' principals (`zookeeper/host@REALM`).
    public static let defaultServiceName = "zookeeper"

    /// A login as Apache's JAAS `Krb5LoginModule` options describe it.
    public init(
        principal: String? = nil, keytab: String? = nil, useTicketCache: Bool = true, ticketCache: String? = nil,
        serverPrincipal: String? = nil, serviceName: String = defaultServiceName, serverRealm: String? = nil,
        canonicalizeHostname: Bool = true
    ) {
        self.principal = principal
        self.keytab = keytab
        self.useTicketCache = useTicketCache
        self.ticketCache = ticketCache
        self.serverPrincipal = serverPrincipal
        self.serviceName = serviceName
        self.serverRealm = serverRealm
        self.canonicalizeHostname = canonicalizeHostname
    }

    /// Credentials from a keytab, for `principal`.
    public static func keytab(_ path: String, principal: String?) -> KerberosLogin {
        KerberosLogin(principal: principal, keytab: path, useTicketCache: false)
    }

    /// Credentials from the ticket cache `kinit` filled (`KRB5CCNAME` unless `path` names another).
    public static func ticketCache(_ path: String? = nil, principal: String? = nil) -> KerberosLogin {
        KerberosLogin(principal: principal, useTicketCache: true, ticketCache: path)
    }

    /// Applies the client properties Apache's client reads (`zookeeper.server.principal`,
    /// `zookeeper.sasl.client.username`, `zookeeper.server.realm`, `zookeeper.sasl.client.canonicalize.hostname`);
    /// others are ignored.
    public mutating func apply(clientProperties: [String: String]) {
        if let value = clientProperties["zookeeper.server.principal"] { serverPrincipal = value }
        if let value = clientProperties["zookeeper.sasl.client.username"] { serviceName = value }
        if let value = clientProperties["zookeeper.server.realm"] { serverRealm = value }
        if let value = clientProperties["zookeeper.sasl.client.canonicalize.hostname"] {
            // Java's Boolean.parseBoolean: anything but "true" is false.
            canonicalizeHostname = value.lowercased() == "true"
        }
    }

    /// The server principal for a connection to `host`, as Apache's client builds it (`SaslServerPrincipal`
    /// and `ZooKeeperSaslClient`): `service/host`, the host canonicalized unless turned off, then `@realm` when it
    /// has none (the server realm, else the client's). `canonicalName` resolves a host to its canonical name.
    func serverPrincipalName(
        host: String, clientRealm: String?, canonicalName: (String) -> String? = KerberosLogin.canonicalName
    ) -> String {
        var name: String
        if let serverPrincipal {
            name = serverPrincipal
        } else {
            let hostName = canonicalizeHostname ? canonicalName(host) ?? host : host
            name = "\(serviceName)/\(hostName)"
        }
        if !name.contains("@"), let realm = serverRealm ?? clientRealm {
            name += "@" + realm
        }
        return name
    }

    /// The realm of a principal name (`alice@REALM` → `REALM`).
    static func realm(of principal: String) -> String? {
        guard let at = principal.lastIndex(of: "@") else { return nil }
        let realm = principal[principal.index(after: at)...]
        return realm.isEmpty ? nil : String(realm)
    }
}
