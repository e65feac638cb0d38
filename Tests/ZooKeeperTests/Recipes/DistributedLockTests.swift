import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite(.timeLimit(.minutes(5))) struct DistributedLockTests {
    @Test(arguments: interopServers)
    func reentrantAcquireCountsUpAndTheLastReleaseDeletesTheNode(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let lock = DistributedLock(client: client, path: root + "/lock")
            try await lock.acquire()
            let node = try #require(await lock.lockNode)
            // Curator's layout: _c_<uuid>-lock-<ten-digit sequence>.
            let name = String(ZooKeeperPath.name(of: node))
            #expect(name.hasPrefix("_c_") && name.contains("-lock-"), "\(name)")
            #expect(try await client.exists(node)?.ephemeralOwner == client.sessionID)
            try await lock.acquire()
            #expect(try await client.getChildren(root + "/lock") == [name])
            try await lock.release()
            #expect(await lock.isAcquired)
            #expect(try await client.exists(node) != nil)
            try await lock.release()
            #expect(await !lock.isAcquired)
            #expect(try await client.exists(node) == nil)
            await expectError(.invalidArgument) { try await lock.release() }
        }
    }

    @Test(arguments: interopServers)
    func aTimedOutOrCancelledAcquireLeavesNoNodeBehind(_ kind: TestServerKind) async throws {
        let first = try await connectedClient(kind)
        let second = try await connectedClient(kind)
        defer {
            Task {
                await first.close()
                await second.close()
            }
        }
        try await withRoot(first) { root in
            let path = root + "/lock"
            let holder = DistributedLock(client: first, path: path)
            try await holder.acquire()
            let waiter = DistributedLock(client: second, path: path)
            #expect(try await !waiter.acquire(timeout: .milliseconds(300)))
            #expect(try await first.lockContenders(path).count == 1)

            let attempt = Task { try await waiter.acquire() }
            #expect(try await eventually { try await first.lockContenders(path).count == 2 })
            let contenders = try await first.lockContenders(path)
            #expect(contenders.map(\.isHolder) == [true, false])
            #expect(contenders.map(\.sessionID) == [first.sessionID, second.sessionID])
            #expect(contenders[0].creationZxid == (await holder.fencingToken))
            attempt.cancel()
            await expectError(.cancelled) { try await attempt.value }
            #expect(try await first.lockContenders(path).count == 1)
            try await holder.release()
            #expect(try await waiter.acquire(timeout: .seconds(30)))
            try await waiter.release()
        }
    }

    /// No herd: each waiter watches only the node just before its own (the server's `wchp` report says who
    /// watches what); the holder watches its own node, to hear of its loss.
    @Test func eachWaiterWatchesOnlyItsPredecessor() async throws {
        let address = try SharedTestServers.connectString(.apache)
        let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })
        var clients: [ZooKeeperClient] = []
        for _ in 0..<4 { clients.append(try await connectedClient(.apache)) }
        defer { Task { [clients] in for client in clients { await client.close() } } }
        try await withRoot(clients[0]) { root in
            let path = root + "/lock"
            let locks = clients.map { DistributedLock(client: $0, path: path) }
            try await locks[0].acquire()
            var waiters: [Task<Bool, any Error>] = []
            for lock in locks.dropFirst() {
                waiters.append(Task { try await lock.acquire(timeout: .seconds(60)) })
                let expected = waiters.count + 1
                // One at a time, so that the order of the nodes is the order of the clients.
                #expect(try await eventually { try await clients[0].lockContenders(path).count == expected })
            }
            let nodes = try await clients[0].lockContenders(path).map(\.node)
            let sessions = clients.map { String(format: "0x%llx", $0.sessionID) }
            let expected: [String: Set<String>] = [
                nodes[0]: [sessions[0], sessions[1]], nodes[1]: [sessions[2]], nodes[2]: [sessions[3]],
            ]
            var watched: [String: Set<String>] = [:]
            let settled = await eventually {
                watched = Self.watchesByPath(TestEnvironment.fourLetterWord("wchp", port: port) ?? "")
                    .filter { $0.key.hasPrefix(path + "/") }
                return watched == expected
            }
            #expect(settled, "watches: \(watched), expected: \(expected)")
            try await locks[0].release()
            for (index, waiter) in waiters.enumerated() {
                #expect(try await waiter.value)
                try await locks[index + 1].release()
            }
        }
    }

    /// Parses `wchp`: a path line, then one tab-indented session id per watcher.
    private static func watchesByPath(_ report: String) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        var current: String?
        for line in report.split(separator: "\n") {
            if line.hasPrefix("/") {
                current = String(line)
                result[String(line), default: []] = []
            } else if let current, line.hasPrefix("\t") || line.hasPrefix(" ") {
                result[current, default: []].insert(line.trimmingCharacters(in: .whitespaces))
            }
        }
        return result
    }

    @Test(arguments: interopServers)
    func theHolderIsToldWhenItsSessionExpiresAndTheNextWaiterGetsTheLock(_ kind: TestServerKind) async throws {
        let doomed = try await connectedClient(kind)
        let other = try await connectedClient(kind)
        defer {
            Task {
                await doomed.close()
                await other.close()
            }
        }
        try await withRoot(other) { root in
            let path = root + "/lock"
            let holder = DistributedLock(client: doomed, path: path)
            let events = EventRecorder(holder.events)
            try await holder.acquire()
            guard case .acquired(let node)? = await events.next() else {
                Issue.record("no acquired event")
                return
            }
            let firstToken = try #require(await holder.fencingToken)
            let waiter = DistributedLock(client: other, path: path)
            let attempt = Task { try await waiter.acquire(timeout: .seconds(60)) }
            try await expireSession(of: doomed, kind: kind)
            #expect(await events.next(where: { $0 == .lost }) == .lost)
            #expect(await !holder.isAcquired)
            #expect(try await attempt.value)
            let contenders = try await other.lockContenders(path)
            #expect(contenders.count == 1)
            #expect(contenders.first?.sessionID == other.sessionID)
            #expect(contenders.first?.node != node)
            // The new holder's fencing token is larger than any earlier holder's.
            #expect(try #require(await waiter.fencingToken) > firstToken)
            #expect(await waiter.fencingToken == contenders.first?.creationZxid)
            try await waiter.release()
        }
    }

    @Test(arguments: interopServers)
    func deletingTheHeldNodeIsReportedAsLost(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let lock = DistributedLock(client: client, path: root + "/lock")
            let events = EventRecorder(lock.events)
            try await lock.acquire()
            let node = try #require(await lock.lockNode)
            try await client.delete(node)
            #expect(await events.next(where: { $0 == .lost }) == .lost)
            #expect(await !lock.isAcquired)
        }
    }

    /// Swift holders and Curator `InterProcessMutex` holders take turns on one path, with random hold times;
    /// a marker file created exclusively inside the critical section catches any overlap.
    @Test(arguments: interopServers)
    func swiftAndCuratorHoldersNeverOverlap(_ kind: TestServerKind) async throws {
        let rounds = recipeRounds(75)
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("mutex")
        let marker = OverlapMarker(path: directory + "/inside")
        let output = directory + "/curator.out"
        let observer = try await connectedClient(kind)
        defer { Task { await observer.close() } }
        try await withRoot(observer) { root in
            let path = root + "/lock"
            let seed = UInt64.random(in: 0...UInt64(UInt32.max))
            let java = try CuratorPeer.start(
                ["mutex", address, path, "2", "\(rounds)", marker.path, "\(seed)"], output: output)
            defer { java.wait(timeout: 0) }
            #expect(await eventually { peerLines(output).contains("READY") }, "\(peerErrors(output))")
            let overlaps = try await withThrowingTaskGroup(of: Int.self) { group in
                for participant in 0..<2 {
                    group.addTask {
                        let client = try await connectedClient(kind)
                        var random = SeededGenerator(seed: seed &+ UInt64(participant) &+ 100)
                        let lock = DistributedLock(client: client, path: path)
                        var overlaps = 0
                        for round in 0..<rounds {
                            try await lock.acquire()
                            let entered = marker.enter()
                            if !entered { overlaps += 1 }
                            if round % 10 == 0 {
                                try await lock.acquire()
                                try await lock.release()
                            }
                            try await Task.sleep(for: .milliseconds(Int.random(in: 0...3, using: &random)))
                            if entered { marker.leave() }
                            try await lock.release()
                        }
                        await client.close()
                        return overlaps
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(overlaps == 0, "Swift holders found the critical section occupied \(overlaps) times")
            #expect(java.waitForExit(timeout: 120), "\(peerErrors(output))")
            let lines = peerLines(output)
            #expect(!lines.contains("OVERLAP"), "Curator holders found the critical section occupied")
            #expect(lines.contains("DONE \(2 * rounds)"), "\(lines.suffix(5)) \(peerErrors(output))")
            #expect(!lines.contains { $0.hasPrefix("ERROR") }, "\(lines)")
            #expect(try await observer.lockContenders(path).isEmpty)
        }
    }

    /// kazoo's `Lock` and a Swift lock with the kazoo layout exclude each other, and each lists the other.
    @Test(arguments: interopServers)
    func swiftAndKazooShareKazoosLayout(_ kind: TestServerKind) async throws {
        let rounds = recipeRounds(75) / 2
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("kazoo-lock")
        let marker = OverlapMarker(path: directory + "/inside")
        let output = directory + "/kazoo.out"
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let path = root + "/lock"
            let python = try KazooPeer.start(
                script: kazooLockScript, [address, path, root, marker.path, "\(rounds)"], output: output)
            defer { python.wait(timeout: 0) }
            #expect(await eventually { peerLines(output).contains("HELD") }, "\(peerErrors(output))")
            var contenders = try await client.lockContenders(path)
            #expect(contenders.count == 1)
            #expect(contenders.first?.kind == .kazooLock)
            #expect(contenders.first?.isHolder == true)
            #expect(contenders.first?.owner?.hasPrefix("kazoo-") == true, "\(contenders)")

            let lock = DistributedLock(client: client, path: path, layout: .kazoo, data: Array("swift-peer".utf8))
            let attempt = Task { try await lock.acquire(timeout: .seconds(60)) }
            #expect(try await eventually { try await client.lockContenders(path).count == 2 })
            contenders = try await client.lockContenders(path)
            #expect(contenders.map(\.isHolder) == [true, false])
            #expect(contenders.last?.owner == "swift-peer")
            #expect(contenders.last.map { String(ZooKeeperPath.name(of: $0.node)).contains("__lock__") } == true)
            try await client.create(root + "/go")
            #expect(try await attempt.value)
            // kazoo, while Swift holds it, sees Swift as a contender and cannot take the lock.
            #expect(await eventually { peerLines(output).contains("BLOCKED") }, "\(peerErrors(output))")
            #expect(peerLines(output).contains("CONTENDERS swift-peer"), "\(peerLines(output))")
            try await lock.release()
            try await client.create(root + "/go2")

            var overlaps = 0
            for _ in 0..<rounds {
                try await lock.acquire()
                let entered = marker.enter()
                if !entered { overlaps += 1 }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                if entered { marker.leave() }
                try await lock.release()
            }
            #expect(overlaps == 0)
            #expect(python.waitForExit(timeout: 120), "\(peerErrors(output))")
            let lines = peerLines(output)
            #expect(!lines.contains("OVERLAP"))
            #expect(lines.contains("DONE \(rounds)"), "\(lines.suffix(5)) \(peerErrors(output))")
        }
    }
}

/// Holds kazoo's Lock until `<root>/go`, then checks that it cannot take it from Swift, then takes turns.
private let kazooLockScript = #"""
    import os, random, sys, threading, time
    from kazoo.client import KazooClient

    hosts, path, root, marker, rounds = sys.argv[1:6]
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=30)
    lock = zk.Lock(path, identifier="kazoo-%d" % os.getpid())

    def wait_for(node):
        seen = threading.Event()
        if zk.exists(node, watch=lambda event: seen.set()) is None:
            seen.wait(60)

    lock.acquire()
    zk.create(root + "/held")
    print("HELD", flush=True)
    wait_for(root + "/go")
    lock.release()
    while "swift-peer" not in lock.contenders():
        time.sleep(0.01)
    print("CONTENDERS " + ",".join(lock.contenders()), flush=True)
    if not lock.acquire(blocking=False):
        print("BLOCKED", flush=True)
    wait_for(root + "/go2")
    for _ in range(int(rounds)):
        lock.acquire()
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.close(fd)
            entered = True
        except FileExistsError:
            print("OVERLAP", flush=True)
            entered = False
        time.sleep(random.randint(0, 3) / 1000)
        if entered:
            os.unlink(marker)
        lock.release()
    print("DONE %s" % rounds, flush=True)
    zk.stop()
    """#
