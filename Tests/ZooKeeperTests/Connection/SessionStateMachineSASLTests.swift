import NIOCore
import Testing
import ZooKeeperProtocol

@testable import ZooKeeper

/// The SASL phase: between the ConnectResponse and the first caller's request, on every connection.
@Suite struct SessionStateMachineSASLTests {
    static let challenge = #"realm="zk-sasl-md5",nonce="server-nonce",qop="auth",charset=utf-8,algorithm=md5-sess"#
    static let values = DigestMD5Values(
        username: "bob", realm: "zk-sasl-md5", password: "secret", nonce: "server-nonce", cnonce: "fixed-cnonce",
        nc: "00000001", qop: "auth", digestURI: "zookeeper/zk-sasl-md5", authorizationID: "bob")

    static func tokenReply(xid: Int32, _ text: String) -> ByteBuffer {
        var frame = ByteBuffer()
        ReplyHeader(xid: xid, zxid: 0).encode(into: &frame)
        ZooKeeperResponse.token(Array(text.utf8)).encode(into: &frame)
        return frame
    }

    /// Connects and answers the ConnectResponse; the SASL exchange is then under way.
    static func handshake(_ h: inout Harness, sessionID: Int64 = 7) -> [Machine.Action] {
        if case .idle = h.machine.state { h.start() }
        if case .waitingToReconnect = h.machine.state { h.advance(.seconds(1)) }
        h.establish()
        _ = h.sentConnectRequests()
        return h.reply(
            ConnectResponse(
                timeout: 6000, sessionID: sessionID, password: Array(repeating: 7, count: 16), readOnly: false
            )
            .encoded())
    }

