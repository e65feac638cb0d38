import Foundation
import NIOCore
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperServer

@Suite struct RecoveryTests {
    /// A data directory holding a random history: log files cut at `splits`, snapshots taken at `snapshotsAfter`
    /// operations. Returns the directory, the live state, and the snapshot zxids.
    func history(seed: UInt64, snapshotsAfter: [Int], total: Int, splits: Int = 3) throws -> (
        DataDirectory, StateDump, [Int64], [Transaction]
    ) {
        let directory = try temporaryDataDirectory()
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        var workload = RandomWorkload(harness: harness, seed: seed)
        var snapshotZxids: [Int64] = []
        var done = 0
        for point in snapshotsAfter {
            workload.run(point - done)
            done = point
            let bytes = snapshotBytes(of: harness.core)
            let path = directory.snapshotPath(zxid: harness.core.lastZxid)
            try Data(bytes.readableBytesView).write(to: URL(fileURLWithPath: path))
            snapshotZxids.append(harness.core.lastZxid)
        }
        workload.run(total - done)
        let transactions = log.transactions
        let size = (transactions.count + splits - 1) / splits
        for start in stride(from: 0, to: transactions.count, by: size) {
            try writeLogFile(Array(transactions[start..<min(start + size, transactions.count)]), in: directory)
        }
        return (directory, StateDump(harness.core), snapshotZxids, transactions)
    }

    @Test func theNewestSnapshotPlusLaterLogsRebuildTheState() throws {
        let (directory, original, snapshots, _) = try history(seed: 11, snapshotsAfter: [150, 300], total: 400)
        let (core, report) = try recoverCore(directory)
        #expect(report.snapshotZxid == snapshots[1])
        #expect(report.warnings.isEmpty)
        let dump = StateDump(core)
        #expect(dump == original, "\(dump.differences(from: original))")
    }

    @Test func aCorruptNewestSnapshotFallsBackToThePreviousOnePlusTheLogs() throws {
        let (directory, original, snapshots, _) = try history(seed: 12, snapshotsAfter: [150, 300], total: 400)
        try Data.corrupt(directory.snapshotPath(zxid: snapshots[1]), at: 100)
        let (core, report) = try recoverCore(directory)
        #expect(report.snapshotZxid == snapshots[0])
        #expect(report.warnings.count == 1)
        #expect(report.warnings.first?.contains(directory.snapshotPath(zxid: snapshots[1])) == true)
        let dump = StateDump(core)
        #expect(dump == original, "\(dump.differences(from: original))")
    }

    @Test func withNoValidSnapshotTheLogsFromTheStartStillRebuildTheState() throws {
        let (directory, original, snapshots, _) = try history(seed: 13, snapshotsAfter: [150, 300], total: 400)
        for zxid in snapshots { try Data.corrupt(directory.snapshotPath(zxid: zxid), at: 40) }
        let (core, report) = try recoverCore(directory)
        #expect(report.snapshotZxid == nil)
        #expect(StateDump(core) == original)
    }

    @Test func missingOldLogsWithoutAValidSnapshotStopStartUp() throws {
        let (directory, _, snapshots, _) = try history(seed: 14, snapshotsAfter: [150, 300], total: 400)
        for zxid in snapshots { try Data.corrupt(directory.snapshotPath(zxid: zxid), at: 40) }
        try FileManager.default.removeItem(atPath: try directory.logFiles(PosixFileSystem())[0].path)
        #expect(throws: PersistenceError.self) { _ = try recoverCore(directory) }
    }

    @Test func aTornTailIsTruncatedWithAWarningAndTheCompleteRecordsRecover() throws {
        let directory = try temporaryDataDirectory()
        let transactions = (1...30).map { createTransaction(Int64($0), "/n\($0)", childCreations: Int32($0)) }
        try writeLogFile(Array(transactions[0..<10]), in: directory)
        let newest = try writeLogFile(Array(transactions[10...]), in: directory)
        let size = fileSize(newest)
        try Data.truncate(newest, to: size - 5)
        let (core, report) = try recoverCore(directory)
        #expect(core.lastZxid == 29)
        #expect(core.tree.node(at: "/n29") != nil)
        #expect(core.tree.node(at: "/n30") == nil)
        #expect(report.warnings.count == 1)
        #expect(report.warnings.first?.contains("truncating the torn tail of \(newest)") == true)
        // The file now ends at the last complete record, so the next start is clean.
        let lastRecord =
            LogFile.recordHeaderSize + TransactionCodec.headerSize
            + TransactionCodec.encodedSize(of: transactions[29].body)
        #expect(fileSize(newest) == size - lastRecord)
        let (again, secondReport) = try recoverCore(directory)
        #expect(again.lastZxid == 29)
        #expect(secondReport.warnings.isEmpty)
    }

