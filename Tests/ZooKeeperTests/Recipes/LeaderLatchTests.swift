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

/// A LeaderLatch election across a 3-node Apache ensemble while the member that serves the leader's session is
/// killed (SIGKILL): Swift latches and Curator `LeaderLatch` processes take part. Every claim of leadership the
/// participants report goes into one timeline, and each claim is checked as it arrives: never two leaders.
@Suite(.serialized, .timeLimit(.minutes(8))) struct LeaderLatchEnsembleTests {
    /// Claims of leadership as the participants report them (Swift's `leadershipChanges`, the LEADER / NOTLEADER
    /// lines of Curator's listener), in the order they reach the test.
    final class LeadershipTimeline: @unchecked Sendable {
        private let lock = NSLock()
        private var leaders: Set<String> = []
        private var history: [(id: String, leads: Bool)] = []
        private var overlaps: [String] = []
        private var peerOutput: [String: [String]] = [:]

        func record(_ id: String, leads: Bool) {
            lock.lock()
            defer { lock.unlock() }
            history.append((id, leads))
            if leads { leaders.insert(id) } else { leaders.remove(id) }
            if leaders.count > 1 {
                overlaps.append("\(leaders.sorted()) after \(history.suffix(6).map { "\($0.id)=\($0.leads)" })")
            }
        }

        /// Records a line of a Curator participant: its claims, and the rest (READY) for `lines(of:)`.
        func recordLine(_ line: String, of id: String) {
            if line == "LEADER \(id)" {
                record(id, leads: true)
            } else if line == "NOTLEADER \(id)" {
                record(id, leads: false)
            }
            lock.lock()
            peerOutput[id, default: []].append(line)
            lock.unlock()
        }

        func lines(of id: String) -> [String] {
            lock.lock()
            defer { lock.unlock() }
            return peerOutput[id] ?? []
        }

        /// Who claims to lead now.
        var currentLeaders: Set<String> {
            lock.lock()
            defer { lock.unlock() }
            return leaders
        }

        /// How many claims have arrived so far.
        var count: Int {
            lock.lock()
            defer { lock.unlock() }
            return history.count
        }

        /// The claims that arrived after the first `index`.
        func claims(after index: Int) -> [(id: String, leads: Bool)] {
            lock.lock()
            defer { lock.unlock() }
            return Array(history.dropFirst(index))
        }

        /// Every moment at which more than one participant claimed to lead.
        var moreThanOneLeader: [String] {
            lock.lock()
            defer { lock.unlock() }
            return overlaps
        }
    }

    /// A Curator `LeaderLatch` process whose stdout is a pipe read line by line into the timeline.
    final class CuratorParticipant: @unchecked Sendable {
        let id: String
        let process: ChildProcess
        private let reader: Thread

        init(id: String, connectString: String, path: String, timeline: LeadershipTimeline, errors: String) throws {
            self.id = id
            var ends: [Int32] = [0, 0]
            guard pipe(&ends) == 0 else { throw HarnessError("pipe failed") }
            let (readEnd, writeEnd) = (ends[0], ends[1])
            defer { close(writeEnd) }
            process = try CuratorPeer.start(
                ["latch", connectString, path, id, "20000"], output: .descriptor(writeEnd), errors: errors)
            reader = Thread {
                let input = FileHandle(fileDescriptor: readEnd, closeOnDealloc: true)
                var pending = Data()
                while true {
                    let chunk = input.availableData
                    if chunk.isEmpty { break }
                    pending.append(chunk)
                    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                        let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                        pending.removeSubrange(pending.startIndex...newline)
                        timeline.recordLine(line, of: id)
                    }
                }
            }
            reader.start()
        }

        func stop() { process.wait(timeout: 0) }
    }

    /// The member of `ensemble` that serves `sessionID` (from each member's `cons`).
    static func member(serving sessionID: Int64, in ensemble: ApacheZooKeeperEnsemble) -> ApacheZooKeeperServer? {
        let marker = "sid=0x" + String(UInt64(bitPattern: sessionID), radix: 16) + ","
        return ensemble.servers.first { server in
            server.isRunning
                && (TestEnvironment.fourLetterWord("cons", port: server.clientPort, host: server.host) ?? "")
                    .contains(marker)
        }
    }

    @Test func exactlyOneLeaderWhileTheLeadersServerIsKilled() async throws {
        let ensemble = try ApacheZooKeeperEnsemble()
        let connectString = ensemble.connectString()
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(20)
        func connect() async throws -> ZooKeeperClient {
            try await ZooKeeperClient.connect(connectString, configuration: configuration, timeout: .seconds(60))
        }
        let observer = try await connect()
        let path = "/election"
        let directory = try TestEnvironment.temporaryDirectory("latch-ensemble")
        let timeline = LeadershipTimeline()
        var javas: [String: CuratorParticipant] = [:]
        var swifts: [String: (client: ZooKeeperClient, latch: LeaderLatch)] = [:]
        var listeners: [Task<Void, Never>] = []
        defer {
            for (_, java) in javas { java.stop() }
            for listener in listeners { listener.cancel() }
            Task { [swifts] in
                for (_, swift) in swifts { await swift.client.close() }
                await observer.close()
            }
        }
        func startSwift(_ id: String) async throws {
            let client = try await connect()
            let latch = LeaderLatch(client: client, path: path, id: id)
            listeners.append(
                Task {
                    for await leads in latch.leadershipChanges { timeline.record(id, leads: leads) }
                })
            try await latch.start()
            swifts[id] = (client, latch)
        }
        func startJava(_ id: String) async throws {
            let java = try CuratorParticipant(
                id: id, connectString: connectString, path: path, timeline: timeline,
                errors: directory + "/\(id).err")
            javas[id] = java
            let ready = await eventually { timeline.lines(of: id).contains { $0.hasPrefix("READY") } }
            #expect(ready, "\((try? String(contentsOfFile: directory + "/\(id).err", encoding: .utf8)) ?? "")")
        }
        /// Waits until exactly one participant claims to lead and it is the owner of the first latch node.
        func settledLeader() async -> String? {
            let settled = await eventually(within: 90) {
                let claims = timeline.currentLeaders
                guard claims.count == 1 else { return false }
                // The observer may be reconnecting itself (its member may be the one killed).
                let first = try? await LeaderLatch.leader(client: observer, path: path)
                return first?.owner == claims.first
            }
            #expect(timeline.moreThanOneLeader.isEmpty, "more than one leader: \(timeline.moreThanOneLeader)")
            return settled ? timeline.currentLeaders.first : nil
        }
        /// The latch nodes agree with the participants: one node per participant, each owned by a live session
        /// of its own, and the first one is the leader's.
        func expectConsistentNodes(participants: Set<String>, leader: String) async throws {
            let children = try await observer.getChildren(path)
            let nodes = try await LeaderLatch.participants(client: observer, path: path)
            #expect(nodes.count == children.count, "children that are not latch nodes: \(children)")
            #expect(nodes.compactMap(\.owner).sorted() == participants.sorted(), "\(nodes)")
            #expect(Set(nodes.map(\.sessionID)).count == nodes.count, "\(nodes)")
            #expect(nodes.allSatisfy { $0.sessionID != 0 })
            #expect(nodes.first?.owner == leader)
            for (id, swift) in swifts where participants.contains(id) {
                #expect(nodes.first { $0.owner == id }?.sessionID == swift.client.sessionID, "\(id)")
            }
        }
        /// Kills the member serving the leader's session and checks the election through it; returns the leader
        /// afterwards.
        func killTheLeadersMember(participants: Set<String>) async throws -> String {
            let leader = try #require(await settledLeader(), "no single leader: \(timeline.currentLeaders)")
            let node = try #require(try await LeaderLatch.leader(client: observer, path: path))
            let member = try #require(Self.member(serving: node.sessionID, in: ensemble), "no member serves \(leader)")
            let before = timeline.count
            member.stop(signal: SIGKILL)
            // The leader's connection broke: it gives leadership up (Curator's and ours, on suspension) ...
            let gaveUp = await eventually(within: 60) {
                timeline.claims(after: before).contains { $0.id == leader && !$0.leads }
            }
            #expect(gaveUp, "\(leader) did not give leadership up: \(timeline.claims(after: before))")
            // ... and then exactly one participant leads: the same one (its session moved to another member) or
            // one other.
            let after = try #require(await settledLeader(), "no single leader: \(timeline.currentLeaders)")
            let newClaims = Set(timeline.claims(after: before).filter { $0.leads }.map { $0.id })
            #expect(newClaims == [after], "leadership claimed by \(newClaims) after the kill")
            try await expectConsistentNodes(participants: participants, leader: after)
            if let swift = swifts[leader], after == leader {
                #expect(swift.client.sessionID == node.sessionID)
            }
            try ensemble.restart(member)
            #expect(ensemble.waitForQuorum(timeout: 90))
            return after
        }

        try await startSwift("swift-a")
        try await startSwift("swift-b")
        try await startJava("java-c")
        try await startJava("java-d")
        let everyone: Set<String> = ["swift-a", "swift-b", "java-c", "java-d"]
        #expect(await settledLeader() == "swift-a")
        try await expectConsistentNodes(participants: everyone, leader: "swift-a")

        // A Swift leader: its session survives on another member, and its node is still first.
        #expect(try await killTheLeadersMember(participants: everyone) == "swift-a")

        // A Curator leader: the Swift participants ahead of the first Curator one leave.
        var remaining = everyone
        await swifts["swift-a"]?.latch.close()
        remaining.remove("swift-a")
        if await settledLeader() == "swift-b" {
            await swifts["swift-b"]?.latch.close()
            remaining.remove("swift-b")
        }
        let javaLeader = try #require(await settledLeader())
        #expect(javaLeader.hasPrefix("java-"))
        let afterJava = try await killTheLeadersMember(participants: remaining)
        #expect(remaining.contains(afterJava))
        #expect(timeline.moreThanOneLeader.isEmpty, "\(timeline.moreThanOneLeader)")
    }
}
