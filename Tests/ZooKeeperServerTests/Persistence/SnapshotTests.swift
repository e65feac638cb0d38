import Foundation
import NIOCore
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperServer

/// A random workload on a core: creates of every mode, deletes, setData, setACL, multis, sessions that come and
/// go or expire, over a small name space so that operations collide (and some fail, as they do in life).
struct RandomWorkload {
    let harness: CoreHarness
    var random: SeededGenerator
    var clients: [ConnectionID] = []

    init(harness: CoreHarness, seed: UInt64) {
        self.harness = harness
        random = SeededGenerator(seed: seed)
        for _ in 0..<3 { clients.append(harness.client(timeout: 6_000)) }
    }

    mutating func path() -> String {
        let depth = Int.random(in: 1...3, using: &random)
        return (0..<depth).map { _ in "/" + ["a", "b", "c", "d"].randomElement(using: &random)! }.joined()
    }

    mutating func data() -> [UInt8]? {
        Int.random(in: 0..<10, using: &random) == 0
            ? nil
            : Array(repeating: UInt8.random(in: 0...255, using: &random), count: Int.random(in: 0...40, using: &random))
    }

    mutating func run(_ count: Int) {
        for _ in 0..<count { step() }
    }

    mutating func step() {
        let client = clients.randomElement(using: &random)!
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<35:
            let mode = [CreateMode.persistent, .ephemeral, .persistentSequential, .ephemeralSequential, .container]
                .randomElement(using: &random)!
            harness.send(client, .create(CreateRequest(path: path(), data: data(), acl: ACL.openUnsafe, mode: mode)))
        case 35..<55:
            harness.send(client, .delete(PathVersionRequest(path: path(), version: -1)))
        case 55..<80:
            harness.send(client, .setData(SetDataRequest(path: path(), data: data(), version: -1)))
        case 80..<85:
            let acl =
                Bool.random(using: &random)
                ? ACL.openUnsafe : [ACL(permissions: .all, id: Id(scheme: "digest", id: "u:h")), ACL.openUnsafe[0]]
            harness.send(client, .setACL(SetACLRequest(path: path(), acl: acl, version: -1)))
        case 85..<93:
            let first = path()
            harness.send(
                client,
                .multi(
                    MultiRequest([
                        .create(CreateRequest(path: first, data: data(), acl: ACL.openUnsafe, mode: .persistent)),
                        .setData(SetDataRequest(path: first, data: data(), version: -1)),
                        .create(CreateRequest(path: first + "/m", data: nil, acl: ACL.openUnsafe, mode: .ephemeral)),
                        .delete(PathVersionRequest(path: path(), version: -1)),
                    ])))
        case 93..<97:
            // A client goes away cleanly; another arrives.
            let index = Int.random(in: 0..<clients.count, using: &random)
            harness.send(clients[index], .closeSession)
            clients[index] = harness.client(timeout: 6_000)
        default:
            // Time passes: sessions not heard from expire, containers are swept.
            let index = Int.random(in: 0..<clients.count, using: &random)
            harness.core.connectionClosed(clients[index])
            clients[index] = harness.client(timeout: 6_000)
            harness.clock.advance(milliseconds: 5_000)
            for client in clients { harness.send(client, .ping) }
            _ = harness.core.expireSessions()
            _ = harness.core.sweepContainers()
        }
    }
}

/// Serialises `core` completely (one big step) and returns the file's bytes.
func snapshotBytes(of core: ServerCore) -> ByteBuffer {
    fuzzySnapshotBytes(of: core, budget: { .max }, between: { _ in })
}

/// Serialises `core` in steps of `budget()` nodes, calling `between(steps)` after each step but the last (where a
/// test changes the tree, as the server goes on serving during a snapshot), and returns the file's bytes.
func fuzzySnapshotBytes(of core: ServerCore, budget: () -> Int, between: (Int) -> Void) -> ByteBuffer {
    let walker = SnapshotWalker(startZxid: core.lastZxid)
    var buffer = ByteBuffer()
    walker.begin(
        sessions: core.sessions.sessions.values.sorted { $0.id < $1.id }.map {
            SnapshotFile.SessionEntry(id: $0.id, timeout: $0.timeout, password: $0.password)
        }, wallMilliseconds: 0, into: &buffer)
    var steps = 0
    while !walker.step(core.tree, budget: budget(), endZxid: core.lastZxid, into: &buffer) {
        steps += 1
        between(steps)
    }
    let crc = buffer.withUnsafeReadableBytes { CRC32.checksum($0) }
    var trailer = SnapshotWalker.trailer(crc: crc)
    buffer.writeBuffer(&trailer)
    return buffer
}

