import GSSAPISupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a Kerberos login failed, in one line; `code` says which case it is.
public struct KerberosError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which kind of failure; extensible, so switch with a default.
    public struct Code: RawRepresentable, Sendable, Hashable {
        /// The code's name.
        public var rawValue: String
        /// The code named `rawValue`.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// libgssapi_krb5.so.2 (Debian: libgssapi-krb5-2) cannot be loaded.
        public static let libraryNotInstalled = Code(rawValue: "libraryNotInstalled")
        /// No ticket in the cache (no `kinit`), or no usable key in the keytab.
        public static let noTicket = Code(rawValue: "noTicket")
        /// The ticket in the cache has expired (`kinit` again).
        public static let ticketExpired = Code(rawValue: "ticketExpired")
        /// The KDC knows no such client or server principal.
        public static let unknownPrincipal = Code(rawValue: "unknownPrincipal")
        /// No KDC of the realm answered.
        public static let kdcUnreachable = Code(rawValue: "kdcUnreachable")
        /// Anything else the library or the server's tokens caused.
        public static let failed = Code(rawValue: "failed")
    }

    /// Which kind of failure.
    public var code: Code
    /// The one-line explanation.
    public var message: String
    /// The message.
    public var description: String { message }

    /// A failure of kind `code`, explained by `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// The SASL GSSAPI mechanism (RFC 4752), client side, over the system's GSS-API library loaded on first use.
///
/// The exchange: security-context tokens both ways until the context is established (an empty response when
/// the last call produced none); then the server's wrapped 4-byte offer of security layers, answered with a
/// wrapped "no security layer, maximum size 0". ZooKeeper never uses a security layer.
///
/// A class because it owns library handles, released in `deinit`; it is used by one connection at a time.
/// The library calls can block on the KDC (acquiring a ticket from a keytab, or a service ticket).
final class GSSAPIMechanism: @unchecked Sendable {
    enum Step: Equatable {
        case respond([UInt8])
        /// The last response is sent; the server's reply to it decides.
        case awaitingOutcome([UInt8])
    }

    private enum Phase {
        case initial
        case establishing
        case securityLayer
        case finished
    }

    // RFC 2744's major status values that matter here.
    private static let continueNeeded: UInt32 = 1
    private static let noCredentials: UInt32 = 7 << 16
    private static let credentialsExpired: UInt32 = 11 << 16
    private static let errorMask = zk_gss_functions.errorMask
    private static let mutualFlag: UInt32 = 2
    private static let confidentialityFlag: UInt32 = 16
    private static let integrityFlag: UInt32 = 32
    private static let initiateOnly: Int32 = 1
    private static let securityLayerNone: UInt8 = 1

    // MIT krb5's error codes (krb5.h), as the minor status carries them.
    private static let clientPrincipalUnknown = UInt32(bitPattern: -1_765_328_378)
    private static let serverPrincipalUnknown = UInt32(bitPattern: -1_765_328_377)
    private static let ticketExpiredCode = UInt32(bitPattern: -1_765_328_352)
    private static let credentialsCacheNotFound = UInt32(bitPattern: -1_765_328_243)
    private static let kdcUnreachable = UInt32(bitPattern: -1_765_328_228)
    private static let realmUnknown = UInt32(bitPattern: -1_765_328_230)
    private static let keytabNotFound = UInt32(bitPattern: -1_765_328_203)
    private static let credentialsCacheFileMissing = UInt32(bitPattern: -1_765_328_189)
    private static let realmCannotResolve = UInt32(bitPattern: -1_765_328_164)

    let login: KerberosLogin
    let serverHost: String
    private var phase = Phase.initial
    private var gss: zk_gss_functions?
    private var credential: zk_gss_cred?
    private var target: zk_gss_name?
    private var context: zk_gss_ctx?
    /// The client principal, once credentials are acquired.
    private(set) var clientName: String?
    private(set) var serverName: String?

    init(login: KerberosLogin, serverHost: String) {
        self.login = login
        self.serverHost = serverHost
    }

    deinit {
        guard let gss else { return }
        var minor: UInt32 = 0
        if context != nil { _ = gss.delete_sec_context!(&minor, &context, nil) }
        if target != nil { _ = gss.release_name!(&minor, &target) }
        if credential != nil { _ = gss.release_cred!(&minor, &credential) }
    }

    /// Loads the library, acquires credentials, and makes the first token (the Kerberos AP-REQ).
    func start() throws(KerberosError) -> [UInt8] {
        guard let table = zk_gss_load() else {
            throw KerberosError(
                .libraryNotInstalled,
                "Kerberos: cannot load the GSS-API library (install libgssapi-krb5-2): \(String(cString: zk_gss_load_error()))"
            )
        }
        gss = table.pointee
        try acquireCredentials()
        let name = login.serverPrincipalName(
            host: serverHost, clientRealm: clientName.flatMap(KerberosLogin.realm(of:)))
        serverName = name
        target = try importName(name)
        phase = .establishing
        guard case .respond(let token) = try establish(with: nil) else {
            throw KerberosError(.failed, "Kerberos: the security context completed without a token")
        }
        return token
    }

