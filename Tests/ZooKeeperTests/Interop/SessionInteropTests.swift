import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite struct SessionInteropTests {
    @Test(arguments: interopServers)
    func handshakeExposesTheSession(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind) { $0.sessionTimeout = .seconds(1) }
        #expect(client.sessionID != 0)
        #expect(client.sessionPassword.count == 16)
        // tickTime 2000: the server clamps the timeout to at least 2 ticks.
        #expect(client.negotiatedTimeout == .seconds(4))
        #expect(client.state == .connected)
        await client.close()
        #expect(client.state == .closed)
        await expectError(.clientClosed) { try await client.getData("/") }
        let long = try await connectedClient(kind) { $0.sessionTimeout = .seconds(1000) }
        #expect(long.negotiatedTimeout == .seconds(40))
        await long.close()
    }

    @Test(arguments: interopServers)
    func connectionEventsFollowTheSession(_ kind: TestServerKind) async throws {
        let address = try SharedTestServers.connectString(kind)
        let client = try ZooKeeperClient(connectString: address)
        let events = EventRecorder(client.connectionEvents)
        #expect(await events.next() == .connecting)
        #expect(await events.next() == .connected)
        await client.close()
        #expect(await events.next() == .closed)
        #expect(await events.next() == nil)
    }

    @Test(arguments: interopServers)
    func requestsMadeBeforeTheSessionWaitForIt(_ kind: TestServerKind) async throws {
        let address = try SharedTestServers.connectString(kind)
        let client = try ZooKeeperClient(connectString: address)
        // No wait for the connection: the request is queued and sent after the handshake.
        let children = try await client.getChildren("/")
        #expect(children.contains("zookeeper"))
        await client.close()
    }

    @Test(arguments: interopServers)
    func chrootAppliesToEveryPath(_ kind: TestServerKind) async throws {
        let plain = try await connectedClient(kind)
        defer { Task { await plain.close() } }
        try await withRoot(plain) { root in
            let chrooted = try await connectedClient(kind, chroot: root)
            let events = EventRecorder(chrooted.events)
            _ = await events.next()  // SyncConnected
            #expect(try await chrooted.create("/a", data: bytes("1")) == "/a")
            #expect(try await plain.getData(root + "/a").data == bytes("1"))
            #expect(try await chrooted.getChildren("/") == ["a"])
            #expect(try await chrooted.create("/a/s-", mode: .ephemeralSequential) == "/a/s-0000000000")
            #expect(try await chrooted.getEphemerals("/") == ["/a/s-0000000000"])
            #expect(try await chrooted.createWithStat("/c", mode: .container).path == "/c")
            let results = try await chrooted.multi([.create("/m"), .create("/m/n", mode: .persistentSequential)])
            #expect(results == [.create(path: "/m"), .create(path: "/m/n0000000000")])
            _ = try await chrooted.getData("/a", watch: true)
            try await plain.setData(root + "/a", data: bytes("2"))
            let event = await events.next()
            #expect(event?.path == "/a")
            #expect(try await chrooted.sync("/a") == "/a")
            #expect(try await chrooted.exists("/") != nil)
            await chrooted.close()
        }
    }

    @Test(arguments: interopServers)
    func manyRequestsInFlightOnOneConnection(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let count = 1000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask { try await client.create("\(root)/n\(index)", data: bytes("\(index)")) }
                }
                try await group.waitForAll()
            }
            let values = try await withThrowingTaskGroup(of: (Int, [UInt8]?).self) { group in
                for index in 0..<count {
                    group.addTask { (index, try await client.getData("\(root)/n\(index)").data) }
                }
                var values: [Int: [UInt8]?] = [:]
                for try await (index, data) in group { values[index] = data }
                return values
            }
            #expect(values.count == count)
            #expect(values.allSatisfy { $0.value == bytes("\($0.key)") })
            #expect(try await client.getAllChildrenNumber(root) == count)
        }
    }

    @Test(arguments: interopServers)
    func oversizedRequestFailsClearlyAndTheSessionGoesOn(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            await expectError(.packetTooLarge) {
                try await client.create(root + "/big", data: [UInt8](repeating: 7, count: 1_100_000))
            }
            try await client.create(root + "/small", data: [UInt8](repeating: 7, count: 1000))
            #expect(try await client.getData(root + "/small").data?.count == 1000)
        }
    }

    @Test(arguments: interopServers)
    func oversizedReplyFailsThatCallAndTheSessionGoesOn(_ kind: TestServerKind) async throws {
        let writer = try await connectedClient(kind)
        defer { Task { await writer.close() } }
        try await withRoot(writer) { root in
            for index in 0..<40 {
                try await writer.create(root + "/child-with-a-fairly-long-name-\(index)")
            }
            let small = try await connectedClient(kind) { $0.packetLimit = 1024 }
            await expectError(.packetTooLarge) { try await small.getChildren(root) }
            // The client reconnects with the same session and carries on.
            let sessionID = small.sessionID
            #expect(try await small.exists(root) != nil)
            #expect(small.sessionID == sessionID)
            await small.close()
        }
    }

    @Test(arguments: interopServers)
    func resumingASessionElsewhereAndClosingItExpiresTheOriginal(_ kind: TestServerKind) async throws {
        let original = try await connectedClient(kind)
        let observer = try await connectedClient(kind)
        defer { Task { await observer.close() } }
        try await withRoot(observer) { root in
            try await original.create(root + "/eph", mode: .ephemeral)
            let events = EventRecorder(original.connectionEvents)
            // The original, kicked off its connection, reconnects at once and may win the session back before
            // the twin's closeSession; like Curator's KillSession, repeat (bounded) until the close lands.
            var expired = false
            for _ in 0..<5 where !expired {
                do {
                    let twin = try await connectedClient(kind) {
                        $0.session = (original.sessionID, original.sessionPassword)
                    }
                    #expect(twin.sessionID == original.sessionID)
                    await twin.close()
                } catch let error as ZooKeeperError where error.code == .sessionExpired {
                    // An earlier close landed already: the session is gone.
                }
                expired = await events.next(within: .seconds(5), where: { $0 == .expired }) == .expired
            }
            #expect(expired)
            #expect(try await observer.exists(root + "/eph") == nil)
            await expectError(.sessionExpired) { try await original.getData("/") }
            #expect(original.state == .closed)
        }
    }

    @Test(arguments: interopServers)
    func wrongPasswordIsAnExpiredSession(_ kind: TestServerKind) async throws {
        let real = try await connectedClient(kind)
        defer { Task { await real.close() } }
        let address = try SharedTestServers.connectString(kind)
        var configuration = ZooKeeperClient.Configuration()
        configuration.session = (real.sessionID, [UInt8](repeating: 1, count: 16))
        let impostor = try ZooKeeperClient(connectString: address, configuration: configuration)
        await expectError(.sessionExpired) { try await impostor.waitUntilConnected(timeout: .seconds(20)) }
        #expect(impostor.state == .closed)
        // Apache closes the session's own connection when another asks for the session, before it checks the
        // password (zkserver does not): the real client may meet a ConnectionLoss, reconnects with its password
        // and goes on with its session.
        let sessionID = real.sessionID
        var rootStat: Stat? = nil
        for _ in 0..<3 {
            try await real.waitUntilConnected(timeout: .seconds(20))
            do {
                rootStat = try await real.exists("/")
                break
            } catch {
                #expect(error.code == .connectionLoss, "\(error)")
            }
        }
        let found = rootStat != nil
        #expect(found)
        let sameSession = real.sessionID == sessionID
        #expect(sameSession)
    }
}
