import NIOCore
import Testing
import ZooKeeperProtocol

@testable import ZooKeeper

typealias Machine = SessionStateMachine<Int>

/// Drives a machine with synthetic time and inspects what it writes and outputs.
struct Harness {
    var machine: Machine
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
    var outputs: [Machine.Output] = []

    init(
        hosts: Int = 3, timeout: Int32 = 6000, canBeReadOnly: Bool = false, chroot: String? = nil,
        packetLimit: Int = 1_048_575
    ) {
        let settings = Machine.Settings(
            hosts: (0..<hosts).map { HostAndPort(host: "h\($0)", port: 2181) }, chroot: chroot,
            requestedTimeout: timeout, canBeReadOnly: canBeReadOnly, packetLimit: packetLimit,
            maximumReconnectDelay: .milliseconds(100))
        machine = Machine(settings: settings, randomSeed: 1)
    }

    mutating func drain() -> [Machine.Output] {
        var taken: [Machine.Output] = []
        machine.drainOutputs(into: &taken)
        outputs += taken
        return taken
    }

    /// The frames written since the last call, split.
    mutating func sentFrames() -> [ByteBuffer] {
        var decoder = ZooKeeperFrameDecoder()
        var frames: [ByteBuffer] = []
        while let frame = try! decoder.decode(buffer: &machine.outbound) { frames.append(frame) }
        machine.outbound.clear()
        return frames
    }

    /// Requests written since the last call, decoded.
    mutating func sentRequests() -> [(xid: Int32, request: ZooKeeperRequest)] {
        sentFrames().map { frame in
            var frame = frame
            let header = try! RequestHeader(from: &frame)
            return (header.xid, try! ZooKeeperRequest.decode(opCode: header.opCode, from: &frame))
        }
    }

    mutating func advance(_ amount: TimeAmount) {
        now = now + amount
        machine.tick(now: now)
    }

    /// Starts, opens the connection and completes the handshake with `sessionID`.
    mutating func connect(sessionID: Int64 = 0x0100_0000_0000_0001, timeout: Int32 = 6000, readOnly: Bool = false) {
        if case .idle = machine.phase { machine.start(now: now) }
        if case .waitingToReconnect = machine.phase { advance(.seconds(1)) }
        let id = machine.currentConnection!
        machine.connectionEstablished(id, now: now)
        _ = sentFrames()  // the ConnectRequest
        reply(
            ConnectResponse(
                timeout: timeout, sessionID: sessionID, password: Array(repeating: 7, count: 16), readOnly: readOnly
            ).encoded())
    }

    mutating func reply(_ body: ByteBuffer) {
        var frame = body
        machine.frameReceived(machine.currentConnection!, frame.readSlice(length: frame.readableBytes)!, now: now)
    }

    mutating func reply(
        xid: Int32, zxid: Int64, error: ZooKeeperError.Code = .ok, _ response: ZooKeeperResponse = .empty
    ) {
        var frame = ByteBuffer()
        ReplyHeader(xid: xid, zxid: zxid, error: error).encode(into: &frame)
        if error == .ok { response.encode(into: &frame) }
        reply(frame)
    }

    mutating func notify(_ type: EventType, path: String, zxid: Int64 = -1) {
        var frame = ByteBuffer()
        ReplyHeader(xid: -1, zxid: zxid).encode(into: &frame)
        WatcherEvent(type: type, state: .syncConnected, path: path).encode(into: &frame)
        reply(frame)
    }

    mutating func submit(
        _ request: ZooKeeperRequest, token: Int, path: String? = nil, watch: Machine.WatchRegistration? = nil
    ) {
        machine.submit(.init(request: request, token: token, clientPath: path, watch: watch, removal: nil), now: now)
    }
}

