/// SASL DIGEST-MD5 (RFC 2831), the client side, with authentication only (qop `auth`: no integrity or
/// confidentiality layer, which ZooKeeper never negotiates).
///
/// The exchange: the client opens with an empty token; the server sends a challenge (realm, nonce, qop,
/// charset, algorithm); the client answers with its digest response; the server proves it knew the password
/// too with `rspauth`, which the client checks. ZooKeeper fixes the service to `zookeeper` and the host to
/// `zk-sasl-md5` on both sides, whatever the server's real name.
public struct DigestMD5Client: Sendable {
    /// Apache ZooKeeper's service name and (fixed) server name for DIGEST-MD5.
    public static let zooKeeperService = "zookeeper"
    public static let zooKeeperHost = "zk-sasl-md5"

    public enum Step: Equatable, Sendable {
        /// Send this token to the server.
        case respond([UInt8])
        /// The server proved it knows the password: authenticated.
        case completed
        /// The exchange cannot go on; the text says why.
        case failed(String)
    }

    private enum State: Sendable {
        case awaitingChallenge
        case awaitingServerProof(expected: String)
        case completed
        case failed
    }

    public let username: String
    private let password: String
    public let authorizationID: String?
    public let digestURI: String
    private let cnonce: String
    private var state = State.awaitingChallenge

    /// - Parameters:
    ///   - authorizationID: the identity to act as; Apache's client sends the username.
    ///   - cnonce: the client nonce: random, at least 64 bits, quoted-string safe (e.g. base64 or hex).
    public init(
        username: String, password: String, authorizationID: String?, service: String = zooKeeperService,
        host: String = zooKeeperHost, cnonce: String
    ) {
        self.username = username
        self.password = password
        self.authorizationID = authorizationID
        self.digestURI = "\(service)/\(host)"
        self.cnonce = cnonce
    }

    /// The first token: empty, since DIGEST-MD5 starts with the server's challenge.
    public var initialResponse: [UInt8] { [] }

    public var isComplete: Bool {
        if case .completed = state { return true }
        return false
    }

    /// The server sent `token`: the next step. A failure's text quotes what the server sent, its line ends escaped.
    public mutating func challengeReceived(_ token: [UInt8]) -> Step {
        let next = advance(token)
        if case .failed(let reason) = next { return .failed(reason.escapingLineEnds) }
        return next
    }

    private mutating func advance(_ token: [UInt8]) -> Step {
        switch state {
        case .awaitingChallenge:
            let step = respond(toChallenge: token)
            if case .failed = step { state = .failed }
            return step
        case .awaitingServerProof(let expected):
            guard let directives = try? DigestDirectives(parsing: token), let proof = directives.first("rspauth")
            else {
                state = .failed
                return .failed("DIGEST-MD5: the server's last message has no rspauth")
            }
            guard proof.lowercased() == expected else {
                state = .failed
                return .failed("DIGEST-MD5: the server's rspauth is wrong (it does not know the password)")
            }
            state = .completed
            return .completed
        case .completed:
            return .failed("DIGEST-MD5: the server sent a token after the exchange completed")
        case .failed:
            return .failed("DIGEST-MD5: the exchange already failed")
        }
    }

    private mutating func respond(toChallenge token: [UInt8]) -> Step {
        let challenge: DigestDirectives
        do {
            challenge = try DigestDirectives(parsing: token)
        } catch {
            return .failed("DIGEST-MD5: malformed challenge from the server (\(error.reason))")
        }
        guard let nonce = challenge.first("nonce") else { return .failed("DIGEST-MD5: the challenge has no nonce") }
        guard challenge.first("algorithm")?.lowercased() == "md5-sess" else {
            return .failed("DIGEST-MD5: the challenge does not offer algorithm md5-sess")
        }
        let qopOptions = (challenge.first("qop") ?? "auth").split(separator: ",").map {
            $0.trimmingWhitespace().lowercased()
        }
        guard qopOptions.contains("auth") else {
            return .failed(
                "DIGEST-MD5: the server does not offer qop auth (offers \(qopOptions.joined(separator: ",")))")
        }
        let utf8 = challenge.first("charset")?.lowercased() == "utf-8"
        // With several realms offered, the first; with none, the empty realm (RFC 2831 2.1.2).
        let realm = challenge.all("realm").first ?? ""
        let nc = "00000001"
        let values = DigestMD5Values(
            username: username, realm: realm, password: password, nonce: nonce, cnonce: cnonce, nc: nc,
            qop: "auth", digestURI: digestURI, authorizationID: authorizationID)

        var response: [String] = []
        if utf8 { response.append("charset=utf-8") }
        response.append("username=\(DigestDirectives.quote(username))")
        response.append("realm=\(DigestDirectives.quote(realm))")
        response.append("nonce=\(DigestDirectives.quote(nonce))")
        response.append("nc=\(nc)")
        response.append("cnonce=\(DigestDirectives.quote(cnonce))")
        response.append("digest-uri=\(DigestDirectives.quote(digestURI))")
        response.append("maxbuf=65536")
        response.append("response=\(values.response)")
        response.append("qop=auth")
        if let authorizationID { response.append("authzid=\(DigestDirectives.quote(authorizationID))") }
        state = .awaitingServerProof(expected: values.serverProof)
        return .respond(Array(response.joined(separator: ",").utf8))
    }
}