    /// The server sent `token`.
    func challengeReceived(_ token: [UInt8]) throws(KerberosError) -> Step {
        switch phase {
        case .initial, .finished:
            throw KerberosError(.failed, "Kerberos: the server sent a SASL token out of turn")
        case .establishing:
            return try establish(with: token)
        case .securityLayer:
            return .awaitingOutcome(try answerSecurityLayerOffer(token))
        }
    }

    private func establish(with input: [UInt8]?) throws(KerberosError) -> Step {
        guard let gss else { throw KerberosError(.failed, "Kerberos: not started") }
        var minor: UInt32 = 0
        var output = zk_gss_buffer(length: 0, value: nil)
        var returnedFlags: UInt32 = 0
        var inputBytes = input ?? []
        let major = inputBytes.withUnsafeMutableBytes { bytes in
            var buffer = zk_gss_buffer(length: bytes.count, value: bytes.baseAddress)
            return gss.init_sec_context!(
                &minor, credential, &context, target, zk_gss_mech_krb5(),
                Self.mutualFlag | Self.integrityFlag | Self.confidentialityFlag, 0, nil,
                &buffer, nil, &output, &returnedFlags, nil)
        }
        let token = gss.take(&output)
        if major & Self.errorMask != 0 {
            throw error(major: major, minor: minor, doing: "getting a ticket for \(serverName ?? "the server")")
        }
        if major & Self.continueNeeded != 0 { return .respond(token) }
        // Established: the server offers its security layers next, in answer to this (maybe empty) token.
        phase = .securityLayer
        return .respond(token)
    }

    /// RFC 4752 §3.1: unwrap the server's offer (layers bitmask, max size), answer "no layer", size 0, no authzid.
    private func answerSecurityLayerOffer(_ token: [UInt8]) throws(KerberosError) -> [UInt8] {
        guard let gss else { throw KerberosError(.failed, "Kerberos: not started") }
        var minor: UInt32 = 0
        var output = zk_gss_buffer(length: 0, value: nil)
        var confidential: Int32 = 0
        var qop: UInt32 = 0
        var wrapped = token
        let major = wrapped.withUnsafeMutableBytes { bytes in
            var buffer = zk_gss_buffer(length: bytes.count, value: bytes.baseAddress)
            return gss.unwrap!(&minor, context, &buffer, &output, &confidential, &qop)
        }
        let offer = gss.take(&output)
        if major & Self.errorMask != 0 {
            throw error(major: major, minor: minor, doing: "reading the server's security layer offer")
        }
        guard offer.count == 4 else {
            throw KerberosError(.failed, "Kerberos: the server's security layer offer has \(offer.count) bytes, not 4")
        }
        guard offer[0] & Self.securityLayerNone != 0 else {
            throw KerberosError(.failed, "Kerberos: the server requires a security layer, which ZooKeeper never uses")
        }
        var answer: [UInt8] = [Self.securityLayerNone, 0, 0, 0]
        var reply = zk_gss_buffer(length: 0, value: nil)
        let wrapMajor = answer.withUnsafeMutableBytes { bytes in
            var buffer = zk_gss_buffer(length: bytes.count, value: bytes.baseAddress)
            return gss.wrap!(&minor, context, 0, 0, &buffer, nil, &reply)
        }
        let wrappedAnswer = gss.take(&reply)
        if wrapMajor & Self.errorMask != 0 {
            throw error(major: wrapMajor, minor: minor, doing: "answering the server's security layer offer")
        }
        phase = .finished
        return wrappedAnswer
    }