extension Machine.Output {
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
        h.machine.start(now: h.now)
        let started = h.drain()
        #expect(started.compactMap(\.stateChange) == [.connecting])
        #expect(started.compactMap(\.opened) == [HostAndPort(host: "h0", port: 2181)])
        h.machine.connectionEstablished(h.machine.currentConnection!, now: h.now)
        let frames = h.sentFrames()
        #expect(frames.count == 1)
        let request = try ConnectRequest.decodeWhole(frames[0])
        #expect(request.sessionID == 0)
        #expect(request.timeout == 6000)
        #expect(request.readOnly == true)
        #expect(request.password == Array(repeating: 0, count: 16))
        h.reply(
            ConnectResponse(timeout: 4000, sessionID: 42, password: Array(repeating: 9, count: 16), readOnly: false)
                .encoded())
        let connected = h.drain()
        #expect(connected.compactMap(\.stateChange) == [.connected])
        #expect(connected.compactMap(\.delivered).map(\.event.state) == [.syncConnected])
        #expect(h.machine.state == .connected)
        #expect(h.machine.sessionID == 42)
        #expect(h.machine.negotiatedTimeout == 4000)
    }

    @Test func requestsMadeBeforeTheHandshakeAreSentAfterIt() {
        var h = Harness()
        h.machine.start(now: h.now)
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
        #expect(h.machine.state == .connecting)
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
        #expect(h.machine.state == .connected)
        h.advance(.milliseconds(200))
        #expect(h.machine.state == .connecting)
        #expect(h.drain().compactMap(\.stateChange) == [.disconnected])
    }

    @Test func reconnectResumesTheSessionThenAuthsThenWatchesThenQueuedRequests() throws {
        var h = Harness()
        h.connect(sessionID: 77)
        _ = h.drain()
        h.machine.addAuth(AuthPacket(scheme: "digest", auth: Array("u:p".utf8)), token: 100, now: h.now)
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

        h.machine.connectionClosed(h.machine.currentConnection!, now: h.now)
        #expect(h.drain().compactMap(\.stateChange) == [.disconnected])
        h.submit(.sync(PathRequest(path: "/q")), token: 3)
        h.advance(.seconds(1))
        let reopened = h.drain().compactMap(\.opened)
        #expect(reopened == [HostAndPort(host: "h1", port: 2181)])
        h.machine.connectionEstablished(h.machine.currentConnection!, now: h.now)
        let connect = try ConnectRequest.decodeWhole(h.sentFrames()[0])
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
        h.machine.connectionClosed(h.machine.currentConnection!, now: h.now)
        h.submit(.sync(PathRequest(path: "/")), token: 2)
        h.advance(.seconds(1))
        h.machine.connectionEstablished(h.machine.currentConnection!, now: h.now)
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
        #expect(h.machine.state == .closed)
        // No new session behind the caller's back.
        h.submit(.sync(PathRequest(path: "/")), token: 4)
        if case .failure(let error) = h.drain().compactMap(\.completion).first?.result {
            #expect(error.code == .sessionExpired)
        } else {
            Issue.record("a request after expiry did not fail")
        }
    }

    @Test func noServerWithinTheSessionTimeoutMeansExpired() {
        var h = Harness(hosts: 2)
        h.connect(timeout: 4000)
        _ = h.drain()
        h.machine.connectionClosed(h.machine.currentConnection!, now: h.now)
        var expired = false
        // Every reconnect attempt fails; bounded by iterations, not time.
        for _ in 0..<200 where !expired {
            h.advance(.milliseconds(100))
            if let id = h.machine.currentConnection { h.machine.connectionClosed(id, now: h.now) }
            expired = h.drain().compactMap(\.stateChange).contains(.expired)
        }
        #expect(expired)
        #expect(h.machine.state == .closed)
    }

    @Test func queuedRequestsGiveUpAfterTheirBound() {
        var h = Harness(timeout: 2000)
        h.machine.start(now: h.now)
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
        h.machine.addAuth(AuthPacket(scheme: "bad", auth: nil), token: 9, now: h.now)
        h.submit(.sync(PathRequest(path: "/")), token: 10)
        h.reply(xid: SpecialXid.auth, zxid: 0, error: .authFailed)
        let outputs = h.drain()
        #expect(outputs.compactMap(\.completion).map(\.token) == [9, 10])
        #expect(outputs.compactMap(\.stateChange) == [.authFailed])
        #expect(h.machine.state == .authFailed)
    }

    @Test func closeSendsCloseSessionAndWaitsForItsReply() {
        var h = Harness()
        h.connect()
        _ = h.drain()
        h.machine.close(token: 50, now: h.now)
        let sent = h.sentRequests()
        #expect(sent.map(\.request) == [.closeSession])
        #expect(h.drain().isEmpty)
        h.reply(xid: sent[0].xid, zxid: 12)
        let outputs = h.drain()
        #expect(outputs.compactMap(\.stateChange) == [.closed])
        #expect(outputs.compactMap(\.completion).map(\.token) == [50])
        #expect(h.machine.state == .closed)
    }

    @Test func oversizedRequestsFailWithoutBeingSent() {
        var h = Harness(packetLimit: 100)
        h.connect()
        _ = h.drain()
        h.submit(.setData(SetDataRequest(path: "/a", data: Array(repeating: 0, count: 200), version: -1)), token: 1)
        #expect(h.sentRequests().isEmpty)
        if case .failure(let error) = h.drain().compactMap(\.completion).first?.result {
            #expect(error.code == .packetTooLarge)
        } else {
            Issue.record("an oversized request did not fail")
        }
        h.submit(.sync(PathRequest(path: "/a")), token: 2)
        #expect(h.sentRequests().count == 1)
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
        #expect(h.machine.state == .connectedReadOnly)
        h.advance(.milliseconds(150))
        let probes = h.drain().compactMap { output -> [HostAndPort]? in
            if case .probeForReadWriteServer(let hosts) = output { return hosts }
            return nil
        }
        #expect(probes == [[HostAndPort(host: "h1", port: 2181), HostAndPort(host: "h2", port: 2181)]])
        h.machine.readWriteServerFound(HostAndPort(host: "h2", port: 2181), now: h.now)
        #expect(h.drain().compactMap(\.opened) == [HostAndPort(host: "h2", port: 2181)])
        h.machine.connectionEstablished(h.machine.currentConnection!, now: h.now)
        // Never having seen a read-write server, the client asks for a new session (as Apache's does).
        let request = try! ConnectRequest.decodeWhole(h.sentFrames()[0])
        #expect(request.sessionID == 0)
        h.reply(
            ConnectResponse(timeout: 6000, sessionID: 9, password: Array(repeating: 1, count: 16), readOnly: false)
                .encoded())
        #expect(h.machine.state == .connected)
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
        h.machine.connectionClosed(h.machine.currentConnection!, now: h.now)
        h.submit(.sync(PathRequest(path: "/")), token: 1)
        h.machine.close(token: 2, now: h.now)
        // What waited for the connection is failed at once; the close itself waits.
        let failed = h.drain().compactMap(\.completion)
        #expect(failed.map(\.token) == [1])
        h.advance(.milliseconds(500))
        h.machine.connectionEstablished(h.machine.currentConnection!, now: h.now)
        _ = h.sentFrames()
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
        #expect(h.machine.state == .closed)
    }

    @Test func closeWhileNoServerAnswersGivesUpAfterItsBound() {
        var h = Harness(hosts: 1)
        h.connect(sessionID: 32)
        _ = h.drain()
        h.machine.connectionClosed(h.machine.currentConnection!, now: h.now)
        h.machine.close(token: 3, now: h.now)
        var closed = false
        for _ in 0..<100 where !closed {
            h.advance(.milliseconds(100))
            if let id = h.machine.currentConnection { h.machine.connectionClosed(id, now: h.now) }
            closed = h.drain().compactMap(\.completion).contains { $0.token == 3 }
        }
        #expect(closed)
        #expect(h.machine.state == .closed)
    }
}
