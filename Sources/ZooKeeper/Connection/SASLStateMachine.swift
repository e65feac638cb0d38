import ZooKeeperProtocol

/// The SASL exchange on one connection, between the ConnectResponse and the first caller's request: tokens go
/// out as ordinary requests (opcode 102, GetSASLRequest) and come back in SetSASLResponse replies, until the
/// mechanism is satisfied. A failure ends the session's attempts: the credentials are wrong and retrying would
/// not make them right.
struct SASLStateMachine: Sendable {
    enum Step: Equatable, Sendable {
        /// Send this token (GetSASLRequest).
        case send([UInt8])
        case completed
        /// Authentication failed; the reason is for the user.
        case failed(reason: String)
    }

    private let credentials: SASLCredentials
    private var digest: DigestMD5Client

    init(credentials: SASLCredentials, cnonce: String) {
        self.credentials = credentials
        switch credentials.mechanism {
        case .digestMD5(let username, let password):
            // Apache's client names the username as authorization id too.
            digest = DigestMD5Client(username: username, password: password, authorizationID: username, cnonce: cnonce)
        }
    }

    /// The first token of the exchange.
    func start() -> [UInt8] { digest.initialResponse }

    /// The reply to the last token sent: its error code, and the server's token when there is no error.
    mutating func replyReceived(error: ZooKeeperError.Code, token: [UInt8]?) -> Step {
        guard error == .ok else {
            // Apache says no more than the code; the cause (wrong password, unknown user) is only in its log.
            return .failed(
                reason:
                    "SASL \(credentials.mechanismName) authentication as \(credentials.username) failed: the server answered \(error.message) (wrong username or password?)"
            )
        }
        switch digest.challengeReceived(token ?? []) {
        case .respond(let next): return .send(next)
        case .completed: return .completed
        case .failed(let reason):
            return .failed(reason: "SASL authentication as \(credentials.username) failed: \(reason)")
        }
    }
}
