import NIOCore
import Testing
import ZooKeeperProtocol

@testable import ZooKeeper

typealias Machine = SessionStateMachine<Int>

/// Drives a machine with synthetic time and keeps the actions it returns: the messages it sends apart from
/// everything else, so that a test can look at either.
struct Harness {
    var machine: Machine
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    /// Actions other than `send`, not yet taken by `drain`.
    private var unseen: [Machine.Action] = []
    /// `send` actions not yet taken by `sentRequests`.
    private var unsent: [Machine.OutboundMessage] = []

    init(
        hosts: Int = 3, timeout: Int32 = 6000, canBeReadOnly: Bool = false, chroot: String? = nil,
        packetLimit: Int = 1_048_575, sasl: SASLCredentials? = nil
    ) {
        var settings = Machine.Settings(
            hosts: (0..<hosts).map { HostAndPort(host: "h\($0)", port: 2181) }, chroot: chroot,
            requestedTimeout: timeout, canBeReadOnly: canBeReadOnly, packetLimit: packetLimit,
            maximumReconnectDelay: .milliseconds(100), sasl: sasl)
        settings.makeNonce = { "fixed-cnonce" }
        machine = Machine(settings: settings, randomSeed: 1)
    }

    /// Keeps what an input returned, and returns it too.
    @discardableResult
    mutating func record(_ actions: [Machine.Action]) -> [Machine.Action] {
        for action in actions {
            if case .send(let id, let message) = action {
                #expect(id == machine.currentConnection, "a message for a connection that is not the current one")
                unsent.append(message)
            } else {
                unseen.append(action)
            }
        }
        return actions
    }

    /// The actions other than `send` since the last call.
    mutating func drain() -> [Machine.Action] {
        defer { unseen = [] }
        return unseen
    }

    /// The messages sent since the last call.
    mutating func sentMessages() -> [Machine.OutboundMessage] {
        defer { unsent = [] }
        return unsent
    }

    /// The requests sent since the last call (the handshake left out).
    mutating func sentRequests() -> [(xid: Int32, request: ZooKeeperRequest)] {
        sentMessages().compactMap { message in
            if case .request(let xid, let request) = message { return (xid, request) }
            return nil
        }
    }

    /// The ConnectRequests sent since the last call.
    mutating func sentConnectRequests() -> [ConnectRequest] {
        sentMessages().compactMap { message in
            if case .connect(let request) = message { return request }
            return nil
        }
    }

    @discardableResult
    mutating func start() -> [Machine.Action] { record(machine.start(now: now)) }

    @discardableResult
    mutating func establish() -> [Machine.Action] {
        record(machine.connectionEstablished(machine.currentConnection!, now: now))
    }

    @discardableResult
    mutating func loseConnection() -> [Machine.Action] {
        record(machine.connectionClosed(machine.currentConnection!, now: now))
    }

    @discardableResult
    mutating func addAuth(_ packet: AuthPacket, token: Int) -> [Machine.Action] {
        record(machine.addAuth(packet, token: token, now: now))
    }

    @discardableResult
    mutating func close(token: Int?) -> [Machine.Action] { record(machine.close(token: token, now: now)) }

    @discardableResult
    mutating func advance(_ amount: TimeAmount) -> [Machine.Action] {
        now = now + amount
        return record(machine.tick(now: now))
    }

    /// Starts, opens the connection and completes the handshake with `sessionID`.
    mutating func connect(sessionID: Int64 = 0x0100_0000_0000_0001, timeout: Int32 = 6000, readOnly: Bool = false) {
        if case .idle = machine.state { start() }
        if case .waitingToReconnect = machine.state { advance(.seconds(1)) }
        establish()
        _ = sentConnectRequests()
        reply(
            ConnectResponse(
                timeout: timeout, sessionID: sessionID, password: Array(repeating: 7, count: 16), readOnly: readOnly
            ).encoded())
    }

    /// For `duration` of synthetic time, no server answers: every other attempt is refused, the others open but
    /// never answer the handshake. Returns the actions other than `send` meanwhile.
    mutating func keepEveryServerSilent(for duration: TimeAmount) -> [Machine.Action] {
        let end = now + duration
        var refuse = true
        var outputs: [Machine.Action] = []
        while now < end {
            advance(.milliseconds(100))
            if case .connecting = machine.state {
                if refuse { loseConnection() } else { establish() }
                refuse.toggle()
            }
            outputs += drain()
        }
        _ = sentMessages()
        return outputs
    }

