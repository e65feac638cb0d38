import GSSAPISupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The Kerberos login of a zkserver: the JAAS `Server` section's `Krb5LoginModule` (`principal`, `keyTab`).
public struct KerberosServerLogin: Sendable, Hashable {
    /// The service principal clients ask tickets for, e.g. `zookeeper/host@REALM`.
    public var principal: String
    /// The keytab with its keys; nil: the library's default keytab (`KRB5_KTNAME`, krb5.conf).
    public var keytab: String?

    /// Runs on the acceptor's thread before each step (tests block it to show that a slow acceptor stalls only its
    /// own connection); nil outside tests.
    var beforeEachStep: GSSAPIStepHook?

    public init(principal: String, keytab: String?) {
        self.principal = principal
        self.keytab = keytab
    }

    /// Loads the GSS-API library and acquires the acceptor credentials once, so that a missing library, keytab or
    /// key is reported at start-up in one line rather than at the first client's login.
    public func checkCredentials() throws(ZooCfg.Failure) {
        let mechanism = GSSAPIServerMechanism(login: self)
        if let failure = mechanism.acquireCredentials() { throw ZooCfg.Failure(failure) }
    }
}

/// A test's hook into each GSSAPI step, equal only to itself.
final class GSSAPIStepHook: Sendable, Hashable {
    let run: @Sendable () -> Void

    init(_ run: @escaping @Sendable () -> Void) { self.run = run }

    static func == (lhs: GSSAPIStepHook, rhs: GSSAPIStepHook) -> Bool { lhs === rhs }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// The SASL GSSAPI mechanism (RFC 4752), server side, over the system's GSS-API library loaded on first use.
///
/// The exchange: the client's security-context tokens are accepted until the context is established (the last
/// one answered with the mutual-authentication token); the client's next (empty) token is answered with the
/// wrapped 4-byte offer "no security layer, maximum size 0"; the client's wrapped answer must choose no security
/// layer, and the login is complete: the identity is the client's principal (any authorization id the client
/// names is ignored, as Apache's callback handler authorizes every authenticated principal as itself).
///
/// A class because it owns library handles, released in `deinit`. Accepting a context needs no KDC (the ticket
/// is decrypted with the keytab's key), but the calls read the keytab and write the replay cache, which can be
/// slow, so the server runs each step on a thread pool (`ServerRuntime`), never on its event loop. Unchecked
/// Sendable: one thread at a time uses it, because its connection reads no further request until a step's answer
/// is back on the event loop.
final class GSSAPIServerMechanism: @unchecked Sendable {
    enum Step: Equatable {
        /// Send this token; the exchange goes on.
        case challenge([UInt8])
        /// The client is `principal` (as the library displays it: `name[/host]@REALM`); nothing more to send.
        case completed(principal: String)
        /// The exchange failed; the text says why (for the log, never for the client).
        case failed(String)
    }

    private enum Phase {
        case establishing
        /// Established; the client's next token is answered with the security-layer offer.
        case established
        case offerSent
        case finished
    }

    private static let continueNeeded: UInt32 = 1
    private static let errorMask = zk_gss_functions.errorMask
    private static let acceptOnly: Int32 = 2
    private static let securityLayerNone: UInt8 = 1

    let login: KerberosServerLogin
    private var phase = Phase.establishing
    private var gss: zk_gss_functions?
    private var credential: zk_gss_cred?
    private var context: zk_gss_ctx?
    private var clientPrincipal: String?

    init(login: KerberosServerLogin) {
        self.login = login
    }

    deinit {
        guard let gss else { return }
        var minor: UInt32 = 0
        if context != nil { _ = gss.delete_sec_context!(&minor, &context, nil) }
        if credential != nil { _ = gss.release_cred!(&minor, &credential) }
    }

    /// The client sent `token`: the next step. After a failure every further token fails too.
    func responseReceived(_ token: [UInt8]) -> Step {
        login.beforeEachStep?.run()
        let step: Step
        switch phase {
        case .establishing:
            step = establish(with: token)
        case .established:
            step = offerSecurityLayers()
        case .offerSent:
            step = readSecurityLayerChoice(token)
        case .finished:
            step = .failed("GSSAPI: a token after the exchange ended")
        }
        if case .failed = step { phase = .finished }
        return step
    }