    /// The ticket cache first when asked for (as Java's Krb5LoginModule does), then the keytab, which goes to a
    /// private in-memory cache: neither the user's cache nor the process environment is touched.
    private func acquireCredentials() throws(KerberosError) {
        var failure: KerberosError?
        if login.useTicketCache {
            var store: [(String, String)] = []
            if let cache = login.ticketCache { store.append(("ccache", cache)) }
            do throws(KerberosError) {
                try acquire(store: store, doing: "reading the ticket cache \(login.ticketCache ?? Self.defaultCache)")
                return
            } catch {
                failure = error
            }
        }
        if let keytab = login.keytab {
            var random = SystemRandomNumberGenerator()
            let cache = "MEMORY:zookeeper-\(random.next() as UInt64)"
            try acquire(
                store: [("client_keytab", keytab), ("ccache", cache)],
                doing: "getting a ticket for \(login.principal ?? "the keytab's principal") with the keytab \(keytab)")
            return
        }
        throw failure
            ?? KerberosError(.noTicket, "Kerberos: no credentials: neither a ticket cache nor a keytab is configured")
    }

    private static var defaultCache: String {
        getenv("KRB5CCNAME").map { String(cString: $0) } ?? "(the default cache)"
    }

    private func acquire(store: [(String, String)], doing action: String) throws(KerberosError) {
        guard let gss else { return }
        var minor: UInt32 = 0
        var desired: zk_gss_name?
        if let principal = login.principal {
            desired = try importName(principal)
        }
        defer { if desired != nil { _ = gss.release_name!(&minor, &desired) } }
        // The C strings live as long as the call.
        let keys = store.map { strdup($0.0) }
        let values = store.map { strdup($0.1) }
        defer { (keys + values).forEach { free($0) } }
        var elements = zip(keys, values).map { zk_gss_key_value_element(key: $0, value: $1) }
        var acquired: zk_gss_cred?
        var lifetime: UInt32 = 0
        let major = elements.withUnsafeMutableBufferPointer { buffer in
            var set = zk_gss_key_value_set(count: UInt32(buffer.count), elements: buffer.baseAddress)
            return withUnsafePointer(to: &set) { store in
                // No store: the library's defaults (KRB5CCNAME).
                gss.acquire_cred_from!(
                    &minor, desired, 0, nil, Self.initiateOnly, buffer.isEmpty ? nil : store, &acquired, nil, &lifetime)
            }
        }
        if major & Self.errorMask != 0 { throw error(major: major, minor: minor, doing: action) }
        // Probing the credential finds a missing or expired ticket now, with a clear cause, not at the server.
        var name: zk_gss_name?
        let inquired = gss.inquire_cred!(&minor, acquired, &name, &lifetime, nil, nil)
        if inquired & Self.errorMask != 0 {
            var failedMinor = minor
            _ = gss.release_cred!(&failedMinor, &acquired)
            throw error(major: inquired, minor: minor, doing: action)
        }
        credential = acquired
        clientName = gss.displayName(name)
        _ = gss.release_name!(&minor, &name)
    }

    private func importName(_ text: String) throws(KerberosError) -> zk_gss_name {
        guard let gss else { throw KerberosError(.failed, "Kerberos: not started") }
        var minor: UInt32 = 0
        var name: zk_gss_name?
        var bytes = Array(text.utf8)
        let major = bytes.withUnsafeMutableBytes { raw in
            var buffer = zk_gss_buffer(length: raw.count, value: raw.baseAddress)
            return gss.import_name!(&minor, &buffer, zk_gss_nt_krb5_principal(), &name)
        }
        guard major & Self.errorMask == 0, let name else {
            throw error(major: major, minor: minor, doing: "reading the principal name '\(text)'")
        }
        return name
    }

    private func error(major: UInt32, minor: UInt32, doing action: String) -> KerberosError {
        let detail = (minor != 0 ? gss?.statusText(minor, type: 2) : gss?.statusText(major, type: 1)) ?? ""
        let routine = major & 0x00ff_0000
        let code: KerberosError.Code
        let cause: String
        switch minor {
        case Self.credentialsCacheFileMissing, Self.credentialsCacheNotFound:
            code = .noTicket
            cause = "no ticket (run kinit, or use a keytab)"
        case Self.keytabNotFound:
            code = .noTicket
            cause = "the keytab has no key for the principal"
        case Self.ticketExpiredCode:
            code = .ticketExpired
            cause = "the ticket has expired (run kinit again)"
        case Self.clientPrincipalUnknown:
            code = .unknownPrincipal
            cause = "the KDC does not know the client principal"
        case Self.serverPrincipalUnknown:
            code = .unknownPrincipal
            cause = "the KDC does not know the server principal \(serverName ?? "")"
        case Self.kdcUnreachable, Self.realmCannotResolve, Self.realmUnknown:
            code = .kdcUnreachable
            cause = "cannot reach a KDC for the realm"
        default:
            switch routine {
            case Self.noCredentials:
                code = .noTicket
                cause = "no ticket (run kinit, or use a keytab)"
            case Self.credentialsExpired:
                code = .ticketExpired
                cause = "the ticket has expired (run kinit again)"
            default:
                code = .failed
                cause = "failed"
            }
        }
        return KerberosError(code, "Kerberos: \(cause) while \(action)" + (detail.isEmpty ? "" : " (\(detail))"))
    }

    /// The canonical name of a host's first address (Java's `InetAddress.getCanonicalHostName`), or nil when
    /// the address has no name.
    static func canonicalName(of host: String) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        guard
            getnameinfo(
                first.pointee.ai_addr, first.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NAMEREQD) == 0
        else { return nil }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension KerberosLogin {
    static func canonicalName(_ host: String) -> String? { GSSAPIMechanism.canonicalName(of: host) }
}
