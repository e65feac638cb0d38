import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite(.timeLimit(.minutes(5))) struct LeaderLatchTests {
    @Test(arguments: interopServers)
    func leadershipPassesInOrderWhenLeadersLeave(_ kind: TestServerKind) async throws {
        let clients = [
            try await connectedClient(kind), try await connectedClient(kind), try await connectedClient(kind),
        ]
        defer { Task { for client in clients { await client.close() } } }
        try await withRoot(clients[0]) { root in
            let path = root + "/election"
            var latches: [LeaderLatch] = []
            for (index, client) in clients.enumerated() {
                let latch = LeaderLatch(client: client, path: path, id: "swift-\(index)")
                try await latch.start()
                latches.append(latch)
            }
            let changes = EventRecorder(latches[1].leadershipChanges)
            #expect(await latches[0].waitForLeadership(timeout: .seconds(30)))
            #expect(try await LeaderLatch.leader(client: clients[2], path: path)?.owner == "swift-0")
            let participants = try await LeaderLatch.participants(client: clients[2], path: path)
            #expect(participants.map(\.owner) == ["swift-0", "swift-1", "swift-2"])
            #expect(participants.map(\.isHolder) == [true, false, false])
            let name = String(ZooKeeperPath.name(of: participants[0].node))
            #expect(name.hasPrefix("_c_") && name.contains("-latch-"), "\(name)")
            #expect(await !latches[1].hasLeadership)
            #expect(await !latches[2].hasLeadership)

            await latches[0].close()
            #expect(await changes.next() == true)
            #expect(await latches[1].hasLeadership)
            #expect(await !latches[0].hasLeadership)
            #expect(await !latches[2].hasLeadership)
            #expect(await latches[0].state == .closed)

            try await expireSession(of: clients[1], kind: kind)
            #expect(await changes.next() == false)
            #expect(await latches[2].waitForLeadership(timeout: .seconds(30)))
            #expect(await latches[1].state == .sessionLost)
            #expect(try await LeaderLatch.leader(client: clients[2], path: path)?.owner == "swift-2")
            await latches[2].close()
            #expect(try await LeaderLatch.participants(client: clients[2], path: path).isEmpty)
        }
    }

    /// Curator `LeaderLatch` processes and Swift latches in one election: exactly one leader after each change,
    /// including when a Java leader is killed with SIGKILL (its session then expires on the server) and when a
    /// Swift leader's session expires.
    @Test(arguments: interopServers)
    func swiftAndCuratorParticipantsElectExactlyOneLeader(_ kind: TestServerKind) async throws {
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("latch")
        let observer = try await connectedClient(kind)
        defer { Task { await observer.close() } }
        try await withRoot(observer) { root in
            let path = root + "/election"
            var javas: [String: (process: ChildProcess, output: String)] = [:]
            defer { for (_, java) in javas { java.process.wait(timeout: 0) } }
            func startJava(_ id: String) async throws {
                let output = directory + "/\(id).out"
                javas[id] = (try CuratorPeer.start(["latch", address, path, id, "4000"], output: output), output)
                #expect(
                    await eventually { peerLines(output).contains { $0.hasPrefix("READY") } }, "\(peerErrors(output))")
            }
            /// Whether the Java participant says it leads now (its last LEADER/NOTLEADER line).
            func javaLeads(_ id: String) -> Bool {
                guard let java = javas[id], java.process.isRunning else { return false }
                return peerLines(java.output).last { $0.hasSuffix(" \(id)") } == "LEADER \(id)"
            }
            var swiftClients: [String: ZooKeeperClient] = [:]
            var swifts: [String: LeaderLatch] = [:]
            defer { Task { [swiftClients] in for (_, client) in swiftClients { await client.close() } } }
            func startSwift(_ id: String) async throws {
                let client = try await connectedClient(kind)
                swiftClients[id] = client
                let latch = LeaderLatch(client: client, path: path, id: id)
                try await latch.start()
                swifts[id] = latch
            }
            /// Every participant that claims leadership now.
            func leaders() async -> [String] {
                var claims = javas.keys.filter(javaLeads)
                for (id, latch) in swifts where await latch.hasLeadership { claims.append(id) }
                return claims.sorted()
            }
            func expectSoleLeader(_ id: String) async throws {
                let settled = await eventually { await leaders() == [id] }
                let claims = await leaders()
                #expect(settled, "leaders: \(claims)")
                #expect(try await LeaderLatch.leader(client: observer, path: path)?.owner == id)
            }

            try await startJava("java-a")
            try await expectSoleLeader("java-a")
            try await startSwift("swift-b")
            try await startJava("java-c")
            try await startSwift("swift-d")
            try await expectSoleLeader("java-a")
            let order = try await LeaderLatch.participants(client: observer, path: path).compactMap(\.owner)
            #expect(order == ["java-a", "swift-b", "java-c", "swift-d"])

            // The Java leader dies without a word; its session expires after its timeout.
            kill(try #require(javas["java-a"]).process.pid, SIGKILL)
            try await expectSoleLeader("swift-b")

            // The Swift leader's session expires: it stops leading, and the next (Curator) takes over.
            try await expireSession(of: try #require(swiftClients["swift-b"]), kind: kind)
            try await expectSoleLeader("java-c")
            #expect(await swifts["swift-b"]?.state == .sessionLost)

            kill(try #require(javas["java-c"]).process.pid, SIGKILL)
            try await expectSoleLeader("swift-d")
            await swifts["swift-d"]?.close()
            #expect(try await LeaderLatch.participants(client: observer, path: path).isEmpty)
        }
    }
}