    /// Waits (in synthetic time, bounded by iterations) for the next connection attempt and opens it: the
    /// handshake is sent, the server's answer is up to the caller. False when the machine makes no attempt.
    mutating func openNextConnection() -> Bool {
        for _ in 0..<100 {
            if case .connecting = machine.state {
                establish()
                return true
            }
            advance(.milliseconds(100))
        }
        return false
    }

    @discardableResult
    mutating func reply(_ body: ByteBuffer) -> [Machine.Action] {
        var frame = body
        return record(
            machine.frameReceived(machine.currentConnection!, frame.readSlice(length: frame.readableBytes)!, now: now))
    }

    @discardableResult
    mutating func reply(
        xid: Int32, zxid: Int64, error: ZooKeeperError.Code = .ok, _ response: ZooKeeperResponse = .empty
    ) -> [Machine.Action] {
        var frame = ByteBuffer()
        ReplyHeader(xid: xid, zxid: zxid, error: error).encode(into: &frame)
        if error == .ok { response.encode(into: &frame) }
        return reply(frame)
    }

    mutating func notify(_ type: EventType, path: String, zxid: Int64 = -1) {
        var frame = ByteBuffer()
        ReplyHeader(xid: -1, zxid: zxid).encode(into: &frame)
        WatcherEvent(type: type, state: .syncConnected, path: path).encode(into: &frame)
        reply(frame)
    }

    @discardableResult
    mutating func submit(
        _ request: ZooKeeperRequest, token: Int, path: String? = nil, watch: Machine.WatchRegistration? = nil
    ) -> [Machine.Action] {
        record(
            machine.submit(
                .init(request: request, token: token, clientPath: path, watch: watch, removal: nil), now: now))
    }
}

extension Machine.Action {
    var completion: (token: Int, result: Result<ZooKeeperResponse, ZooKeeperError>)? {
        if case .complete(let token, let result) = self { return (token, result) }
        return nil
    }
    var delivered: (event: WatchedEvent, to: [WatcherID])? {
        if case .deliver(let event, let to) = self { return (event, to) }
        return nil
    }
    var stateChange: ConnectionEvent? {
        if case .stateChanged(_, let event) = self { return event }
        return nil
    }
    var opened: HostAndPort? {
        if case .openConnection(_, let host, _) = self { return host }
        return nil
    }
}

