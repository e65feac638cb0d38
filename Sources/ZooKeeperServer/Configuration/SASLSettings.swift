import ZooKeeperProtocol

/// SASL and the enforcement of authentication, as Apache reads them: the JAAS `Server` section (a JVM property
/// there, `--jaas` or `-Djava.security.auth.login.config=` in `SERVER_JVMFLAGS`/`JVMFLAGS` here),
/// `authProvider.N=org.apache.zookeeper.server.auth.SASLAuthenticationProvider`, `sessionRequireClientSASLAuth`,
/// `enforce.auth.enabled`/`enforce.auth.schemes` and `superUser`.
public struct SASLSettings: Sendable, Hashable {
    /// Apache's class name that enables the `sasl` ACL scheme.
    public static let providerClass = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider"
    /// The JAAS section a server reads unless `zookeeper.sasl.serverconfig` names another.
    public static let defaultServerSection = "Server"

    /// DIGEST-MD5 users and their passwords (`user_NAME="password"` in the JAAS section); nil when no JAAS file is
    /// configured, in which case a SASL request gets an empty answer, as Apache gives without a login.
    public var digestUsers: [String: String]? = nil
    /// `authProvider.N=…SASLAuthenticationProvider`: ACLs may name `sasl` ids.
    public var providerEnabled = false
    /// `sessionRequireClientSASLAuth`: every session must log in with SASL before any other request.
    public var sessionRequireClientSASLAuth = false
    /// `enforce.auth.enabled` with `enforce.auth.schemes`: a session must have authenticated with one of the
    /// schemes before any other request.
    public var enforceAuthEnabled = false
    public var enforceAuthSchemes: [String] = []
    /// `superUser` (`zookeeper.superUser`): the SASL identity that is the super user.
    public var superUser: String? = nil
    /// `sasl.serverconfig` (`zookeeper.sasl.serverconfig`): the JAAS section to read.
    public var serverSection = defaultServerSection
    /// The Kerberos login (the section's `Krb5LoginModule`); when set, SASL logins are GSSAPI, as in Apache,
    /// whose server runs GSSAPI when its JAAS login has a Kerberos principal and DIGEST-MD5 otherwise.
    public var kerberos: KerberosServerLogin? = nil
    /// `kerberos.removeHostFromPrincipal` / `kerberos.removeRealmFromPrincipal`: whether a Kerberos client's
    /// `sasl` identity drops the `/host` and the `@REALM` of its principal (`saslIdentity(ofPrincipal:)`).
    public var removeHostFromPrincipal = false
    public var removeRealmFromPrincipal = false
    /// `zookeeper.security.auth_to_local` (`security.auth_to_local` in zoo.cfg): how a Kerberos principal's name
    /// becomes the short name its `sasl` identity starts with.
    public var authToLocal = KerberosNameRules.default
    /// The realm the `DEFAULT` rule strips: krb5.conf's `default_realm`, read at start-up
    /// (`readDefaultRealm(krb5Config:)`); nil when there is none, and then `DEFAULT` maps no principal.
    public var defaultRealm: String? = nil

    public init() {}

    /// The schemes one of which a session must have authenticated with before any request other than auth and
    /// SASL; nil when nothing is enforced. `sessionRequireClientSASLAuth` wins over `enforce.auth.*`, as in Apache.
    public var enforcedSchemes: Set<String>? {
        if sessionRequireClientSASLAuth { return ["sasl"] }
        return enforceAuthEnabled ? Set(enforceAuthSchemes) : nil
    }

    /// Whether a failed SASL login is answered with SessionClosedRequireSaslAuth rather than AuthFailed.
    public var isSASLAuthRequired: Bool { enforcedSchemes?.contains("sasl") ?? false }

    /// The schemes a session can authenticate with here.
    var availableSchemes: Set<String> {
        providerEnabled ? ["digest", "ip", "sasl"] : ["digest", "ip"]
    }

    /// Checks the enforcement settings as Apache's `AuthenticationHelper` does at start-up.
    public func validate() throws(ZooCfg.Failure) {
        guard let schemes = enforcedSchemes else { return }
        if schemes.isEmpty {
            throw ZooCfg.Failure("enforce.auth.enabled is true, so enforce.auth.schemes must name at least one scheme")
        }
        for scheme in schemes.sorted() where !availableSchemes.contains(scheme) {
            throw ZooCfg.Failure(
                "authentication scheme \(scheme) is not available"
                    + (scheme == "sasl" ? " (add authProvider.1=\(Self.providerClass))" : ""))
        }
    }