/// Serialises `tree` in one step as a snapshot starting at `startZxid` with `sessions` (a test that models
/// another walk's interleaving arranges the tree first).
func snapshotBytes(
    of tree: DataTree, startZxid: Int64, sessions: [SnapshotFile.SessionEntry], endZxid: Int64
) -> ByteBuffer {
    let walker = SnapshotWalker(startZxid: startZxid)
    var buffer = ByteBuffer()
    walker.begin(sessions: sessions, wallMilliseconds: 0, into: &buffer)
    while !walker.step(tree, budget: .max, endZxid: endZxid, into: &buffer) {}
    let crc = buffer.withUnsafeReadableBytes { CRC32.checksum($0) }
    var trailer = SnapshotWalker.trailer(crc: crc)
    buffer.writeBuffer(&trailer)
    return buffer
}

/// A core rebuilt from a snapshot plus the transactions after it.
func rebuild(from bytes: ByteBuffer, replaying transactions: [Transaction]) throws -> ServerCore {
    let contents = try SnapshotFile.read(bytes, path: "memory")
    let core = ServerCore(configuration: ServerConfiguration(), clock: FakeClock(), log: RecordingLog())
    core.restore(tree: contents.tree, sessions: contents.sessions, lastZxid: contents.startZxid)
    for transaction in transactions where transaction.zxid > contents.startZxid { core.replay(transaction) }
    return core
}

@Suite struct SnapshotTests {
    @Test func aQuietSnapshotRoundTrips() throws {
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        var workload = RandomWorkload(harness: harness, seed: 7)
        workload.run(400)
        let original = StateDump(harness.core)
        #expect(original.nodes.count > 10)
        #expect(!original.ephemerals.isEmpty)
        let rebuilt = try rebuild(from: snapshotBytes(of: harness.core), replaying: [])
        let dump = StateDump(rebuilt)
        #expect(dump == original, "\(dump.differences(from: original))")
    }

    /// The core claim of fuzzy snapshots: a walk interleaved with transactions, plus the log from its start,
    /// rebuilds exactly the live state, whatever the interleaving.
    @Test(arguments: 1...12)
    func aFuzzySnapshotPlusTheLogRebuildsTheExactState(seed: UInt64) throws {
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        var workload = RandomWorkload(harness: harness, seed: seed)
        workload.run(300)
        let core = harness.core
        var random = SeededGenerator(seed: seed &* 1000)
        let buffer = fuzzySnapshotBytes(
            of: core, budget: { Int.random(in: 1...4, using: &random) },
            between: { _ in workload.run(Int.random(in: 0...6, using: &random)) })
        workload.run(50)
        let original = StateDump(core)
        let dump = StateDump(try rebuild(from: buffer, replaying: log.transactions))
        #expect(dump == original, "\(dump.differences(from: original))")
    }

