import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite(.timeLimit(.minutes(5))) struct LeaderElectionTests {
    @Test(arguments: interopServers)
    func theBodyIsCancelledWhenLeadershipIsLost(_ kind: TestServerKind) async throws {
        let doomed = try await connectedClient(kind)
        let observer = try await connectedClient(kind)
        defer {
            Task {
                await doomed.close()
                await observer.close()
            }
        }
        try await withRoot(observer) { root in
            let path = root + "/election"
            let election = LeaderElection(client: doomed, path: path, id: "swift-1")
            let started = AsyncStream.makeStream(of: Void.self)
            let term = Task {
                try await election.lead {
                    started.continuation.yield()
                    // Leads until cancelled.
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(1)) }
                    return "cancelled"
                }
            }
            var iterator = started.stream.makeAsyncIterator()
            await iterator.next()
            #expect(try await LeaderElection.leader(client: observer, path: path)?.owner == "swift-1")
            try await expireSession(of: doomed, kind: kind)
            do {
                _ = try await term.value
                Issue.record("leading went on after the session was lost")
            } catch let error as ZooKeeperError {
                #expect(error.code == .connectionLoss || error.code == .sessionExpired, "\(error)")
            }
        }
    }

    /// Swift `LeaderElection` terms and Curator `LeaderSelector` terms (auto-requeued) alternate on one path; a
    /// marker file proves that no two terms overlap.
    @Test(arguments: interopServers)
    func swiftAndCuratorLeadersNeverOverlap(_ kind: TestServerKind) async throws {
        let rounds = recipeRounds(75) / 3
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("selector")
        let marker = OverlapMarker(path: directory + "/leading")
        let output = directory + "/curator.out"
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let path = root + "/election"
            let java = try CuratorPeer.start(
                ["selector", address, path, "java-1", "\(rounds)", marker.path], output: output)
            defer { java.wait(timeout: 0) }
            #expect(await eventually { peerLines(output).contains("READY") }, "\(peerErrors(output))")
            let election = LeaderElection(client: client, path: path, id: "swift-1")
            var overlaps = 0
            for _ in 0..<rounds {
                let alone = try await election.lead {
                    let entered = marker.enter()
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                    if entered { marker.leave() }
                    return entered
                }
                if !alone { overlaps += 1 }
            }
            #expect(overlaps == 0)
            #expect(java.waitForExit(timeout: 120), "\(peerErrors(output))")
            let lines = peerLines(output)
            #expect(lines.contains("DONE"), "\(lines) \(peerErrors(output))")
            #expect(!lines.contains("OVERLAP"))
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct BarrierTests {
    @Test(arguments: interopServers)
    func waitersPassWhenTheBarrierIsRemoved(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let barrier = Barrier(client: client, path: root + "/b/barrier")
            try await barrier.set()
            try await barrier.set()
            #expect(try await !barrier.wait(timeout: .milliseconds(200)))
            let waiter = Task { try await barrier.wait(timeout: .seconds(60)) }
            try await barrier.remove()
            #expect(try await waiter.value)
        }
    }

    /// Two Curator `DistributedDoubleBarrier` members and two Swift `DoubleBarrier` members of one barrier of four:
    /// nobody enters before all four are there, and all leave.
    @Test(arguments: interopServers)
    func swiftAndCuratorMembersEnterAndLeaveTogether(_ kind: TestServerKind) async throws {
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("double-barrier")
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let path = root + "/double"
            let first = DoubleBarrier(client: client, path: path, memberCount: 4)
            let entering = Task { try await first.enter(timeout: .seconds(60)) }
            var javas: [(ChildProcess, String)] = []
            defer { for (process, _) in javas { process.wait(timeout: 0) } }
            for index in 0..<2 {
                let output = directory + "/java-\(index).out"
                javas.append(
                    (
                        try CuratorPeer.start(["doublebarrier", address, path, "4", "java-\(index)"], output: output),
                        output
                    ))
            }
            for (_, output) in javas {
                #expect(await eventually { peerLines(output).contains("READY") }, "\(peerErrors(output))")
            }
            // Three members are not enough.
            #expect(try await eventually { try await client.getChildren(path).count == 3 })
            #expect(!javas.contains { peerLines($0.1).contains { $0.hasPrefix("ENTERED") } })
            let secondClient = try await connectedClient(kind)
            defer { Task { await secondClient.close() } }
            let second = DoubleBarrier(client: secondClient, path: path, memberCount: 4)
            #expect(try await second.enter(timeout: .seconds(60)))
            #expect(try await entering.value)
            async let firstLeft = first.leave(timeout: .seconds(60))
            async let secondLeft = second.leave(timeout: .seconds(60))
            #expect(try await firstLeft)
            #expect(try await secondLeft)
            for (index, (process, output)) in javas.enumerated() {
                #expect(process.waitForExit(timeout: 60), "\(peerErrors(output))")
                #expect(peerLines(output).contains("ENTERED java-\(index)"), "\(peerLines(output))")
                #expect(peerLines(output).contains("LEFT java-\(index)"), "\(peerLines(output))")
            }
            // Everyone is gone (and the server may already have removed the empty container).
            #expect(((try? await client.getChildren(path)) ?? []).isEmpty)
        }
    }
}