    /// Reads the JAAS file's server section: the `user_NAME` options of its modules for DIGEST-MD5, or the
    /// principal and keytab of its `Krb5LoginModule` for Kerberos.
    public mutating func loadJAAS(file: String) throws(ZooCfg.Failure) {
        let jaas: JAASConfiguration
        do {
            jaas = try JAASConfiguration(contentsOf: file)
        } catch {
            throw ZooCfg.Failure(error.message)
        }
        try loadJAAS(jaas)
    }

    public mutating func loadJAAS(_ jaas: JAASConfiguration) throws(ZooCfg.Failure) {
        guard let modules = jaas.section(serverSection) else {
            throw ZooCfg.Failure("\(jaas.source): no JAAS section named '\(serverSection)'")
        }
        var users: [String: String] = [:]
        var hasDigestModule = false
        for module in modules {
            switch module.className {
            case JAASConfiguration.kerberosLoginModule:
                let options: JAASConfiguration.KerberosOptions
                do {
                    options = try jaas.kerberosOptions(module, section: serverSection)
                } catch {
                    throw ZooCfg.Failure(error.message)
                }
                guard let principal = options.principal else {
                    throw ZooCfg.Failure(
                        "\(jaas.source): section '\(serverSection)': Krb5LoginModule needs principal (e.g. zookeeper/host@REALM)"
                    )
                }
                kerberos = KerberosServerLogin(principal: principal, keytab: options.useKeyTab ? options.keyTab : nil)
            case JAASConfiguration.digestLoginModule:
                hasDigestModule = true
            default:
                break
            }
            for (name, value) in module.options where name.hasPrefix("user_") {
                users[String(name.dropFirst("user_".count))] = value
            }
        }
        guard hasDigestModule || kerberos != nil else {
            throw ZooCfg.Failure(
                "\(jaas.source): section '\(serverSection)' has no \(JAASConfiguration.digestLoginModule) or "
                    + JAASConfiguration.kerberosLoginModule)
        }
        digestUsers = users
    }

    /// The `sasl` identity of a Kerberos client `principal` (`name[/host]@REALM`), as Apache's
    /// `SaslServerCallbackHandler` makes it: the short name `authToLocal` maps the principal to, then `/host`
    /// unless `removeHostFromPrincipal`, then `@REALM` unless `removeRealmFromPrincipal`. When no rule maps the
    /// principal (with `DEFAULT` alone: a principal of another realm) the identity is the whole principal.
    public func saslIdentity(ofPrincipal principal: String) -> String {
        // Apache's KerberosName: name, optional /host, then @REALM, none of them holding / or @.
        guard let at = principal.lastIndex(of: "@") else { return principal }
        let realm = String(principal[principal.index(after: at)...])
        let names = principal[..<at].split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard names.count <= 2, !realm.contains("/") else { return principal }
        guard let shortName = authToLocal.shortName(components: names, realm: realm, defaultRealm: defaultRealm)
        else { return principal }
        var identity = shortName
        if names.count == 2, !removeHostFromPrincipal { identity += "/" + names[1] }
        if !removeRealmFromPrincipal { identity += "@" + realm }
        return identity
    }

    /// The `default_realm` of the `[libdefaults]` section of the Kerberos configuration the GSS-API library
    /// reads: the files of `krb5Config` (the `KRB5_CONFIG` variable, colon-separated) or `/etc/krb5.conf`.
    public static func readDefaultRealm(krb5Config: String?) -> String? {
        let files = (krb5Config ?? "/etc/krb5.conf").split(separator: ":").map(String.init)
        for file in files {
            guard let contents = try? PosixFileSystem().readFile(file) else { continue }
            var section = ""
            for rawLine in String(decoding: contents.readableBytesView, as: UTF8.self).split(separator: "\n") {
                let line = rawLine.trimmingCharacters(in: " \t\r")
                if line.hasPrefix("[") {
                    section = line
                    continue
                }
                guard section == "[libdefaults]", let equals = line.firstIndex(of: "=") else { continue }
                let key = line[..<equals].trimmingCharacters(in: " \t")
                let value = line[line.index(after: equals)...].trimmingCharacters(in: " \t")
                if key == "default_realm" && !value.isEmpty { return value }
            }
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in blanks: String) -> String {
        String(drop { blanks.contains($0) }.reversed().drop { blanks.contains($0) }.reversed())
    }
}
