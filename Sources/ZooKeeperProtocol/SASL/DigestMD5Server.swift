/// SASL DIGEST-MD5 (RFC 2831), the server side, with authentication only (qop `auth`), as a ZooKeeper server
/// runs it: realm `zk-sasl-md5`, digest-uri `zookeeper/zk-sasl-md5`, users and passwords from the JAAS `Server`
/// section.
///
/// The exchange: the client's first token is empty and the server answers with a challenge; the client's digest
/// response is checked against the user's password and answered with `rspauth`, which proves the server knows it
/// too. The identity is the authenticated username (an `authzid` is accepted but, as in Apache, does not change
/// the identity). Unlike Apache 3.8, an unknown user is always refused (Apache's shared callback handler can check
/// an unknown user against the password of the user it looked up last).
public struct DigestMD5Server: Sendable {
    public enum Step: Equatable, Sendable {
        /// Send this challenge; the exchange goes on.
        case challenge([UInt8])
        /// The client proved it knows `username`'s password; send `token` (the `rspauth`) and the exchange is over.
        case completed(username: String, token: [UInt8])
        /// The exchange failed; the text says why (for the log, never for the client).
        case failed(String)
    }

    private enum State: Sendable {
        case awaitingInitialResponse
        case challengeSent
        case completed
        case failed
    }

    /// The largest response accepted, as Java's DIGEST-MD5 server.
    public static let maximumResponseLength = 4096

    public let realm: String
    public let digestURI: String
    private let nonce: String
    private let passwords: [String: String]
    private var state = State.awaitingInitialResponse

    /// - Parameters:
    ///   - passwords: the password of each user.
    ///   - nonce: the server nonce: random, at least 64 bits, quoted-string safe (e.g. hex).
    public init(
        passwords: [String: String], nonce: String, service: String = DigestMD5Client.zooKeeperService,
        host: String = DigestMD5Client.zooKeeperHost
    ) {
        self.passwords = passwords
        self.nonce = nonce
        realm = host
        digestURI = "\(service)/\(host)"
    }

    public var isComplete: Bool {
        if case .completed = state { return true }
        return false
    }

    /// The client sent `token`: the next step.
    public mutating func responseReceived(_ token: [UInt8]) -> Step {
        let step: Step
        switch state {
        case .awaitingInitialResponse:
            if token.isEmpty {
                state = .challengeSent
                step = .challenge(Array(challenge.utf8))
            } else {
                step = .failed("DIGEST-MD5 must not have an initial response")
            }
        case .challengeSent:
            step = verify(token)
        case .completed:
            step = .failed("DIGEST-MD5: a token after the exchange completed")
        case .failed:
            step = .failed("DIGEST-MD5: a token after the exchange failed")
        }
        switch step {
        case .challenge: return step
        case .completed:
            state = .completed
            return step
        case .failed(let reason):
            // The reason quotes what the client sent: one line in the log whatever it sent.
            state = .failed
            return .failed(reason.escapingLineEnds)
        }
    }

    /// Java's order of directives, which clients parse in any order.
    private var challenge: String {
        "realm=\(DigestDirectives.quote(realm)),nonce=\(DigestDirectives.quote(nonce)),qop=\"auth\","
            + "charset=utf-8,algorithm=md5-sess"
    }

    private func verify(_ token: [UInt8]) -> Step {
        guard token.count <= Self.maximumResponseLength else {
            return .failed("DIGEST-MD5: a response of \(token.count) bytes (at most \(Self.maximumResponseLength))")
        }
        let response: DigestDirectives
        do {
            response = try DigestDirectives(parsing: token)
        } catch {
            return .failed("DIGEST-MD5: malformed response (\(error.reason))")
        }
        for name in ["username", "nonce", "cnonce", "nc", "response", "digest-uri"] {
            guard response.all(name).count == 1 else {
                return .failed("DIGEST-MD5: the response needs exactly one \(name)")
            }
        }
        let username = response.first("username")!
        guard response.first("nonce") == nonce else { return .failed("DIGEST-MD5: the response's nonce is not ours") }
        guard response.first("nc") == "00000001" else { return .failed("DIGEST-MD5: nonce count is not 00000001") }
        let qop = response.first("qop") ?? "auth"
        guard qop == "auth" else { return .failed("DIGEST-MD5: qop \(qop) was not offered") }
        guard response.first("realm") ?? "" == realm else {
            return .failed("DIGEST-MD5: realm '\(response.first("realm") ?? "")' was not offered")
        }
        guard response.first("digest-uri") == digestURI else {
            return .failed("DIGEST-MD5: digest-uri '\(response.first("digest-uri")!)' is not \(digestURI)")
        }
        if let charset = response.first("charset"), charset.lowercased() != "utf-8" {
            return .failed("DIGEST-MD5: charset \(charset)")
        }
        guard let password = passwords[username] else {
            return .failed("DIGEST-MD5: no user '\(username)' in the JAAS Server section")
        }
        let values = DigestMD5Values(
            username: username, realm: realm, password: password, nonce: nonce, cnonce: response.first("cnonce")!,
            nc: "00000001", qop: qop, digestURI: digestURI, authorizationID: response.first("authzid"))
        guard response.first("response")!.lowercased() == values.response else {
            return .failed("DIGEST-MD5: wrong password for user '\(username)'")
        }
        return .completed(username: username, token: Array("rspauth=\(values.serverProof)".utf8))
    }
}
