import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite(.timeLimit(.minutes(5))) struct SharedCountTests {
    @Test(arguments: interopServers)
    func conditionalSetsFailOnAStaleVersion(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let count = SharedCount(client: client, path: root + "/a/count")
            try await count.start(seed: 7)
            try await count.start(seed: 9)  // already there: keeps its value
            #expect(try await client.getData(root + "/a/count").data == [0, 0, 0, 7])
            let values = EventRecorder(try await count.values())
            #expect(await values.next()?.value == 7)
            let read = try await count.versionedCount()
            #expect(try await count.trySetCount(8, expecting: read))
            #expect(try await !count.trySetCount(100, expecting: read))
            #expect(try await count.count() == 8)
            #expect(await values.next()?.value == 8)
            try await count.setCount(-2)
            #expect(try await client.getData(root + "/a/count").data == [0xFF, 0xFF, 0xFF, 0xFE])
            #expect(await values.next()?.value == -2)
            #expect(try await count.add(5) == 3)
        }
    }

    @Test(arguments: interopServers)
    func atomicLongOperations(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let value = DistributedAtomicLong(client: client, path: root + "/x/long")
            #expect(try await value.get() == 0)
            #expect(try await !value.compareAndSet(expected: 0, newValue: 5).succeeded)  // no node: no match
            #expect(try await value.increment() == AtomicValue(succeeded: true, preValue: 0, postValue: 1))
            #expect(try await client.getData(root + "/x/long").data == [0, 0, 0, 0, 0, 0, 0, 1])
            #expect(try await value.add(41).postValue == 42)
            #expect(try await value.compareAndSet(expected: 42, newValue: -1).succeeded)
            #expect(try await !value.compareAndSet(expected: 42, newValue: 0).succeeded)
            #expect(try await value.subtract(1).postValue == -2)
            try await value.forceSet(1 << 40)
            #expect(try await value.get() == 1 << 40)
        }
    }

    /// Curator's SharedCount and DistributedAtomicLong and the Swift ones increment the same nodes at once; no
    /// increment is lost, and each reads the other's encoding.
    @Test(arguments: interopServers)
    func swiftAndCuratorCountersAgree(_ kind: TestServerKind) async throws {
        let rounds = recipeRounds(100)
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("counters")
        let output = directory + "/curator.out"
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let shared = SharedCount(client: client, path: root + "/shared")
            try await shared.start(seed: 0)
            let java = try CuratorPeer.start(["counters", address, root, "\(rounds)"], output: output)
            defer { java.wait(timeout: 0) }
            #expect(await eventually { peerLines(output).contains("READY") }, "\(peerErrors(output))")
            let along = DistributedAtomicLong(client: client, path: root + "/long")
            for _ in 0..<rounds {
                try await shared.add(1)
                #expect(try await along.increment().succeeded)
            }
            #expect(java.waitForExit(timeout: 120), "\(peerErrors(output))")
            let lines = peerLines(output)
            #expect(lines.contains("DONE \(rounds)"), "\(lines) \(peerErrors(output))")
            #expect(!lines.contains { $0.hasPrefix("ERROR") }, "\(lines)")
            #expect(try await shared.count() == Int32(2 * rounds))
            #expect(try await along.get() == Int64(2 * rounds))
        }
    }
}