    /// A child deleted while the walk is between its parent and it: the snapshot holds the parent as it was before
    /// and not the child, so the log's delete finds no node; the parent's pzxid must still end at the delete's zxid
    /// (and a create replayed before it must not take the parent's pzxid back below what the snapshot holds).
    /// The delete is made after each step of the walk in turn, so every position relative to the parent is tried.
    @Test func aDeleteDuringTheWalkMovesTheParentsPzxidWhereverTheWalkIs() throws {
        var mismatches: [String] = []
        var positions = 0
        for deleteAfter in 1...64 {
            let log = RecordingLog()
            let harness = CoreHarness(log: log)
            let client = harness.client()
            _ = harness.create(client, "/p")
            for index in 0..<6 { _ = harness.create(client, "/p/c\(index)") }
            let core = harness.core
            var changed = false
            let buffer = fuzzySnapshotBytes(of: core, budget: { 1 }) { steps in
                guard steps == deleteAfter else { return }
                // A create first (its replay sets the pzxid lower than the delete's), then the delete.
                _ = harness.create(client, "/p/new")
                harness.send(client, .delete(PathVersionRequest(path: "/p/c3", version: -1)))
                changed = true
            }
            guard changed else { break }
            positions += 1
            let live = StateDump(core)
            let rebuilt = StateDump(try rebuild(from: buffer, replaying: log.transactions))
            if rebuilt != live { mismatches.append("after step \(deleteAfter): \(rebuilt.differences(from: live))") }
        }
        #expect(positions >= 8)
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// How a session ends: its client closes it, or the server expires it (both log a closeSession).
    enum SessionEnd: CaseIterable, Sendable { case closedByClient, expired }

    /// A session closed during the walk, after each step of it in turn: the replayed close rebuilds the live state
    /// wherever the walk is. The session has ephemerals under several parents (one a container, swept once empty)
    /// and one created after the walk may have passed its slot; after the close another session takes one of its
    /// paths. (This walk writes the children a parent had when it wrote the parent, deleted or not, so it never
    /// misses an ephemeral: the next test builds the snapshot a walk that does would leave.)
    @Test(arguments: SessionEnd.allCases)
    func aCloseDuringTheWalkMovesEachParentsPzxidWhereverTheWalkIs(_ end: SessionEnd) throws {
        var mismatches: [String] = []
        var positions = 0
        for closeAfter in 1...64 {
            let log = RecordingLog()
            let harness = CoreHarness(log: log)
            let keeper = harness.client(timeout: 40_000)
            let owner = harness.client(timeout: 4_000)
            for parent in ["/p", "/q", "/r"] {
                _ = harness.create(keeper, parent)
                for index in 0..<3 { _ = harness.create(keeper, "\(parent)/k\(index)") }
            }
            _ = harness.create(keeper, "/c", mode: .container)
            for path in ["/p/e1", "/p/e2", "/q/e", "/r/e1", "/r/e2", "/c/e"] {
                #expect(harness.create(owner, path, mode: .ephemeral) == path)
            }
            let ownerSession = try #require(harness.core.connections[owner]?.sessionID)
            let core = harness.core
            var changed = false
            let buffer = fuzzySnapshotBytes(of: core, budget: { 1 }) { steps in
                guard steps == closeAfter else { return }
                _ = harness.create(owner, "/q/late", mode: .ephemeral)
                switch end {
                case .closedByClient:
                    harness.send(owner, .closeSession)
                case .expired:
                    harness.core.connectionClosed(owner)
                    harness.clock.advance(milliseconds: 10_000)
                    _ = harness.core.expireSessions()
                }
                // A later node at one of the closed session's paths, owned by another session.
                _ = harness.create(keeper, "/p/e1", mode: .ephemeral)
                _ = harness.core.sweepContainers()
                changed = true
            }
            guard changed else { break }
            positions += 1
            #expect(core.sessions[ownerSession] == nil)
            #expect(core.tree.node(at: "/c") == nil, "the emptied container is swept")
            let live = StateDump(core)
            let rebuilt = StateDump(try rebuild(from: buffer, replaying: log.transactions))
            if rebuilt != live { mismatches.append("after step \(closeAfter): \(rebuilt.differences(from: live))") }
        }
        #expect(positions >= 16)
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// The snapshot a walk that looks each child up when it reaches it (as Apache's does) leaves when a session
    /// closes between the parent and its ephemerals: the parents as they were before the close, the ephemerals
    /// gone. The replayed close must still move each parent's pzxid, as the live close did; the tree alone no
    /// longer says which parents it touched, so the log record names the paths (ZOOKEEPER-3145). Parents: one with
    /// only the closed session's ephemerals, one with an ephemeral created after the walk passed it, one where
    /// another session takes a closed path afterwards, and a container swept once empty.
    @Test(arguments: SessionEnd.allCases)
    func aCloseReplayedOverASnapshotThatMissesItsEphemeralsMovesEachParentsPzxid(_ end: SessionEnd) throws {
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        let keeper = harness.client(timeout: 40_000)
        let owner = harness.client(timeout: 4_000)
        for parent in ["/p", "/r", "/s"] {
            _ = harness.create(keeper, parent)
            _ = harness.create(keeper, parent + "/kept")
        }
        _ = harness.create(keeper, "/c", mode: .container)
        for path in ["/p/e1", "/p/e2", "/r/e", "/s/e1", "/s/e2", "/c/e"] {
            #expect(harness.create(owner, path, mode: .ephemeral) == path)
        }
        let core = harness.core
        // The walk starts here and writes the parents at once.
        let startZxid = core.lastZxid
        let sessions = core.sessions.sessions.values.sorted { $0.id < $1.id }.map {
            SnapshotFile.SessionEntry(id: $0.id, timeout: $0.timeout, password: $0.password)
        }
        let parents = ["/p", "/r", "/s", "/c"]
        let pzxidsAtStart = parents.map { core.tree.node(at: $0)!.pzxid }

        _ = harness.create(owner, "/r/late", mode: .ephemeral)
        switch end {
        case .closedByClient:
            harness.send(owner, .closeSession)
        case .expired:
            core.connectionClosed(owner)
            harness.clock.advance(milliseconds: 10_000)
            _ = core.expireSessions()
        }
        #expect(core.tree.ephemerals.isEmpty)
        _ = harness.create(keeper, "/s/e1", mode: .ephemeral)

        // The walk reaches the ephemerals' slots now: the tree as it is, but the parents as the walk wrote them.
        let pzxidsNow = parents.map { core.tree.node(at: $0)!.pzxid }
        for (parent, pzxid) in zip(parents, pzxidsAtStart) { core.tree.node(at: parent)!.pzxid = pzxid }
        let buffer = snapshotBytes(of: core.tree, startZxid: startZxid, sessions: sessions, endZxid: core.lastZxid)
        for (parent, pzxid) in zip(parents, pzxidsNow) { core.tree.node(at: parent)!.pzxid = pzxid }

        _ = core.sweepContainers()
        #expect(core.tree.node(at: "/c") == nil, "the emptied container is swept")
        let live = StateDump(core)
        let rebuilt = StateDump(try rebuild(from: buffer, replaying: log.transactions))
        #expect(rebuilt == live, "\(rebuilt.differences(from: live))")
    }

    @Test func namesBeyondASCIIRoundTrip() throws {
        let harness = CoreHarness()
        let client = harness.client(timeout: 6_000)
        for path in ["/é", "/é/日本-1", "/é/ascii", "/ü"] {
            harness.send(
                client, .create(CreateRequest(path: path, data: [1, 2], acl: ACL.openUnsafe, mode: .persistent)))
        }
        let original = StateDump(harness.core)
        #expect(original.nodes.count >= 5)
        let dump = StateDump(try rebuild(from: snapshotBytes(of: harness.core), replaying: []))
        #expect(dump == original, "\(dump.differences(from: original))")
    }

    /// Nodes outside the compact layout's bounds round-trip through a snapshot: zxids of an epoch of 2^15 and
    /// more, times beyond 48 bits, a 66,000-byte name, and more distinct ACLs than the node's 13 bits of index.
    @Test func nodesBeyondTheCompactLayoutRoundTrip() throws {
        let harness = CoreHarness()
        harness.core.restore(tree: harness.core.tree, sessions: [], lastZxid: Int64(1) << 47 - 2)
        let client = harness.client(timeout: 6_000)
        #expect(harness.create(client, "/z", data: [1]) == "/z")
        #expect(harness.create(client, "/z/wide", data: Array(repeating: 2, count: 100)) == "/z/wide")
        harness.clock.advance(milliseconds: Int64(1) << 47)
        #expect(harness.create(client, "/z/later", data: nil) != nil)
        let longName = "/z/" + String(repeating: "n", count: 66_000)
        #expect(harness.create(client, longName, data: [3]) == longName)
        for index in 0..<8_200 {
            let acl = [ACL(permissions: .all, id: Id(scheme: "ip", id: "10.1.\(index / 256).\(index % 256)"))]
            #expect(harness.create(client, "/z/a\(index)", data: [4], acl: acl) != nil)
        }
        let original = StateDump(harness.core)
        #expect(original.nodes.count >= 8_205)
        #expect(original.nodes["/z/wide"]?.stat.czxid ?? 0 >= Int64(1) << 47)
        #expect(original.nodes["/z/a8199"]?.acl.first?.id.id == "10.1.32.7")
        let dump = StateDump(try rebuild(from: snapshotBytes(of: harness.core), replaying: []))
        #expect(dump == original, "\(dump.differences(from: original))")
    }

    /// The checksum is computed while the entries are decoded: damage that also stops the decoding is still
    /// reported as a checksum mismatch.
    @Test func damageThatBreaksTheEntriesIsReportedAsAChecksumMismatch() throws {
        let harness = CoreHarness()
        var workload = RandomWorkload(harness: harness, seed: 5)
        workload.run(100)
        var damaged = snapshotBytes(of: harness.core)
        // The first entry's tag, just after the 24-byte header: no tag is 0xEE.
        damaged.setInteger(UInt8(0xEE), at: SnapshotFile.headerSize)
        #expect {
            _ = try SnapshotFile.read(damaged, path: "/x/snapshot.7")
        } throws: { error in
            let error = error as? PersistenceError
            return error?.code == .corruptSnapshot && error?.description.contains("checksum") == true
        }
    }

    @Test func aDamagedSnapshotIsRejectedWithItsName() throws {
        let harness = CoreHarness()
        var workload = RandomWorkload(harness: harness, seed: 3)
        workload.run(100)
        let bytes = snapshotBytes(of: harness.core)
        for offset in [0, 10, bytes.readableBytes / 2, bytes.readableBytes - 6, bytes.readableBytes - 1] {
            var damaged = bytes
            damaged.setInteger(damaged.getInteger(at: offset, as: UInt8.self)! ^ 0x10, at: offset)
            #expect(throws: PersistenceError.self, "offset \(offset)") {
                _ = try SnapshotFile.read(damaged, path: "/x/snapshot.5")
            }
        }
        let cut = bytes.getSlice(at: 0, length: bytes.readableBytes - 3)!
        #expect {
            _ = try SnapshotFile.read(cut, path: "/x/snapshot.5")
        } throws: { error in
            let error = error as? PersistenceError
            return error?.code == .corruptSnapshot && error?.description.contains("/x/snapshot.5") == true
        }
    }
}
