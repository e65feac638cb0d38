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

    private enum Mechanism: Sendable {
        case digestMD5(DigestMD5Client)
        case gssapi(GSSAPIMechanism, awaitingOutcome: Bool)
    }

    private let credentials: SASLCredentials
    private var mechanism: Mechanism

    /// - Parameter serverHost: the host connected to, as the connect string names it (GSSAPI's server principal).
    init(credentials: SASLCredentials, cnonce: String, serverHost: String) {
        self.credentials = credentials
        switch credentials.mechanism {
        case .digestMD5(let username, let password):
            // Apache's client names the username as authorization id too.
            mechanism = .digestMD5(
                DigestMD5Client(username: username, password: password, authorizationID: username, cnonce: cnonce))
        case .kerberos(let login):
            mechanism = .gssapi(GSSAPIMechanism(login: login, serverHost: serverHost), awaitingOutcome: false)
        }
    }

    /// The first token of the exchange (GSSAPI acquires the credentials and a service ticket here).
    func start() -> Step {
        switch mechanism {
        case .digestMD5(let digest):
            return .send(digest.initialResponse)
        case .gssapi(let gssapi, _):
            do throws(KerberosError) {
                return .send(try gssapi.start())
            } catch {
                return .failed(reason: "SASL GSSAPI authentication failed: \(error.message)")
            }
        }
    }

    /// The identity authenticated as, for messages.
    private var identity: String {
        switch mechanism {
        case .digestMD5: credentials.username
        case .gssapi(let gssapi, _): gssapi.clientName ?? credentials.username
        }
    }

    /// The reply to the last token sent: its error code, and the server's token when there is no error.
    mutating func replyReceived(error: ZooKeeperError.Code, token: [UInt8]?) -> Step {
        guard error == .ok else {
            // Apache says no more than the code; the cause is only in its log.
            let hint =
                switch mechanism {
                case .digestMD5: "wrong username or password?"
                case .gssapi(let gssapi, _):
                    "is \(gssapi.serverName ?? "the server principal") the server's principal, in its JAAS Server section?"
                }
            return .failed(
                reason:
                    "SASL \(credentials.mechanismName) authentication as \(identity) failed: the server answered \(error.message) (\(hint))"
            )
        }
        switch mechanism {
        case .digestMD5(var digest):
            let step = digest.challengeReceived(token ?? [])
            mechanism = .digestMD5(digest)
            switch step {
            case .respond(let next): return .send(next)
            case .completed: return .completed
            case .failed(let reason):
                return .failed(reason: "SASL authentication as \(credentials.username) failed: \(reason)")
            }
        case .gssapi(let gssapi, let awaitingOutcome):
            // The server accepted the last response: authenticated.
            if awaitingOutcome { return .completed }
            do throws(KerberosError) {
                switch try gssapi.challengeReceived(token ?? []) {
                case .respond(let next):
                    return .send(next)
                case .awaitingOutcome(let last):
                    mechanism = .gssapi(gssapi, awaitingOutcome: true)
                    return .send(last)
                }
            } catch {
                return .failed(reason: "SASL GSSAPI authentication as \(identity) failed: \(error.message)")
            }
        }
    }
}
