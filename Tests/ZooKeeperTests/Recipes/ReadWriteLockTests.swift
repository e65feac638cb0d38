import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite(.timeLimit(.minutes(5))) struct ReadWriteLockTests {
    /// kazoo's `WriteLock` / `ReadLock` and a Swift `ReadWriteLock` with kazoo's layout on one path: a kazoo writer
    /// keeps a Swift reader out, a Swift reader and a kazoo reader share the lock, a Swift writer keeps a kazoo reader
    /// out (kazoo itself says so: its non-blocking acquire fails, its blocking one returns after the release).
    @Test(arguments: interopServers)
    func swiftAndKazooReadersAndWritersOnKazoosLayout(_ kind: TestServerKind) async throws {
        let address = try SharedTestServers.connectString(kind)
        let directory = try TestEnvironment.temporaryDirectory("kazoo-rwlock")
        let output = directory + "/kazoo.out"
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let path = root + "/rw"
            let python = try KazooPeer.start(script: kazooReadWriteScript, [address, path, root], output: output)
            defer { python.wait(timeout: 0) }
            func kazooSaid(_ line: String) async -> Bool {
                await eventually { peerLines(output).contains(line) }
            }

            // A kazoo writer holds the lock: a Swift reader waits behind it.
            #expect(await kazooSaid("WRITE HELD"), "\(peerErrors(output))")
            let reader = ReadWriteLock(client: client, path: path, layout: .kazoo, data: Array("swift-reader".utf8))
            let readAttempt = Task { try await reader.readLock.acquire(timeout: .seconds(60)) }
            #expect(try await eventually { try await client.lockContenders(path).count == 2 })
            var contenders = try await client.lockContenders(path)
            #expect(contenders.map(\.kind) == [.kazooLock, .kazooRead])
            #expect(contenders.map(\.isHolder) == [true, false])
            #expect(contenders.map(\.owner) == ["kazoo-writer", "swift-reader"])
            let readerName = String(ZooKeeperPath.name(of: contenders[1].node))
            #expect(readerName.range(of: #"^[0-9a-f]{32}__rlock__[0-9]{10}$"#, options: .regularExpression) != nil)
            #expect(await !reader.readLock.isAcquired)
            try await client.create(root + "/go1")
            #expect(try await readAttempt.value)

            // The Swift reader holds it: a kazoo reader shares it.
            #expect(await kazooSaid("READ SHARED"), "\(peerLines(output)) \(peerErrors(output))")
            #expect(!peerLines(output).contains("READ TIMEOUT"))
            contenders = try await client.lockContenders(path)
            #expect(contenders.map(\.kind) == [.kazooRead, .kazooRead])
            #expect(contenders.map(\.isHolder) == [true, true])
            try await client.create(root + "/go2")
            #expect(await kazooSaid("READ RELEASED"))
            try await reader.readLock.release()

            // A Swift writer holds it: a kazoo reader is refused, then waits, and gets it after the release.
            let writer = ReadWriteLock(client: client, path: path, layout: .kazoo, data: Array("swift-writer".utf8))
            try await writer.writeLock.acquire()
            let writerNode = try #require(await writer.writeLock.lockNode)
            #expect(String(ZooKeeperPath.name(of: writerNode)).contains("__lock__"))
            try await client.create(root + "/go3")
            #expect(await kazooSaid("READ BLOCKED"), "\(peerLines(output)) \(peerErrors(output))")
            #expect(try await eventually { try await client.lockContenders(path).count == 2 })
            contenders = try await client.lockContenders(path)
            #expect(contenders.map(\.owner) == ["swift-writer", "kazoo-reader"])
            #expect(contenders.map(\.isHolder) == [true, false])
            #expect(!peerLines(output).contains("READ AFTER WRITER"))
            try await writer.writeLock.release()
            #expect(await kazooSaid("READ AFTER WRITER"), "\(peerLines(output)) \(peerErrors(output))")
            #expect(python.waitForExit(timeout: 60), "\(peerErrors(output))")
            #expect(peerLines(output).last == "DONE")
            #expect(try await client.lockContenders(path).isEmpty)
        }
    }
}

/// kazoo's side of the read-write lock test, one step per `<root>/goN` node.
private let kazooReadWriteScript = #"""
    import sys, threading
    from kazoo.client import KazooClient

    hosts, path, root = sys.argv[1:4]
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=30)

    def say(line):
        print(line, flush=True)

    def wait_for(node):
        seen = threading.Event()
        if zk.exists(node, watch=lambda event: seen.set()) is None:
            seen.wait(60)

    writer = zk.WriteLock(path, identifier="kazoo-writer")
    writer.acquire()
    say("WRITE HELD")
    wait_for(root + "/go1")
    writer.release()

    reader = zk.ReadLock(path, identifier="kazoo-reader")
    say("READ SHARED" if reader.acquire(timeout=30) else "READ TIMEOUT")
    wait_for(root + "/go2")
    reader.release()
    say("READ RELEASED")

    wait_for(root + "/go3")
    refused = zk.ReadLock(path, identifier="kazoo-reader")
    say("READ BLOCKED" if not refused.acquire(blocking=False) else "READ ACQUIRED")
    waiting = zk.ReadLock(path, identifier="kazoo-reader")
    say("READ AFTER WRITER" if waiting.acquire(timeout=60) else "READ TIMEOUT")
    waiting.release()
    say("DONE")
    zk.stop()
    """#
