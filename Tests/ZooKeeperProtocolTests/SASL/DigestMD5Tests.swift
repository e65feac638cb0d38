import Testing
import ZooKeeperProtocol

@Suite struct DigestMD5Tests {
    /// The example exchange of RFC 2831 section 4 (IMAP, user chris, password secret).
    static let rfcChallenge =
        #"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess,charset=utf-8"#

    @Test func rfc2831ExampleDigests() {
        let values = DigestMD5Values(
            username: "chris", realm: "elwood.innosoft.com", password: "secret", nonce: "OA6MG9tEQGm2hh",
            cnonce: "OA6MHXh6VqTrRk", nc: "00000001", qop: "auth", digestURI: "imap/elwood.innosoft.com",
            authorizationID: nil)
        #expect(values.response == "d388dad90d4bbd760a152321f2143af7")
        #expect(values.serverProof == "ea40f60335c427b5527b84dbabcdfffd")
    }

    @Test func rfc2831ExampleExchange() throws {
        var client = DigestMD5Client(
            username: "chris", password: "secret", authorizationID: nil, service: "imap", host: "elwood.innosoft.com",
            cnonce: "OA6MHXh6VqTrRk")
        #expect(client.initialResponse == [])
        guard case .respond(let response) = client.challengeReceived(Array(Self.rfcChallenge.utf8)) else {
            Issue.record("no response to the challenge")
            return
        }
        // The RFC's client message, directive for directive (the order is free; ours adds maxbuf).
        let sent = try DigestDirectives(parsing: response)
        let expected = try DigestDirectives(
            parsing: Array(
                #"charset=utf-8,username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,qop=auth"#
                    .utf8))
        for (name, value) in expected.directives {
            #expect(sent.first(name) == value, "\(name)")
        }
        #expect(!client.isComplete)
        #expect(client.challengeReceived(Array("rspauth=ea40f60335c427b5527b84dbabcdfffd".utf8)) == .completed)
        #expect(client.isComplete)
    }

    @Test func aWrongServerProofFails() {
        var client = DigestMD5Client(
            username: "chris", password: "secret", authorizationID: nil, service: "imap", host: "elwood.innosoft.com",
            cnonce: "OA6MHXh6VqTrRk")
        _ = client.challengeReceived(Array(Self.rfcChallenge.utf8))
        let step = client.challengeReceived(Array("rspauth=00000000000000000000000000000000".utf8))
        #expect(step == .failed("DIGEST-MD5: the server's rspauth is wrong (it does not know the password)"))
        #expect(!client.isComplete)
    }

    /// What Apache ZooKeeper's server sends: service zookeeper, host zk-sasl-md5, and an authzid (its client
    /// sends the username as authorization id).
    @Test func zooKeeperDigestURIAndAuthorizationID() throws {
        var client = DigestMD5Client(username: "bob", password: "secret", authorizationID: "bob", cnonce: "abc123")
        let challenge = #"realm="zk-sasl-md5",nonce="n0nce",qop="auth",charset=utf-8,algorithm=md5-sess"#
        guard case .respond(let response) = client.challengeReceived(Array(challenge.utf8)) else {
            Issue.record("no response")
            return
        }
        let sent = try DigestDirectives(parsing: response)
        #expect(sent.first("digest-uri") == "zookeeper/zk-sasl-md5")
        #expect(sent.first("authzid") == "bob")
        let values = DigestMD5Values(
            username: "bob", realm: "zk-sasl-md5", password: "secret", nonce: "n0nce", cnonce: "abc123",
            nc: "00000001", qop: "auth", digestURI: "zookeeper/zk-sasl-md5", authorizationID: "bob")
        #expect(sent.first("response") == values.response)
    }

    @Test(arguments: [
        (
            #"nonce="abc",qop="auth-conf",algorithm=md5-sess"#,
            "DIGEST-MD5: the server does not offer qop auth (offers auth-conf)"
        ),
        (#"realm="r",qop="auth",algorithm=md5-sess"#, "DIGEST-MD5: the challenge has no nonce"),
        (#"nonce="abc",qop="auth""#, "DIGEST-MD5: the challenge does not offer algorithm md5-sess"),
        (#"nonce="abc"#, "DIGEST-MD5: malformed challenge from the server (unterminated quoted value of nonce)"),
    ])
    func unusableChallengesFailWithTheirReason(challenge: String, reason: String) {
        var client = DigestMD5Client(username: "bob", password: "secret", authorizationID: "bob", cnonce: "c")
        #expect(client.challengeReceived(Array(challenge.utf8)) == .failed(reason))
    }

    @Test func directivesParseQuotedEscapesEmptyElementsAndWhiteSpace() throws {
        let parsed = try DigestDirectives(
            parsing: Array(#" realm="a\"b" , ,nonce = "x,y",  qop="auth,auth-int",maxbuf=1024,Realm="second""#.utf8))
        #expect(parsed.all("realm") == [#"a"b"#, "second"])
        #expect(parsed.first("nonce") == "x,y")
        #expect(parsed.first("qop") == "auth,auth-int")
        #expect(parsed.first("maxbuf") == "1024")
        #expect(DigestDirectives.quote(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(throws: DigestDirectives.ParseError.self) { try DigestDirectives(parsing: Array("novalue".utf8)) }
    }

    /// Found by the DIGEST-MD5 fuzz target: `quote` went Character by Character, and a `"` followed by a combining
    /// mark is one Character that is not `"`: it went out unescaped and ended the quoted string early. A user whose
    /// name holds one could not log in.
    @Test func aQuoteBeforeACombiningMarkIsEscaped() throws {
        let value = "bo\"\u{301}b\\\u{301}"
        let parsed = try DigestDirectives(parsing: Array("username=\(DigestDirectives.quote(value))".utf8))
        #expect(parsed.first("username") == value)

        var server = DigestMD5Server(passwords: [value: "secret"], nonce: "n0nce")
        var client = DigestMD5Client(username: value, password: "secret", authorizationID: value, cnonce: "c")
        guard case .challenge(let challenge) = server.responseReceived(client.initialResponse),
            case .respond(let response) = client.challengeReceived(challenge),
            case .completed(let username, let proof) = server.responseReceived(response)
        else {
            Issue.record("the exchange did not complete")
            return
        }
        #expect(username == value)
        #expect(client.challengeReceived(proof) == .completed)
    }

    /// Found by the DIGEST-MD5 fuzz target: failures quote what the peer sent, line ends included.
    @Test func failuresStayOneLine() {
        var client = DigestMD5Client(username: "bob", password: "secret", authorizationID: "bob", cnonce: "c")
        #expect(
            client.challengeReceived(Array("a\nb=1 x".utf8))
                == .failed("DIGEST-MD5: malformed challenge from the server (expected ',' after a\\nb)"))
        var server = DigestMD5Server(passwords: ["bob": "secret"], nonce: "n0nce")
        _ = server.responseReceived([])
        let response =
            #"username="x\#ny",realm="zk-sasl-md5",nonce="n0nce",cnonce="c",nc=00000001,response=0,digest-uri="zookeeper/zk-sasl-md5""#
        #expect(
            server.responseReceived(Array(response.utf8))
                == .failed("DIGEST-MD5: no user 'x\\ny' in the JAAS Server section"))
    }
}