    /// Loads the library and acquires the acceptor credentials for the principal from the keytab; nil when done.
    func acquireCredentials() -> String? {
        if credential != nil { return nil }
        guard let table = zk_gss_load() else {
            return "Kerberos: cannot load the GSS-API library (install libgssapi-krb5-2): "
                + String(cString: zk_gss_load_error())
        }
        gss = table.pointee
        var minor: UInt32 = 0
        var name: zk_gss_name?
        var principalBytes = Array(login.principal.utf8)
        let imported = principalBytes.withUnsafeMutableBytes { raw in
            var buffer = zk_gss_buffer(length: raw.count, value: raw.baseAddress)
            return table.pointee.import_name!(&minor, &buffer, zk_gss_nt_krb5_principal(), &name)
        }
        if imported & Self.errorMask != 0 {
            return failure(major: imported, minor: minor, doing: "reading the principal name '\(login.principal)'")
        }
        defer { _ = table.pointee.release_name!(&minor, &name) }
        let key = strdup("keytab")
        let value = strdup(login.keytab ?? "")
        defer {
            free(key)
            free(value)
        }
        var element = zk_gss_key_value_element(key: key, value: value)
        var acquired: zk_gss_cred?
        let major = withUnsafeMutablePointer(to: &element) { element in
            var store = zk_gss_key_value_set(count: 1, elements: element)
            return withUnsafePointer(to: &store) { store in
                table.pointee.acquire_cred_from!(
                    &minor, name, 0, nil, Self.acceptOnly, login.keytab == nil ? nil : store, &acquired, nil, nil)
            }
        }
        if major & Self.errorMask != 0 {
            return failure(
                major: major, minor: minor,
                doing:
                    "getting the keys of \(login.principal) from the keytab \(login.keytab ?? "(the default keytab)")")
        }
        credential = acquired
        return nil
    }

    private func establish(with token: [UInt8]) -> Step {
        // The library would wait for a token rather than refuse an empty one; Java's acceptor refuses it.
        guard !token.isEmpty else { return .failed("GSSAPI: an empty security context token") }
        if let failure = acquireCredentials() { return .failed(failure) }
        guard let gss else { return .failed("GSSAPI: the library is not loaded") }
        var minor: UInt32 = 0
        var output = zk_gss_buffer(length: 0, value: nil)
        var source: zk_gss_name?
        var input = token
        let major = input.withUnsafeMutableBytes { bytes in
            var buffer = zk_gss_buffer(length: bytes.count, value: bytes.baseAddress)
            return gss.accept_sec_context!(
                &minor, &context, credential, &buffer, nil, &source, nil, &output, nil, nil, nil)
        }
        let reply = gss.take(&output)
        defer { if source != nil { _ = gss.release_name!(&minor, &source) } }
        if major & Self.errorMask != 0 {
            return .failed(failure(major: major, minor: minor, doing: "accepting the client's security context"))
        }
        if major & Self.continueNeeded != 0 { return .challenge(reply) }
        guard let principal = gss.displayName(source) else {
            return .failed("GSSAPI: the client's principal has no name")
        }
        clientPrincipal = principal
        phase = .established
        return .challenge(reply)
    }

    /// RFC 4752 §3.1: layers bitmask "none", maximum message size 0.
    private func offerSecurityLayers() -> Step {
        guard let gss else { return .failed("GSSAPI: the library is not loaded") }
        var minor: UInt32 = 0
        var offer: [UInt8] = [Self.securityLayerNone, 0, 0, 0]
        var output = zk_gss_buffer(length: 0, value: nil)
        let major = offer.withUnsafeMutableBytes { bytes in
            var buffer = zk_gss_buffer(length: bytes.count, value: bytes.baseAddress)
            return gss.wrap!(&minor, context, 0, 0, &buffer, nil, &output)
        }
        let wrapped = gss.take(&output)
        if major & Self.errorMask != 0 {
            return .failed(failure(major: major, minor: minor, doing: "wrapping the security layer offer"))
        }
        phase = .offerSent
        return .challenge(wrapped)
    }

    /// The client's wrapped answer: its chosen layer, its maximum size, and an authorization id (ignored).
    private func readSecurityLayerChoice(_ token: [UInt8]) -> Step {
        guard let gss else { return .failed("GSSAPI: the library is not loaded") }
        var minor: UInt32 = 0
        var output = zk_gss_buffer(length: 0, value: nil)
        var wrapped = token
        let major = wrapped.withUnsafeMutableBytes { bytes in
            var buffer = zk_gss_buffer(length: bytes.count, value: bytes.baseAddress)
            return gss.unwrap!(&minor, context, &buffer, &output, nil, nil)
        }
        let choice = gss.take(&output)
        if major & Self.errorMask != 0 {
            return .failed(failure(major: major, minor: minor, doing: "unwrapping the client's security layer choice"))
        }
        guard choice.count >= 4 else {
            return .failed("GSSAPI: the client's security layer choice has \(choice.count) bytes, not at least 4")
        }
        guard choice[0] == Self.securityLayerNone else {
            return .failed("GSSAPI: the client chose security layer \(choice[0]), but only none (1) was offered")
        }
        guard let clientPrincipal else { return .failed("GSSAPI: no client principal") }
        phase = .finished
        return .completed(principal: clientPrincipal)
    }

    /// "Kerberos: failed while ACTION (the library's words)".
    private func failure(major: UInt32, minor: UInt32, doing action: String) -> String {
        let detail = (minor != 0 ? gss?.statusText(minor, type: 2) : gss?.statusText(major, type: 1)) ?? ""
        return "Kerberos: failed while \(action)" + (detail.isEmpty ? "" : " (\(detail))")
    }

}
