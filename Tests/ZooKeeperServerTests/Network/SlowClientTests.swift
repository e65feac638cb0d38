import Foundation
import NIOCore
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTestSupport

/// Clients that hold the server's resources without playing their part: one that never reads its replies, one
/// that never sends its ConnectRequest, one that trickles a byte at a time. Each costs bounded memory and time,
/// and the others are served meanwhile.
@Suite(.serialized) struct SlowClientTests {
    private func withServer(
        _ adjust: (inout ServerConfiguration) -> Void, _ body: (ZooKeeperServer) async throws -> Void
    ) async throws {
        var configuration = ZooKeeperServerForTests.configuration()
        adjust(&configuration)
        let server = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        do {
            try await body(server)
        } catch {
            await server.shutdown()
            throw error
        }
        await server.shutdown()
    }

    /// Resident memory of this process (the server runs in it), in bytes.
    private func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kilobytes * 1024
        }
        return 0
    }

    @Test(.timeLimit(.minutes(2))) func aClientThatNeverReadsCostsBoundedMemory() async throws {
        try await withServer({ _ in }) { server in
            let client = try await ZooKeeperClient.connect(server.connectString)
            let path = SharedTestServers.uniqueRoot("big")
            let megabyte = [UInt8](repeating: 0x5A, count: 1_000_000)
            try await client.create(path, data: megabyte)

            let before = residentBytes()
            // 1,000 reads of a 1 MB node, and never a read of the replies: a gigabyte owed.
            let slow = try #require(RawConnection(port: server.port))
            #expect(slow.handshake() != nil)
            var requests = ByteBuffer()
            for xid in 1...1000 {
                ZooKeeperRequest.getData(PathWatchRequest(path: path, watch: false)).encodeFrame(
                    xid: Int32(xid), into: &requests)
            }
            #expect(slow.send(requests))

            // Meanwhile everyone else is served as usual.
            let other = try await client.create(path + "-other")
            for round in 0..<50 {
                try await client.setData(other, data: [UInt8(round)])
                #expect(try await client.getData(other).data == [UInt8(round)])
            }
            let grown = residentBytes() - before
            #expect(grown < 200_000_000, "the server holds \(grown) bytes for a client that reads nothing")

            // The client that caught up gets every reply, in order.
            for xid in 1...1000 {
                guard var frame = slow.readFrame() else {
                    Issue.record("reply \(xid) missing")
                    break
                }
                let header = try ReplyHeader(from: &frame)
                #expect(header.xid == Int32(xid) && header.error == .ok && frame.readableBytes > 1_000_000)
                if header.xid != Int32(xid) { break }
            }
            await client.close()
        }
    }

    // The limit guards against a hang; a sanitizer build takes 3-4 minutes over the 30 MB (docs/sanitizers.md).
    @Test(.timeLimit(.minutes(5))) func aFloodOfNotificationsNobodyReadsDropsThatConnectionOnly() async throws {
        try await withServer({ $0.connectionOutputLimit = 1 << 20 }) { server in
            let client = try await ZooKeeperClient.connect(server.connectString)
            // Long paths make every notification about 100 kB.
            let root = SharedTestServers.uniqueRoot("flood")
            let path = root + "/" + String(repeating: "n", count: 100_000)
            try await client.create(root)
            try await client.create(path)

            // The longest session the server grants (20 ticks: 40 s), so that its expiry cannot be what closes
            // the connection; an ephemeral node shows that the session outlives its dropped connection.
            let slow = try #require(RawConnection(port: server.port, timeout: 10))
            #expect(slow.handshake(timeout: 40_000) != nil)
            let (watchHeader, _) = try #require(
                slow.call(.addWatch(AddWatchRequest(path: root, mode: .persistentRecursive)), xid: 1))
            #expect(watchHeader.error == .ok)
            let ephemeral = SharedTestServers.uniqueRoot("owner")
            let (createHeader, _) = try #require(
                slow.call(
                    .create(CreateRequest(path: ephemeral, data: nil, acl: ACL.openUnsafe, mode: .ephemeral)), xid: 2))
            #expect(createHeader.error == .ok)

            // 300 changes, 30 MB of notifications for a client that reads none of them (well within its
            // session timeout, as it sends nothing meanwhile).
            let writes = 300
            let next = IndexDispenser()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        while let index = next.take(below: writes) {
                            try await client.setData(path, data: [UInt8(truncatingIfNeeded: index)])
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(slow.isClosedByServer(), "the flooded connection is dropped")
            #expect(try await client.exists(ephemeral) != nil, "its session lives on, as after any disconnection")
            // The writer's session never noticed.
            #expect(try await client.getData(path).stat.version == Int32(writes))
            await client.close()
        }
    }

    /// Whether the server on `port` closes a silent connection, and one that trickles its ConnectRequest a byte
    /// every 50 ms (false: the whole request but its last byte went through).
    private func sessionlessConnectionsClosed(port: Int) -> (silent: Bool, trickling: Bool) {
        let silent = RawConnection(port: port, timeout: 10)?.isClosedByServer() == true

        // A byte every 50 ms never makes a frame: the same bound applies.
        guard let trickle = RawConnection(port: port, timeout: 0.05) else { return (silent, false) }
        var request = ByteBuffer()
        RawConnection.writeNewSessionRequest(into: &request)
        var closed = false
        for byte in request.readableBytesView.prefix(request.readableBytes - 1) {
            guard trickle.send([byte]) else {
                closed = true
                break
            }
            // The read's timeout paces the bytes; the server sends nothing before a whole request.
            _ = trickle.read(1)
            if trickle.isClosed() {
                closed = true
                break
            }
        }
        return (silent, closed)
    }

    @Test(.timeLimit(.minutes(1))) func aConnectionWithoutAConnectRequestIsClosed() async throws {
        try await withServer({ $0.sessionlessConnectionTimeout = 300 }) { server in
            let closed = sessionlessConnectionsClosed(port: server.port)
            #expect(closed.silent, "a connection that sends nothing is closed")
            #expect(closed.trickling, "a connection that trickles its ConnectRequest is closed")
            // A prompt client is not affected.
            let client = try await ZooKeeperClient.connect(server.connectString)
            #expect(try await client.exists("/") != nil)
            await client.close()
        }
    }

    /// The same steps against Apache 3.8 (its NIO server, Debian's default) with the same setting: it closes the
    /// silent connection too, but every byte read starts its timer again, so a trickle keeps a connection open
    /// for as long as the client likes. zkserver bounds it (documented in zkserver(1)).
    @Test(.timeLimit(.minutes(2))) func apacheClosesTheSilentConnectionButNotTheTrickle() async throws {
        let apache = try ApacheZooKeeperStandalone(systemProperties: ["-Dzookeeper.nio.sessionlessCnxnTimeout=300"])
        defer { apache.stop() }
        let closed = sessionlessConnectionsClosed(port: apache.server.clientPort)
        #expect(closed.silent)
        #expect(!closed.trickling)
        let client = try await ZooKeeperClient.connect(apache.address)
        #expect(try await client.exists("/") != nil)
        await client.close()
    }
}

/// Hands out 0, 1, 2, ... to concurrent tasks.
final class IndexDispenser: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        defer { value += 1 }
        return value
    }
}
