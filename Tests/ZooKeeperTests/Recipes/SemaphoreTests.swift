import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite(.timeLimit(.minutes(5))) struct SemaphoreAndReadWriteLockTests {
    private func files(in directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }

    @Test(arguments: interopServers)
    func readersShareAndAWaitingWriterKeepsLaterReadersOut(_ kind: TestServerKind) async throws {
        let clients = [
            try await connectedClient(kind), try await connectedClient(kind), try await connectedClient(kind),
        ]
        defer { Task { for client in clients { await client.close() } } }
        try await withRoot(clients[0]) { root in
            let path = root + "/rw"
            let first = ReadWriteLock(client: clients[0], path: path)
            let second = ReadWriteLock(client: clients[1], path: path)
            let third = ReadWriteLock(client: clients[2], path: path)
            try await first.readLock.acquire()
            #expect(try await second.readLock.acquire(timeout: .seconds(30)))
            let writer = Task { try await third.writeLock.acquire(timeout: .seconds(60)) }
            #expect(try await eventually { try await clients[0].lockContenders(path).count == 3 })
            // A reader that comes after the waiting writer waits too.
            let late = ReadWriteLock(client: clients[0], path: path)
            #expect(try await !late.readLock.acquire(timeout: .milliseconds(300)))
            let contenders = try await clients[0].lockContenders(path)
            #expect(contenders.map(\.kind) == [.curatorRead, .curatorRead, .curatorWrite])
            #expect(contenders.map(\.isHolder) == [true, true, false])
            try await first.readLock.release()
            try await second.readLock.release()
            #expect(try await writer.value)
            try await third.writeLock.release()
        }
    }

    @Test(arguments: interopServers)
    func swiftAndCuratorSemaphoreHoldersNeverExceedTheLeases(_ kind: TestServerKind) async throws {
        let rounds = recipeRounds(75) / 3
        let maxLeases = 2
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("semaphore")
        let inside = directory + "/inside"
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        let output = directory + "/curator.out"
        let observer = try await connectedClient(kind)
        defer { Task { await observer.close() } }
        try await withRoot(observer) { root in
            let path = root + "/semaphore"
            let java = try CuratorPeer.start(
                ["semaphore", address, path, "\(maxLeases)", "\(rounds)", inside], output: output)
            defer { java.wait(timeout: 0) }
            #expect(await eventually { peerLines(output).contains("READY") }, "\(peerErrors(output))")
            let excess = try await withThrowingTaskGroup(of: Int.self) { group in
                for participant in 0..<2 {
                    group.addTask {
                        let client = try await connectedClient(kind)
                        let semaphore = Semaphore(client: client, path: path, maxLeases: maxLeases)
                        // One participant takes leases from the semaphore, the other holds one as a lock.
                        let leaseLock = participant == 1 ? semaphore.makeLeaseLock() : nil
                        var excess = 0
                        for _ in 0..<rounds {
                            var lease: ZooKeeper.Semaphore.Lease?
                            if let leaseLock {
                                try await leaseLock.acquire()
                            } else {
                                lease = try await semaphore.acquire()
                            }
                            let mine = inside + "/swift-\(participant)"
                            _ = FileManager.default.createFile(atPath: mine, contents: nil)
                            if files(in: inside).count > maxLeases { excess += 1 }
                            try await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                            try FileManager.default.removeItem(atPath: mine)
                            if let lease { try await semaphore.release(lease) }
                            try await leaseLock?.release()
                        }
                        await client.close()
                        return excess
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(excess == 0)
            #expect(java.waitForExit(timeout: 120), "\(peerErrors(output))")
            let lines = peerLines(output)
            #expect(lines.contains("DONE"), "\(lines) \(peerErrors(output))")
            #expect(!lines.contains("EXCESS"))
            #expect(!lines.contains { $0.hasPrefix("ERROR") }, "\(lines)")
            #expect(try await Semaphore(client: observer, path: path, maxLeases: maxLeases).currentLeases().isEmpty)
            // Leases are listed as holders, with their sessions.
            let semaphore = Semaphore(client: observer, path: path, maxLeases: maxLeases)
            let lease = try await semaphore.acquire()
            let holders = try await observer.lockContenders(path + "/leases")
            #expect(holders.map(\.kind) == [.curatorLease])
            #expect(holders.map(\.isHolder) == [true])
            #expect(holders.first?.node == lease.node)
            #expect(holders.first?.sessionID == observer.sessionID)
            try await semaphore.release(lease)
        }
    }

    /// A semaphore's lease lock: N of them hold at once, the next waits (and gives up at its timeout, leaving
    /// no node), takes the lease a holder releases, and learns of the loss when its lease node is deleted.
    @Test(arguments: interopServers)
    func leaseLocksHoldAtMostTheLeases(_ kind: TestServerKind) async throws {
        let clients = [
            try await connectedClient(kind), try await connectedClient(kind), try await connectedClient(kind),
        ]
        defer { Task { for client in clients { await client.close() } } }
        try await withRoot(clients[0]) { root in
            let path = root + "/semaphore"
            let locks = clients.map { Semaphore(client: $0, path: path, maxLeases: 2).makeLeaseLock() }
            try await locks[0].acquire()
            try await locks[1].acquire()
            #expect(try await !locks[2].acquire(timeout: .milliseconds(300)))
            #expect(try await clients[0].getChildren(path + "/leases").count == 2)
            #expect(try await clients[0].lockContenders(path + "/locks").isEmpty)
            let waiting = Task { try await locks[2].acquire(timeout: .seconds(60)) }
            #expect(try await eventually { try await clients[0].getChildren(path + "/leases").count == 3 })
            try await locks[0].release()
            #expect(try await waiting.value)
            #expect(await !locks[0].isAcquired)
            #expect(
                try await clients[0].lockContenders(path + "/leases").map(\.sessionID).sorted()
                    == [clients[1].sessionID, clients[2].sessionID].sorted())

            let events = EventRecorder(locks[2].events)
            let leaseNode = try #require(await locks[2].lockNode)
            #expect(await events.next() == .acquired(node: leaseNode))
            try await clients[0].delete(leaseNode)
            #expect(await events.next() == .lost)
            #expect(await !locks[2].isAcquired)
            try await locks[1].release()
            #expect(try await Semaphore(client: clients[0], path: path, maxLeases: 2).currentLeases().isEmpty)
        }
    }

    @Test(arguments: interopServers)
    func swiftAndCuratorReadersAndWritersNeverConflict(_ kind: TestServerKind) async throws {
        let rounds = recipeRounds(75) / 3
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("rwlock")
        let inside = directory + "/inside"
        try FileManager.default.createDirectory(atPath: inside, withIntermediateDirectories: true)
        let output = directory + "/curator.out"
        let observer = try await connectedClient(kind)
        defer { Task { await observer.close() } }
        try await withRoot(observer) { root in
            let path = root + "/rw"
            let java = try CuratorPeer.start(["rwlock", address, path, "\(rounds)", inside], output: output)
            defer { java.wait(timeout: 0) }
            #expect(await eventually { peerLines(output).contains("READY") }, "\(peerErrors(output))")
            let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
                for participant in 0..<2 {
                    let isWriter = participant == 0
                    group.addTask {
                        let client = try await connectedClient(kind)
                        let rw = ReadWriteLock(client: client, path: path)
                        let side = isWriter ? rw.writeLock : rw.readLock
                        let writerMarker = OverlapMarker(path: inside + "/writer")
                        let mine = inside + "/reader-swift"
                        var conflicts = 0
                        for _ in 0..<rounds {
                            try await side.acquire()
                            if isWriter {
                                let entered = writerMarker.enter()
                                if !entered || files(in: inside).count != 1 { conflicts += 1 }
                                try await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                                if entered { writerMarker.leave() }
                            } else {
                                _ = FileManager.default.createFile(atPath: mine, contents: nil)
                                if files(in: inside).contains("writer") { conflicts += 1 }
                                try await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                                try FileManager.default.removeItem(atPath: mine)
                            }
                            try await side.release()
                        }
                        await client.close()
                        return conflicts
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(conflicts == 0)
            #expect(java.waitForExit(timeout: 120), "\(peerErrors(output))")
            let lines = peerLines(output)
            #expect(lines.contains("DONE"), "\(lines) \(peerErrors(output))")
            #expect(!lines.contains("CONFLICT"))
            #expect(!lines.contains { $0.hasPrefix("ERROR") }, "\(lines)")
        }
    }
}