/// The values of one DIGEST-MD5 authentication and the two digests computed from them (RFC 2831 2.1.2.1):
/// `response`, which the client sends, and `rspauth`, which the server sends back.
public struct DigestMD5Values: Sendable {
    public var username: String
    public var realm: String
    public var password: String
    public var nonce: String
    public var cnonce: String
    public var nc: String
    public var qop: String
    public var digestURI: String
    public var authorizationID: String?

    public init(
        username: String, realm: String, password: String, nonce: String, cnonce: String, nc: String, qop: String,
        digestURI: String, authorizationID: String?
    ) {
        self.username = username
        self.realm = realm
        self.password = password
        self.nonce = nonce
        self.cnonce = cnonce
        self.nc = nc
        self.qop = qop
        self.digestURI = digestURI
        self.authorizationID = authorizationID
    }

    /// The `response` directive.
    public var response: String { digest(a2Prefix: "AUTHENTICATE:") }

    /// The `rspauth` directive.
    public var serverProof: String { digest(a2Prefix: ":") }

    private func digest(a2Prefix: String) -> String {
        // A1 = H(username:realm:password) ":" nonce ":" cnonce [":" authzid]; the first part is the raw digest.
        var a1 = MD5.hash(
            credentialBytes(username) + [0x3A] + credentialBytes(realm) + [0x3A] + credentialBytes(password))
        a1 += Array(":\(nonce):\(cnonce)".utf8)
        if let authorizationID { a1 += Array(":\(authorizationID)".utf8) }
        var a2 = a2Prefix + digestURI
        if qop == "auth-int" || qop == "auth-conf" { a2 += ":00000000000000000000000000000000" }
        let kd = MD5.hex(MD5.hash(a1)) + ":\(nonce):\(nc):\(cnonce):\(qop):" + MD5.hex(MD5.hash(Array(a2.utf8)))
        return MD5.hex(MD5.hash(Array(kd.utf8)))
    }

    /// RFC 2831 2.1.2.1: with charset=utf-8, a string that fits ISO 8859-1 is hashed in ISO 8859-1 all the
    /// same; only one that does not is hashed in UTF-8 (without charset, such a string cannot be sent at all).
    private func credentialBytes(_ text: String) -> [UInt8] {
        if text.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
            return text.unicodeScalars.map { UInt8($0.value) }
        }
        return Array(text.utf8)
    }
}

/// A DIGEST-MD5 message: a comma-separated list of `name=value` directives, each value a token or a
/// quoted string (RFC 2831 section 7.1, with its `#rule` allowing empty elements and white space).
public struct DigestDirectives: Sendable, Equatable {
    public struct ParseError: Error, Sendable, Equatable {
        public var reason: String
    }

    /// In the order received; names lower-cased (they are case-insensitive).
    public private(set) var directives: [(name: String, value: String)]

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.directives.elementsEqual(rhs.directives) { $0.name == $1.name && $0.value == $1.value }
    }

    public init(parsing token: [UInt8]) throws(ParseError) {
        guard let text = String(validating: token, as: UTF8.self) else {
            throw ParseError(reason: "not UTF-8")
        }
        var directives: [(String, String)] = []
        var characters = Substring(text).unicodeScalars[...]
        func skipWhitespace() {
            while let first = characters.first, first == " " || first == "\t" || first == "\r" || first == "\n" {
                characters.removeFirst()
            }
        }
        while true {
            skipWhitespace()
            if characters.isEmpty { break }
            if characters.first == "," {
                characters.removeFirst()
                continue
            }
            var name = ""
            while let first = characters.first, first != "=", first != ",", first != " ", first != "\t" {
                name.unicodeScalars.append(first)
                characters.removeFirst()
            }
            skipWhitespace()
            guard !name.isEmpty, characters.first == "=" else {
                throw ParseError(reason: "expected name=value at '\(String(characters.prefix(20)))'")
            }
            characters.removeFirst()
            skipWhitespace()
            var value = ""
            if characters.first == "\"" {
                characters.removeFirst()
                var closed = false
                while let next = characters.popFirst() {
                    if next == "\\" {
                        guard let escaped = characters.popFirst() else { break }
                        value.unicodeScalars.append(escaped)
                    } else if next == "\"" {
                        closed = true
                        break
                    } else {
                        value.unicodeScalars.append(next)
                    }
                }
                guard closed else { throw ParseError(reason: "unterminated quoted value of \(name)") }
            } else {
                while let first = characters.first, first != ",", first != " ", first != "\t" {
                    value.unicodeScalars.append(first)
                    characters.removeFirst()
                }
            }
            directives.append((name.lowercased(), value))
            skipWhitespace()
            if let first = characters.first, first != "," {
                throw ParseError(reason: "expected ',' after \(name)")
            }
        }
        self.directives = directives
    }

    public func first(_ name: String) -> String? {
        directives.first { $0.name == name }?.value
    }

    public func all(_ name: String) -> [String] {
        directives.filter { $0.name == name }.map(\.value)
    }

    /// A quoted string, with `"` and `\` escaped. Scalar by scalar, as the parser reads: a Character can hold a
    /// `"` with a combining mark after it.
    public static func quote(_ value: String) -> String {
        var quoted = "\""
        for scalar in value.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { quoted.unicodeScalars.append("\\") }
            quoted.unicodeScalars.append(scalar)
        }
        return quoted + "\""
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension String {
    /// The text with its line ends written as `\n` and `\r`: a message that quotes what a peer or a file gave
    /// stays one line. Scalar by scalar: CRLF is one Character, equal to neither.
    package var escapingLineEnds: String {
        guard unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) else { return self }
        var escaped = ""
        for scalar in unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}
