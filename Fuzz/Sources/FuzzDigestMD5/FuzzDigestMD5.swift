import FuzzSupport
import ZooKeeperProtocol

/// SASL DIGEST-MD5, both sides: the directive parser, the client fed a challenge and a server's last message,
/// the server fed an initial response and a client's digest response. The first byte picks the side.
///
/// What must hold: parsing yields directives or a `ParseError`, and whatever parses, written back with `quote`,
/// parses to the same directives. The client answers a challenge with a response that parses and whose digest is
/// the one RFC 2831 gives for the challenge's nonce and realm; it completes only on the right `rspauth`. The server
/// completes only for a response whose digest is right for a user it knows, and its proof is the one the client
/// expects. Every failure is one non-empty line.
@main struct FuzzDigestMD5Main {
    static func main() { runFuzzer(fuzzDigestMD5) }
}

let users = ["bob": "secret", "alice": "päss\"word\\", "": ""]
let serverNonce = "R+ZMzrUoyFRsM6VN4ZkU1g=="
let cnonce = "OA6MG9tEQGm2hh"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDigestMD5(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    switch input.below(3) {
    case 0: fuzzDirectives(input.remaining)
    case 1: fuzzClient(&input)
    default: fuzzServer(&input)
    }
    return 0
}

func checkOneLine(_ reason: String) {
    fuzzCheck(!reason.isEmpty, "an empty failure")
    fuzzCheck(
        !reason.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }, "a failure of more than one line: \(reason)")
}

/// Parses `token`; what parses must survive being written back.
@discardableResult
func fuzzDirectives(_ token: [UInt8]) -> DigestDirectives? {
    let directives: DigestDirectives
    do {
        directives = try DigestDirectives(parsing: token)
    } catch {
        // The reason quotes the input; the client and the server make it one line when they report it.
        fuzzCheck(!error.reason.isEmpty, "an empty parse failure")
        return nil
    }
    for directive in directives.directives {
        fuzzCheck(!directive.name.isEmpty, "a directive without a name")
        fuzzCheck(directive.name == directive.name.lowercased(), "name \(directive.name) not lower-cased")
    }
    let written = directives.directives.map { "\($0.name)=\(DigestDirectives.quote($0.value))" }.joined(separator: ",")
    do {
        let again = try DigestDirectives(parsing: Array(written.utf8))
        fuzzCheck(again == directives, "\(directives.directives) written as \(written) reads \(again.directives)")
    } catch {
        fuzzCheck(false, "\(directives.directives) written as \(written) does not parse: \(error.reason)")
    }
    return directives
}

/// A client for one of the users, fed a challenge, then the server's last message.
func fuzzClient(_ input: inout FuzzInput) {
    let (username, password) = users.sorted { $0.key < $1.key }[input.below(users.count)]
    let authorizationID: String? = input.bool() ? username : nil
    var client = DigestMD5Client(
        username: username, password: password, authorizationID: authorizationID, cnonce: cnonce)
    fuzzCheck(client.initialResponse.isEmpty, "DIGEST-MD5 has no initial response")
    let split = input.below(1024)
    let rest = input.remaining
    let challenge = Array(rest.prefix(split))
    let last = Array(rest.dropFirst(split))

    let parsedChallenge = try? DigestDirectives(parsing: challenge)
    switch client.challengeReceived(challenge) {
    case .completed:
        fuzzCheck(false, "the client completed on a challenge")
    case .failed(let reason):
        checkOneLine(reason)
        fuzzCheck(!client.isComplete, "complete after a failure")
        return
    case .respond(let response):
        guard let parsedChallenge, let nonce = parsedChallenge.first("nonce") else {
            fuzzCheck(false, "a response to a challenge without a nonce")
            return
        }
        guard let parsed = fuzzDirectives(response) else {
            fuzzCheck(false, "the client's response does not parse: \(String(decoding: response, as: UTF8.self))")
            return
        }
        let realm = parsedChallenge.all("realm").first ?? ""
        fuzzCheck(
            parsed.first("username") == username, "response username \(String(describing: parsed.first("username")))")
        fuzzCheck(
            parsed.first("nonce") == nonce, "response nonce \(String(describing: parsed.first("nonce"))), not \(nonce)")
        fuzzCheck(
            parsed.first("realm") == realm, "response realm \(String(describing: parsed.first("realm"))), not \(realm)")
        fuzzCheck(parsed.first("authzid") == authorizationID, "response authzid")
        let values = DigestMD5Values(
            username: username, realm: realm, password: password, nonce: nonce, cnonce: cnonce, nc: "00000001",
            qop: "auth", digestURI: "zookeeper/zk-sasl-md5", authorizationID: authorizationID)
        fuzzCheck(parsed.first("response") == values.response, "the response's digest is not RFC 2831's")

        // The server's proof: the right one, the input, or the right one damaged by the input.
        let proof = Array("rspauth=\(values.serverProof)".utf8)
        let message: [UInt8]
        switch (last.first ?? 0) % 3 {
        case 0: message = proof
        case 1: message = Array(last.dropFirst())
        default: message = proof.enumerated().map { $0.offset < last.count ? $0.element ^ last[$0.offset] : $0.element }
        }
        let rspauth = (try? DigestDirectives(parsing: message))?.first("rspauth")?.lowercased()
        switch client.challengeReceived(message) {
        case .completed:
            fuzzCheck(rspauth == values.serverProof, "completed on rspauth \(String(describing: rspauth))")
            fuzzCheck(client.isComplete, "completed but not complete")
        case .failed(let reason):
            checkOneLine(reason)
            fuzzCheck(rspauth != values.serverProof, "the right rspauth refused: \(reason)")
        case .respond:
            fuzzCheck(false, "a third token from the client")
        }
        if case .respond = client.challengeReceived(last) { fuzzCheck(false, "a token after the end") }
    }
}

