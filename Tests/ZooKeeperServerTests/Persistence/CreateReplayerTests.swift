import Foundation
import NIOCore
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperServer

/// Recovery applies plain creates straight from the log's bytes (`CreateReplayer`); these check that the state it
/// rebuilds is the live one, in the cases where that path must step aside for the general one.
@Suite struct CreateReplayerTests {
    /// Writes `transactions` into `directory` as log files of at most `perFile` records.
    func writeLogs(_ transactions: [Transaction], perFile: Int, in directory: DataDirectory) throws {
        for start in stride(from: 0, to: transactions.count, by: perFile) {
            try writeLogFile(Array(transactions[start..<min(start + perFile, transactions.count)]), in: directory)
        }
    }

    @Test func aTreeOfCreatesWithDeletesBetweenThemRecoversExactly() throws {
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        let client = harness.client(timeout: 30_000)
        let readable = [
            ACL(permissions: .all, id: Id(scheme: "world", id: "anyone")),
            ACL(permissions: .read, id: Id(scheme: "ip", id: "10.0.0.1")),
        ]
        func create(_ path: String, _ data: String?, acl: [ACL] = ACL.openUnsafe, mode: CreateMode = .persistent) {
            harness.send(
                client, .create(CreateRequest(path: path, data: data.map { Array($0.utf8) }, acl: acl, mode: mode)))
        }
        create("/app", "root of the app")
        create("/other", nil)
        for parent in 0..<6 {
            create("/app/p\(parent)", "parent \(parent)", acl: parent % 2 == 0 ? ACL.openUnsafe : readable)
            for child in 0..<20 {
                // ACLs alternate in runs, data is sometimes null, a few children are ephemeral or containers.
                let mode: CreateMode = child % 7 == 3 ? .ephemeral : child % 11 == 5 ? .container : .persistent
                create(
                    "/app/p\(parent)/c\(child)", child % 5 == 0 ? nil : String(repeating: "d", count: child),
                    acl: child / 4 % 2 == 0 ? ACL.openUnsafe : readable, mode: mode)
            }
            create("/app/p\(parent)/seq-", "s", mode: .persistentSequential)
            create("/other/x\(parent)", "between parents")
        }
        // The cached parent is deleted and made again: creates under the new one must land in the new one.
        for child in 0..<20 {
            harness.send(client, .delete(PathVersionRequest(path: "/app/p4/c\(child)", version: -1)))
        }
        harness.send(client, .delete(PathVersionRequest(path: "/app/p4/seq-0000000020", version: -1)))
        harness.send(client, .delete(PathVersionRequest(path: "/app/p4", version: -1)))
        create("/app/p4", "again", acl: readable)
        create("/app/p4/after", "under the new p4")
        // A name that is not ASCII, and creates under the root and under /zookeeper, take the general path.
        create("/app/p1/grüße", "utf-8")
        create("/top", "under the root")
        create("/zookeeper/mine", "under /zookeeper")
        let live = StateDump(harness.core)
        #expect(live.nodes["/app/p4/after"] != nil)
        #expect(live.nodes["/app/p1/grüße"] != nil)
        #expect(!live.ephemerals.isEmpty)

        let directory = try temporaryDataDirectory()
        try writeLogs(log.transactions, perFile: 37, in: directory)
        let (core, report) = try recoverCore(directory)
        #expect(report.replayedCount == log.transactions.count)
        let recovered = StateDump(core)
        #expect(recovered == live, "\(recovered.differences(from: live))")
        #expect(Set(core.activity.writesPerNamespace.keys).isSuperset(of: ["app", "other", "top"]))
    }

    /// A fuzzy snapshot already holds some of the nodes the log after it creates (a later version of them): the
    /// replay must replace each with its subtree, as the general path does, not add a second.
    @Test(arguments: 1...6)
    func theLogReplayedOverAFuzzySnapshotFileRecoversWhatTheGeneralReplayDoes(seed: UInt64) throws {
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        var workload = RandomWorkload(harness: harness, seed: seed)
        workload.run(200)
        let core = harness.core
        let startZxid = core.lastZxid
        var random = SeededGenerator(seed: seed &* 77)
        let buffer = fuzzySnapshotBytes(
            of: core, budget: { Int.random(in: 1...3, using: &random) },
            between: { _ in workload.run(Int.random(in: 0...8, using: &random)) })
        workload.run(100)

        let directory = try temporaryDataDirectory()
        try Data(buffer.readableBytesView).write(to: URL(fileURLWithPath: directory.snapshotPath(zxid: startZxid)))
        try writeLogs(log.transactions, perFile: 50, in: directory)
        let live = StateDump(core)
        let (recoveredCore, report) = try recoverCore(directory)
        #expect(report.snapshotZxid == startZxid)
        let recovered = StateDump(recoveredCore)
        // Compared with the general replay (`ServerCore.replay` of every record) and with the live state (a
        // closeSession names its ephemerals, so one the walk missed still moves its parent's pzxid:
        // SnapshotTests.aCloseDuringTheWalkMovesEachParentsPzxidWhereverTheWalkIs).
        let general = StateDump(try rebuild(from: buffer, replaying: log.transactions))
        #expect(recovered == general, "\(recovered.differences(from: general))")
        #expect(recovered == live, "\(recovered.differences(from: live))")
    }
}