@Suite struct SessionStateMachineTests {
    @Test func handshakeSendsAConnectRequestAndReportsConnected() throws {
        var h = Harness(canBeReadOnly: true)
        // 6 s over 3 hosts gives 2 s per connection attempt.
        #expect(
            h.start() == [
                .stateChanged(.connecting, .connecting),
                .openConnection(1, HostAndPort(host: "h0", port: 2181), timeout: .seconds(2)),
            ])
        let handshake = ConnectRequest(
            lastZxidSeen: 0, timeout: 6000, sessionID: 0, password: Array(repeating: 0, count: 16), readOnly: true)
        #expect(h.establish() == [.send(1, .connect(handshake))])
        let connected = h.reply(
            ConnectResponse(timeout: 4000, sessionID: 42, password: Array(repeating: 9, count: 16), readOnly: false)
                .encoded())
        #expect(
            connected == [
                .deliver(WatchedEvent(type: .none, state: .syncConnected, path: nil), to: [0]),
                .stateChanged(.connected, .connected),
            ])
        #expect(h.machine.connectionState == .connected)
        #expect(h.machine.sessionID == 42)
        #expect(h.machine.negotiatedTimeout == 4000)
    }

    @Test func requestsMadeBeforeTheHandshakeAreSentAfterIt() {
        var h = Harness()
        h.start()
        h.submit(.getData(PathWatchRequest(path: "/a", watch: false)), token: 1)
        h.submit(.sync(PathRequest(path: "/b")), token: 2)
        #expect(h.machine.queuedCount == 2)
        h.connect()
        let sent = h.sentRequests()
        #expect(sent.map(\.xid) == [1, 2])
        #expect(sent.map(\.request.opCode) == [.getData, .sync])
        #expect(h.machine.pendingCount == 2)
    }

    @Test func repliesCompleteRequestsInOrderAndNotificationsComeFirst() {
        var h = Harness()
        h.connect()
        _ = h.drain()
        h.submit(
            .getData(PathWatchRequest(path: "/a", watch: true)), token: 1, path: "/a",
            watch: .init(kind: .data, path: "/a", watcher: 0))
        h.submit(.setData(SetDataRequest(path: "/a", data: [1], version: -1)), token: 2, path: "/a")
        _ = h.sentRequests()
        h.reply(xid: 1, zxid: 5, .data([0], Stat()))
        h.notify(.nodeDataChanged, path: "/a", zxid: 99)
        h.reply(xid: 2, zxid: 6, .stat(Stat(version: 1)))
        let outputs = h.drain()
        // Completion of 1, then the event, then completion of 2: the order the server sent them.
        #expect(outputs.count == 3)
        #expect(outputs[0].completion?.token == 1)
        #expect(outputs[1].delivered?.event.type == .nodeDataChanged)
        #expect(outputs[1].delivered?.to == [0])
        #expect(outputs[2].completion?.token == 2)
        // The notification's zxid is not taken as the last zxid seen.
        #expect(h.machine.lastZxidSeen == 6)
    }

    @Test func errorRepliesCarryTheCallersPath() throws {
        var h = Harness(chroot: "/app")
        h.connect()
        _ = h.drain()
        h.submit(.delete(PathVersionRequest(path: "/app/x", version: -1)), token: 1, path: "/x")
        h.reply(xid: 1, zxid: 3, error: .noNode)
        let result = h.drain().compactMap(\.completion).first?.result
        guard case .failure(let error) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.code == .noNode)
        #expect(error.path == "/x")
    }

    @Test func mismatchedXidDropsTheConnectionAndFailsWhatWasInFlight() {
        var h = Harness()
        h.connect()
        _ = h.drain()
        h.submit(.sync(PathRequest(path: "/a")), token: 1)
        h.submit(.sync(PathRequest(path: "/b")), token: 2)
        h.reply(xid: 2, zxid: 1, .path("/b"))
        let outputs = h.drain()
        let failures = outputs.compactMap(\.completion).map { ($0.token, (try? $0.result.get()) == nil) }
        #expect(failures.map(\.0) == [1, 2])
        #expect(failures.allSatisfy { $0.1 })
        #expect(outputs.contains { if case .closeConnection = $0 { return true } else { return false } })
        #expect(outputs.compactMap(\.stateChange) == [.disconnected])
        #expect(outputs.compactMap(\.delivered).map(\.event.state) == [.disconnected])
        #expect(h.machine.connectionState == .connecting)
    }

    @Test func pingsWhenIdleAndGivesUpWhenTheServerIsSilent() {
        var h = Harness()
        h.connect(timeout: 6000)  // read timeout 4 s, ping every 2 s
        _ = h.drain()
        h.advance(.milliseconds(1900))
        #expect(h.sentRequests().isEmpty)
        h.advance(.milliseconds(200))
        let ping = h.sentRequests()
        #expect(ping.map(\.xid) == [SpecialXid.ping])
        h.reply(xid: SpecialXid.ping, zxid: 10)
        #expect(h.drain().isEmpty)
        h.advance(.milliseconds(3900))
        #expect(h.machine.connectionState == .connected)
        h.advance(.milliseconds(200))
        #expect(h.machine.connectionState == .connecting)
        #expect(h.drain().compactMap(\.stateChange) == [.disconnected])
    }

    @Test func reconnectResumesTheSessionThenAuthsThenWatchesThenQueuedRequests() throws {
        var h = Harness()
        h.connect(sessionID: 77)
        _ = h.drain()
        h.addAuth(AuthPacket(scheme: "digest", auth: Array("u:p".utf8)), token: 100)
        h.reply(xid: SpecialXid.auth, zxid: 0)
        h.submit(
            .getData(PathWatchRequest(path: "/d", watch: true)), token: 1, path: "/d",
            watch: .init(kind: .data, path: "/d", watcher: 0))
        h.submit(
            .addWatch(AddWatchRequest(path: "/p", mode: .persistentRecursive)), token: 2, path: "/p",
            watch: .init(kind: .persistentRecursive, path: "/p", watcher: 5))
        _ = h.sentRequests()
        h.reply(xid: 1, zxid: 40, .data(nil, Stat()))
        h.reply(xid: 2, zxid: 41, .errorCode(.ok))
        #expect(h.drain().compactMap(\.completion).map(\.token) == [100, 1, 2])

        h.loseConnection()
        #expect(h.drain().compactMap(\.stateChange) == [.disconnected])
        h.submit(.sync(PathRequest(path: "/q")), token: 3)
        h.advance(.seconds(1))
        let reopened = h.drain().compactMap(\.opened)
        #expect(reopened == [HostAndPort(host: "h1", port: 2181)])
        h.establish()
        let connect = try #require(h.sentConnectRequests().first)
        #expect(connect.sessionID == 77)
        #expect(connect.password == Array(repeating: 7, count: 16))
        #expect(connect.lastZxidSeen == 41)
        h.reply(
            ConnectResponse(timeout: 6000, sessionID: 77, password: Array(repeating: 7, count: 16), readOnly: false)
                .encoded())
        let sent = h.sentRequests()
        #expect(sent.map(\.request.opCode) == [.auth, .setWatches2, .sync])
        #expect(sent[0].xid == SpecialXid.auth)
        guard case .setWatches2(let watches) = sent[1].request else {
            Issue.record("expected SetWatches2")
            return
        }
        #expect(watches.relativeZxid == 41)
        #expect(watches.dataWatches == ["/d"])
        #expect(watches.persistentRecursiveWatches == ["/p"])
        #expect(h.drain().compactMap(\.stateChange) == [.reconnected])
    }

    @Test func thirtyThousandWatchesAreSentInBatchesUnderThePacketLimit() {
        var registry = WatchRegistry()
        for index in 0..<30_000 {
            registry.add(.data, path: "/watched/node-with-a-long-name-\(index)", watcher: 0)
        }
        registry.add(.child, path: "/watched", watcher: 0)
        let batches = registry.setWatchesBatches(relativeZxid: 9, serverPath: { "/chroot" + $0 })
        #expect(batches.count > 1)
        var total = 0
        for batch in batches {
            var body = ByteBuffer()
            batch.encode(into: &body, version2: false)
            #expect(body.readableBytes < ZooKeeperFrameDecoder.defaultPacketLimit)
            #expect(body.readableBytes <= 128 * 1024 + 64)
            #expect(!batch.needsVersion2)
            #expect(batch.relativeZxid == 9)
            total += batch.dataWatches.count + batch.childWatches.count
        }
        #expect(total == 30_001)
        #expect(batches.flatMap(\.dataWatches).allSatisfy { $0.hasPrefix("/chroot/watched/") })
    }

    @Test func expiredSessionEndsEverything() {
        var h = Harness()
        h.connect(sessionID: 5)
        _ = h.drain()
        h.submit(
            .getData(PathWatchRequest(path: "/w", watch: true)), token: 1, path: "/w",
            watch: .init(kind: .data, path: "/w", watcher: 3))
        h.reply(xid: 1, zxid: 2, .data(nil, Stat()))
        _ = h.drain()
        h.loseConnection()
        h.submit(.sync(PathRequest(path: "/")), token: 2)
        h.advance(.seconds(1))
        h.establish()
        _ = h.drain()
        h.reply(ConnectResponse.invalidSession().encoded())
        let outputs = h.drain()
        #expect(outputs.compactMap(\.stateChange) == [.expired])
        #expect(outputs.compactMap(\.completion).map(\.token) == [2])
        if case .failure(let error) = outputs.compactMap(\.completion).first?.result {
            #expect(error.code == .sessionExpired)
        }
        let expiredEvent = outputs.compactMap(\.delivered).first
        #expect(expiredEvent?.event.state == .expired)
        #expect(expiredEvent?.to == [0, 3])  // every watcher is told
        #expect(outputs.contains { if case .finishWatchers = $0 { return true } else { return false } })
        #expect(h.machine.connectionState == .closed)
        // No new session behind the caller's back.
        h.submit(.sync(PathRequest(path: "/")), token: 4)
        if case .failure(let error) = h.drain().compactMap(\.completion).first?.result {
            #expect(error.code == .sessionExpired)
        } else {
            Issue.record("a request after expiry did not fail")
        }
    }

    /// No server answers for ten session timeouts: connections refused and servers that accept but never
    /// answer the handshake. The client keeps trying every host with the same session and never declares it
    /// expired on its own (as Apache's client and kazoo); a request made meanwhile fails with connectionLoss after
    /// its bound, not with sessionExpired.
    @Test func noServerForLongerThanTheSessionTimeoutIsNotExpiry() throws {
        var h = Harness(hosts: 3, timeout: 4000)
        h.connect(sessionID: 77, timeout: 4000)
        _ = h.drain()
        h.loseConnection()
        h.submit(.sync(PathRequest(path: "/")), token: 1)
        let outputs = h.keepEveryServerSilent(for: .seconds(40))
        #expect(!outputs.compactMap(\.stateChange).contains(.expired))
        #expect(h.machine.connectionState == .connecting)
        #expect(Set(outputs.compactMap(\.opened).map(\.host)) == ["h0", "h1", "h2"])
        let failed = outputs.compactMap(\.completion)
        #expect(failed.map(\.token) == [1])
        if case .failure(let error) = failed.first?.result {
            #expect(error.code == .connectionLoss)
        } else {
            Issue.record("the queued request did not fail")
        }
        // Every handshake meanwhile asked to resume the session.
        #expect(h.machine.sessionID == 77)
    }

    /// After a disconnection longer than the session timeout, a server still knows the session (an ensemble that
    /// elected a new leader re-arms every session's timeout): the client resumes it, watches and all.
    @Test func aServerThatStillHoldsTheSessionAfterALongDisconnectionResumesIt() throws {
        var h = Harness(hosts: 3, timeout: 4000)
        h.connect(sessionID: 77, timeout: 4000)
        h.submit(
            .getData(PathWatchRequest(path: "/w", watch: true)), token: 1, path: "/w",
            watch: .init(kind: .data, path: "/w", watcher: 3))
        h.reply(xid: 1, zxid: 2, .data(nil, Stat()))
        _ = h.drain()
        _ = h.sentMessages()
        h.loseConnection()
        _ = h.keepEveryServerSilent(for: .seconds(40))
        let attempted = h.openNextConnection()
        try #require(attempted, "no connection attempt after the long disconnection")
        let handshake = try #require(h.sentConnectRequests().first)
        #expect(handshake.sessionID == 77)
        #expect(handshake.password == Array(repeating: 7, count: 16))
        #expect(handshake.lastZxidSeen == 2)
        h.reply(
            ConnectResponse(timeout: 4000, sessionID: 77, password: Array(repeating: 7, count: 16), readOnly: false)
                .encoded())
        #expect(h.drain().compactMap(\.stateChange) == [.reconnected])
        #expect(h.machine.connectionState == .connected)
        let setWatches = h.sentRequests().compactMap { sent -> SetWatches? in
            if case .setWatches(let batch) = sent.request { return batch }
            return nil
        }
        #expect(setWatches.map(\.dataWatches) == [["/w"]])
    }

    /// After a disconnection longer than the session timeout, the server says the session expired: that, and only
    /// that, ends it.
    @Test func aServerThatExpiredTheSessionEndsItAfterALongDisconnection() throws {
        var h = Harness(hosts: 3, timeout: 4000)
        h.connect(sessionID: 77, timeout: 4000)
        _ = h.drain()
        h.loseConnection()
        _ = h.keepEveryServerSilent(for: .seconds(40))
        let attempted = h.openNextConnection()
        try #require(attempted, "no connection attempt after the long disconnection")
        h.submit(.sync(PathRequest(path: "/")), token: 2)
        h.reply(ConnectResponse.invalidSession().encoded())
        let outputs = h.drain()
        #expect(outputs.compactMap(\.stateChange) == [.expired])
        #expect(h.machine.connectionState == .closed)
        if case .failure(let error) = outputs.compactMap(\.completion).first?.result {
            #expect(error.code == .sessionExpired)
        } else {
            Issue.record("the request queued at expiry did not fail")
        }
    }

    @Test func queuedRequestsGiveUpAfterTheirBound() {
        var h = Harness(timeout: 2000)
        h.start()
        h.submit(.sync(PathRequest(path: "/")), token: 1)
        _ = h.drain()
        h.advance(.milliseconds(1900))
        #expect(h.drain().compactMap(\.completion).isEmpty)
        h.advance(.milliseconds(200))
        let completion = h.drain().compactMap(\.completion).first
        #expect(completion?.token == 1)
        if case .failure(let error) = completion?.result { #expect(error.code == .connectionLoss) }
    }

    @Test func authFailureStopsTheClient() {
        var h = Harness()
        h.connect()
        _ = h.drain()
        h.addAuth(AuthPacket(scheme: "bad", auth: nil), token: 9)
        h.submit(.sync(PathRequest(path: "/")), token: 10)
        h.reply(xid: SpecialXid.auth, zxid: 0, error: .authFailed)
        let outputs = h.drain()
        #expect(outputs.compactMap(\.completion).map(\.token) == [9, 10])
        #expect(outputs.compactMap(\.stateChange) == [.authFailed])
        #expect(h.machine.connectionState == .authFailed)
    }

    @Test func closeSendsCloseSessionAndWaitsForItsReply() {
        var h = Harness()
        h.connect()
        _ = h.drain()
        let id = h.machine.currentConnection!
        #expect(h.close(token: 50) == [.send(id, .request(xid: 1, .closeSession))])
        #expect(
            h.reply(xid: 1, zxid: 12) == [
                .closeConnection(id),
                .deliver(WatchedEvent(type: .none, state: .closed, path: nil), to: [0]),
                .stateChanged(.closed, .closed),
                .finishWatchers,
                .complete(50, .success(.empty)),
            ])
        #expect(h.machine.connectionState == .closed)
    }

    @Test func oversizedRequestsFailWithoutBeingSent() {
        var h = Harness(packetLimit: 100)
        h.connect()
        _ = h.drain()
        let id = h.machine.currentConnection!
        let big = ZooKeeperRequest.setData(
            SetDataRequest(path: "/a", data: Array(repeating: 0, count: 200), version: -1))
        #expect(h.submit(big, token: 1, path: "/a") == [.send(id, .request(xid: 1, big))])
        h.submit(.sync(PathRequest(path: "/b")), token: 2)
        // The driver found the first frame above the limit and did not write it.
        #expect(
            h.record(h.machine.requestTooLarge(id, xid: 1)) == [
                .complete(1, .failure(ZooKeeperError(.packetTooLarge, path: "/a")))
            ])
        // The request behind it is still matched by its reply.
        #expect(h.reply(xid: 2, zxid: 3, .path("/b")) == [.complete(2, .success(.path("/b")))])
        #expect(h.machine.connectionState == .connected)
    }

    @Test func chrootIsStrippedFromEventsAndCreatedPaths() {
        var h = Harness(chroot: "/app")
        h.connect()
        _ = h.drain()
        h.submit(
            .create(CreateRequest(path: "/app/s", data: nil, acl: ACL.openUnsafe, mode: .persistentSequential)),
            token: 1, path: "/s")
        h.submit(
            .exists(PathWatchRequest(path: "/app/e", watch: true)), token: 2, path: "/e",
            watch: .init(kind: .exists, path: "/e", watcher: 0))
        h.reply(xid: 1, zxid: 2, .path("/app/s0000000000"))
        h.reply(xid: 2, zxid: 2, error: .noNode)
        h.notify(.nodeCreated, path: "/app/e")
        let outputs = h.drain()
        if case .success(.path(let created)) = outputs.compactMap(\.completion).first?.result {
            #expect(created == "/s0000000000")
        } else {
            Issue.record("no created path")
        }
        #expect(outputs.compactMap(\.delivered).first?.event.path == "/e")
    }

    @Test func readOnlySessionProbesForAReadWriteServerAndMovesThere() {
        var h = Harness(canBeReadOnly: true)
        h.connect(sessionID: 8, readOnly: true)
        #expect(h.drain().compactMap(\.stateChange) == [.connecting, .connectedReadOnly])
        #expect(h.machine.connectionState == .connectedReadOnly)
        h.advance(.milliseconds(150))
        let probes = h.drain().compactMap { output -> [HostAndPort]? in
            if case .probeForReadWriteServer(let hosts) = output { return hosts }
            return nil
        }
        #expect(probes == [[HostAndPort(host: "h1", port: 2181), HostAndPort(host: "h2", port: 2181)]])
        h.record(h.machine.readWriteServerFound(HostAndPort(host: "h2", port: 2181), now: h.now))
        #expect(h.drain().compactMap(\.opened) == [HostAndPort(host: "h2", port: 2181)])
        h.establish()
        // Never having seen a read-write server, the client asks for a new session (as Apache's does).
        let request = h.sentConnectRequests()[0]
        #expect(request.sessionID == 0)
        h.reply(
            ConnectResponse(timeout: 6000, sessionID: 9, password: Array(repeating: 1, count: 16), readOnly: false)
                .encoded())
        #expect(h.machine.connectionState == .connected)
        #expect(h.drain().compactMap(\.stateChange) == [.connected])
    }

    @Test func watchRegistryRoutesLikeApache() {
        var registry = WatchRegistry()
        registry.add(.data, path: "/a", watcher: 1)
        registry.add(.exist, path: "/a", watcher: 2)
        registry.add(.child, path: "/a", watcher: 3)
        registry.add(.persistent, path: "/a", watcher: 4)
        registry.add(.persistentRecursive, path: "/", watcher: 5)
        #expect(registry.materialize(type: .nodeChildrenChanged, path: "/a") == [3, 4])
        #expect(registry.materialize(type: .nodeDataChanged, path: "/a") == [1, 2, 4, 5])
        // One-shot watches are gone; persistent ones stay.
        #expect(registry.materialize(type: .nodeDeleted, path: "/a") == [4, 5])
        #expect(registry.materialize(type: .nodeCreated, path: "/a/b/c") == [5])
        #expect(registry.contains(path: "/a", type: .persistent))
        #expect(!registry.contains(path: "/a", type: .data))
        let removed = registry.remove(path: "/a", type: .any)
        #expect(removed.map(\.0) == [4])
        #expect(removed.map(\.1) == [.persistentWatchRemoved])
    }
}