/// The server, fed an initial response (mostly empty) and a response: the input's, or one a real client made
/// and the input damaged.
func fuzzServer(_ input: inout FuzzInput) {
    var server = DigestMD5Server(passwords: users, nonce: serverNonce)
    let initial = input.below(8) == 0 ? input.bytes(maximum: 8) : []
    let mode = input.below(3)
    let (username, password) = users.sorted { $0.key < $1.key }[input.below(users.count)]
    let rest = input.remaining

    let challenge: [UInt8]
    switch server.responseReceived(initial) {
    case .challenge(let bytes):
        fuzzCheck(initial.isEmpty, "a challenge after an initial response")
        challenge = bytes
    case .failed(let reason):
        fuzzCheck(!initial.isEmpty, "an empty initial response refused: \(reason)")
        checkOneLine(reason)
        return
    case .completed:
        fuzzCheck(false, "completed on the initial response")
        return
    }
    guard let parsedChallenge = fuzzDirectives(challenge) else {
        fuzzCheck(false, "the server's challenge does not parse")
        return
    }
    fuzzCheck(parsedChallenge.first("nonce") == serverNonce, "the challenge's nonce")

    var response: [UInt8]
    if mode == 0 {
        response = rest
    } else {
        var client = DigestMD5Client(
            username: username, password: mode == 1 ? password : String(decoding: rest.prefix(4), as: UTF8.self),
            authorizationID: username, cnonce: cnonce)
        guard case .respond(let answer) = client.challengeReceived(challenge) else {
            fuzzCheck(false, "the client does not answer the server's challenge")
            return
        }
        response = answer
        for (index, byte) in rest.enumerated() where index < response.count && mode == 1 { response[index] ^= byte }
    }

    let parsed = try? DigestDirectives(parsing: response)
    switch server.responseReceived(response) {
    case .completed(let name, let token):
        guard let parsed, let cnonce = parsed.first("cnonce"), let known = users[name] else {
            fuzzCheck(false, "completed for \(name) on a response that does not parse or an unknown user")
            return
        }
        fuzzCheck(parsed.first("username") == name, "completed as \(name), not the response's username")
        let values = DigestMD5Values(
            username: name, realm: server.realm, password: known, nonce: serverNonce, cnonce: cnonce,
            nc: "00000001", qop: "auth", digestURI: server.digestURI, authorizationID: parsed.first("authzid"))
        fuzzCheck(parsed.first("response")?.lowercased() == values.response, "completed on a wrong digest")
        fuzzCheck(token == Array("rspauth=\(values.serverProof)".utf8), "the proof is not the one clients expect")
        fuzzCheck(server.isComplete, "completed but not complete")
    case .failed(let reason):
        checkOneLine(reason)
        fuzzCheck(!(mode == 1 && rest.isEmpty), "a real client's response refused: \(reason)")
    case .challenge:
        fuzzCheck(false, "a second challenge")
    }
    if case .completed = server.responseReceived(response) { fuzzCheck(false, "completed twice") }
}