    @Test func aTornTailInAnOlderFileStopsStartUp() throws {
        let directory = try temporaryDataDirectory()
        let transactions = (1...20).map { createTransaction(Int64($0), "/n\($0)", childCreations: Int32($0)) }
        let older = try writeLogFile(Array(transactions[0..<10]), in: directory)
        try writeLogFile(Array(transactions[10...]), in: directory)
        try Data.truncate(older, to: fileSize(older) - 5)
        #expect {
            _ = try recoverCore(directory)
        } throws: { error in
            let error = error as? PersistenceError
            return error?.code == .corruptLog && error?.file == older && error?.offset != nil
        }
    }

    @Test func corruptionInTheMiddleStopsStartUpNamingFileAndOffset() throws {
        let directory = try temporaryDataDirectory()
        let transactions = (1...10).map { createTransaction(Int64($0), "/n\($0)", childCreations: Int32($0)) }
        let path = try writeLogFile(transactions, in: directory)
        let recordSize =
            LogFile.recordHeaderSize + TransactionCodec.headerSize
            + TransactionCodec.encodedSize(of: transactions[0].body)
        let fifth = LogFile.headerSize + 4 * recordSize
        let size = fileSize(path)
        try Data.corrupt(path, at: fifth + 12)
        #expect {
            _ = try recoverCore(directory)
        } throws: { error in
            let error = error as? PersistenceError
            return error?.code == .corruptLog && error?.file == path && error?.offset == Int64(fifth)
        }
        // Nothing was cut off.
        #expect(fileSize(path) == size)
    }

    @Test func aGapBetweenFilesStopsStartUp() throws {
        let directory = try temporaryDataDirectory()
        let transactions = (1...20).map { createTransaction(Int64($0), "/n\($0)", childCreations: Int32($0)) }
        try writeLogFile(Array(transactions[0..<10]), in: directory)
        let later = try writeLogFile(Array(transactions[11...]), in: directory)
        #expect {
            _ = try recoverCore(directory)
        } throws: { error in
            let error = error as? PersistenceError
            return error?.code == .zxidGap && error?.file == later
        }
    }

    /// Replay is tolerant (ZOOKEEPER-2213): a transaction whose node or parent is missing changes nothing
    /// instead of stopping the server, and applying a transaction twice leaves the same state.
    @Test func replayToleratesMissingNodesAndRepeats() {
        let core = ServerCore(configuration: ServerConfiguration(), clock: FakeClock(), log: RecordingLog())
        let transactions: [Transaction] = [
            createTransaction(1, "/a"),
            Transaction(zxid: 2, time: 2, sessionID: 0, body: .setData(path: "/missing", data: [1], version: 1)),
            Transaction(zxid: 3, time: 3, sessionID: 0, body: .delete(path: "/missing/child")),
            createTransaction(4, "/no/parent"),
            Transaction(zxid: 5, time: 5, sessionID: 0, body: .setACL(path: "", acl: [], aversion: 1)),
            Transaction(zxid: 6, time: 6, sessionID: 0, body: .setData(path: "/a", data: [7], version: 1)),
            Transaction(zxid: 7, time: 7, sessionID: 9, body: .closeSession(ephemeralPaths: nil)),
            Transaction(zxid: 8, time: 8, sessionID: 0, body: .error(.badArguments)),
            Transaction(
                zxid: 9, time: 9, sessionID: 9, body: .closeSession(ephemeralPaths: ["/missing/e", "/a", "/b"])),
        ]
        for transaction in transactions { core.replay(transaction) }
        let once = StateDump(core)
        for transaction in transactions { core.replay(transaction) }
        #expect(StateDump(core) == once)
        #expect(core.lastZxid == 9)
        #expect(core.tree.node(at: "/a")?.data == [7], "a named path the session does not own stays")
        #expect(core.tree.node(at: "/a")?.version == 1)
        #expect(core.tree.node(at: "/no") == nil)
    }

    /// A log written before closeSession named its ephemerals (tag 2, no paths) still loads, to the same state:
    /// such a close deletes what the tree says the session owns, as it always did.
    @Test func aLogFromBeforeCloseSessionNamedItsEphemeralsStillLoads() throws {
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        let keeper = harness.client(timeout: 40_000)
        let owner = harness.client(timeout: 40_000)
        let expiring = harness.client(timeout: 4_000)
        _ = harness.create(keeper, "/p")
        _ = harness.create(keeper, "/q", mode: .container)
        for path in ["/p/e1", "/p/e2", "/q/e"] { _ = harness.create(owner, path, mode: .ephemeral) }
        _ = harness.create(expiring, "/p/x", mode: .ephemeral)
        harness.send(owner, .closeSession)
        _ = harness.create(expiring, "/p/after-", mode: .ephemeralSequential)
        harness.core.connectionClosed(expiring)
        harness.clock.advance(milliseconds: 10_000)
        _ = harness.core.expireSessions()
        _ = harness.core.sweepContainers()
        let live = StateDump(harness.core)
        #expect(live.nodes["/p"] != nil && live.nodes["/q"] == nil && live.ephemerals.isEmpty)
        #expect(live.sessions.count == 1)

        let directory = try temporaryDataDirectory()
        let (_, oldCloses) = try writeOldLayoutLogFile(log.transactions, in: directory)
        #expect(oldCloses == 2)
        let (core, report) = try recoverCore(directory)
        #expect(report.warnings.isEmpty)
        let recovered = StateDump(core)
        #expect(recovered == live, "\(recovered.differences(from: live))")
    }

    /// A session with 10,000 ephemerals under ten parents closes in one record that names them all (4 bytes plus
    /// the path each, no more), and that record replayed over a snapshot from before the close rebuilds the
    /// live state.
    @Test func aSessionWithTenThousandEphemeralsClosesInOneRecord() throws {
        let log = RecordingLog()
        let harness = CoreHarness(log: log)
        let keeper = harness.client(timeout: 40_000)
        let owner = harness.client(timeout: 40_000)
        let parents = (0..<10).map { "/parent\($0)" }
        for parent in parents { _ = harness.create(keeper, parent) }
        for index in 0..<10_000 {
            let path = "\(parents[index % parents.count])/ephemeral-\(index)"
            harness.send(owner, .create(CreateRequest(path: path, data: nil, acl: ACL.openUnsafe, mode: .ephemeral)))
        }
        let ownerSession = try #require(harness.core.connections[owner]?.sessionID)
        #expect(harness.core.tree.ephemerals[ownerSession]?.count == 10_000)
        let before = snapshotBytes(of: harness.core)
        let recordsBefore = log.transactions.count
        harness.send(owner, .closeSession)
        #expect(log.transactions.count == recordsBefore + 1)
        let close = try #require(log.transactions.last)
        guard case .closeSession(let paths?) = close.body else {
            Issue.record("the close is logged as \(close.body)")
            return
        }
        #expect(paths.count == 10_000)
        var record = ByteBuffer()
        LogFile.appendRecord(close, to: &record)
        let pathBytes = paths.reduce(0) { $0 + $1.utf8.count }
        #expect(
            record.readableBytes
                == LogFile.recordHeaderSize + TransactionCodec.headerSize + 4 + 4 + 4 * paths.count + pathBytes)
        #expect(harness.core.tree.ephemerals.isEmpty)
        let live = StateDump(harness.core)
        let rebuilt = StateDump(try rebuild(from: before, replaying: [close]))
        #expect(rebuilt == live, "\(rebuilt.differences(from: live))")
    }

    @Test func anEmptyNewestLogIsRemovedSoTheNextCanTakeItsName() throws {
        let directory = try temporaryDataDirectory()
        let transactions = (1...5).map { createTransaction(Int64($0), "/n\($0)", childCreations: Int32($0)) }
        try writeLogFile(transactions, in: directory)
        let empty = directory.logPath(firstZxid: 6)
        try Data(LogFile.header(firstZxid: 6).readableBytesView).write(to: URL(fileURLWithPath: empty))
        let (core, _) = try recoverCore(directory)
        #expect(core.lastZxid == 5)
        #expect(!FileManager.default.fileExists(atPath: empty))
    }
}