@Suite struct SessionStateMachineCloseTests {
    @Test func closeWhileReconnectingEndsTheSessionOnTheNextConnection() {
        var h = Harness()
        h.connect(sessionID: 31)
        _ = h.drain()
        h.loseConnection()
        h.submit(.sync(PathRequest(path: "/")), token: 1)
        h.close(token: 2)
        // What waited for the connection is failed at once; the close itself waits.
        let failed = h.drain().compactMap(\.completion)
        #expect(failed.map(\.token) == [1])
        h.advance(.milliseconds(500))
        h.establish()
        _ = h.sentMessages()
        h.reply(
            ConnectResponse(timeout: 6000, sessionID: 31, password: Array(repeating: 7, count: 16), readOnly: false)
                .encoded())
        // The first and only request on the new connection is closeSession.
        let sent = h.sentRequests()
        #expect(sent.map(\.request) == [.closeSession])
        h.reply(xid: sent[0].xid, zxid: 9)
        let outputs = h.drain()
        #expect(outputs.compactMap(\.completion).map(\.token) == [2])
        #expect(outputs.compactMap(\.stateChange).last == .closed)
        #expect(h.machine.connectionState == .closed)
    }

    @Test func closeWhileNoServerAnswersGivesUpAfterItsBound() {
        var h = Harness(hosts: 1)
        h.connect(sessionID: 32)
        _ = h.drain()
        h.loseConnection()
        h.close(token: 3)
        var closed = false
        for _ in 0..<100 where !closed {
            h.advance(.milliseconds(100))
            if h.machine.currentConnection != nil { h.loseConnection() }
            closed = h.drain().compactMap(\.completion).contains { $0.token == 3 }
        }
        #expect(closed)
        #expect(h.machine.connectionState == .closed)
    }
}