    @Test func digestExchangeRunsBeforeTheFirstCallersRequest() throws {
        var h = Harness(sasl: .digestMD5(username: "bob", password: "secret"))
        h.start()
        h.submit(.sync(PathRequest(path: "/a")), token: 1)
        _ = h.drain()
        let id = h.machine.currentConnection!
        // The session exists, but callers wait: the only message is the empty opening token, an ordinary xid.
        #expect(Self.handshake(&h) == [.send(id, .request(xid: 1, .sasl(token: [])))])
        #expect(h.machine.connectionState == .connecting)
        h.submit(.sync(PathRequest(path: "/b")), token: 2)
        #expect(h.sentRequests().map(\.xid) == [1])

        let answer = h.reply(Self.tokenReply(xid: 1, Self.challenge))
        guard case .send(_, .request(2, .sasl(let token?))) = answer.first, answer.count == 1 else {
            Issue.record("expected one SASL response, got \(answer)")
            return
        }
        let response = try DigestDirectives(parsing: token)
        #expect(response.first("username") == "bob")
        #expect(response.first("digest-uri") == "zookeeper/zk-sasl-md5")
        #expect(response.first("response") == Self.values.response)

        // The server's proof completes it: now the callers' requests go, in order, and the state is reported.
        #expect(
            h.reply(Self.tokenReply(xid: 2, "rspauth=\(Self.values.serverProof)")) == [
                .send(id, .request(xid: 3, .sync(PathRequest(path: "/a")))),
                .send(id, .request(xid: 4, .sync(PathRequest(path: "/b")))),
                .deliver(WatchedEvent(type: .none, state: .syncConnected, path: nil), to: [0]),
                .deliver(WatchedEvent(type: .none, state: .saslAuthenticated, path: nil), to: [0]),
                .stateChanged(.connected, .connected),
            ])
        #expect(h.machine.connectionState == .connected)
    }

    @Test func rejectionEndsTheSessionWithTheReasonAndNoRetry() {
        var h = Harness(sasl: .digestMD5(username: "bob", password: "wrong"))
        h.start()
        h.submit(.sync(PathRequest(path: "/a")), token: 1)
        _ = Self.handshake(&h)
        let id = h.machine.currentConnection!
        h.reply(Self.tokenReply(xid: 1, Self.challenge))
        _ = h.drain()
        _ = h.sentMessages()
        let reason =
            "SASL DIGEST-MD5 authentication as bob failed: the server answered AuthFailed (wrong username or password?)"
        let error = ZooKeeperError(.authFailed, message: reason)
        #expect(
            h.reply(xid: 2, zxid: 0, error: .authFailed) == [
                .closeConnection(id),
                .complete(1, .failure(ZooKeeperError(.authFailed, message: reason))),
                .deliver(WatchedEvent(type: .none, state: .authFailed, path: nil), to: [0]),
                .stateChanged(.authFailed, .authFailed),
                .finishWatchers,
            ])
        #expect(h.machine.connectionState == .authFailed)
        #expect(h.machine.terminalError == error)
        #expect(error.description == reason)
        // No retry loop: nothing more happens, however long one waits, and later calls fail the same way.
        #expect(h.advance(.seconds(60)).isEmpty)
        #expect(h.submit(.sync(PathRequest(path: "/")), token: 2) == [.complete(2, .failure(error))])
    }

    @Test func aServerThatCannotProveThePasswordIsRejected() {
        var h = Harness(sasl: .digestMD5(username: "bob", password: "secret"))
        _ = Self.handshake(&h)
        h.reply(Self.tokenReply(xid: 1, Self.challenge))
        let actions = h.reply(Self.tokenReply(xid: 2, "rspauth=0123456789abcdef0123456789abcdef"))
        #expect(actions.compactMap(\.stateChange) == [.authFailed])
        #expect(h.machine.terminalError?.message?.contains("rspauth is wrong") == true)
    }

    @Test func everyReconnectAuthenticatesBeforeAuthsWatchesAndQueuedRequests() throws {
        var h = Harness(sasl: .digestMD5(username: "bob", password: "secret"))
        _ = Self.handshake(&h, sessionID: 7)
        h.reply(Self.tokenReply(xid: 1, Self.challenge))
        h.reply(Self.tokenReply(xid: 2, "rspauth=\(Self.values.serverProof)"))
        h.addAuth(AuthPacket(scheme: "digest", auth: Array("u:p".utf8)), token: 100)
        h.reply(xid: SpecialXid.auth, zxid: 0)
        h.submit(
            .getData(PathWatchRequest(path: "/d", watch: true)), token: 1, path: "/d",
            watch: .init(kind: .data, path: "/d", watcher: 0))
        h.reply(xid: 3, zxid: 40, .data(nil, Stat()))
        _ = h.drain()
        _ = h.sentMessages()

        h.loseConnection()
        h.submit(.sync(PathRequest(path: "/q")), token: 2)
        // A new connection: SASL first, alone.
        #expect(Self.handshake(&h, sessionID: 7).count == 1)
        #expect(h.sentRequests().map(\.request.opCode) == [.sasl])
        h.reply(Self.tokenReply(xid: 4, Self.challenge))
        #expect(h.sentRequests().map(\.request.opCode) == [.sasl])
        h.reply(Self.tokenReply(xid: 5, "rspauth=\(Self.values.serverProof)"))
        #expect(h.sentRequests().map(\.request.opCode) == [.auth, .setWatches, .sync])
        #expect(h.drain().compactMap(\.stateChange) == [.disconnected, .reconnected])
    }

    @Test func aConnectionLostDuringTheExchangeKeepsTheCallersWaiting() {
        var h = Harness(sasl: .digestMD5(username: "bob", password: "secret"))
        h.start()
        h.submit(.sync(PathRequest(path: "/a")), token: 1)
        _ = Self.handshake(&h)
        _ = h.drain()
        h.loseConnection()
        // Nobody saw this connection as connected: no event, no failure; the request still waits.
        #expect(h.drain().isEmpty)
        #expect(h.machine.queuedCount == 1)
        _ = Self.handshake(&h)
        #expect(h.sentRequests().map(\.request.opCode) == [.sasl])
    }

    @Test func closeDuringTheExchangeEndsTheSessionAtOnce() {
        var h = Harness(sasl: .digestMD5(username: "bob", password: "secret"))
        h.start()
        h.submit(.sync(PathRequest(path: "/a")), token: 1)
        _ = Self.handshake(&h)
        _ = h.sentMessages()
        let id = h.machine.currentConnection!
        #expect(
            h.close(token: 9) == [
                .complete(1, .failure(ZooKeeperError(.clientClosed))),
                .send(id, .request(xid: 2, .closeSession)),
            ])
        // The late SASL reply is ignored; closeSession's reply ends the session.
        h.reply(Self.tokenReply(xid: 1, Self.challenge))
        #expect(h.reply(xid: 2, zxid: 5).compactMap(\.completion).map(\.token) == [9])
        #expect(h.machine.connectionState == .closed)
    }
}
