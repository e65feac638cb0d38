import Foundation
import Testing

@testable import ZooKeeperServer

@Suite struct PurgeTests {
    @Test func keepsTheNewestSnapshotsAndEveryLogTheyNeed() {
        // Logs start at 1, 100, 200, 300, 400; snapshots at 150, 250, 350, 450, 550.
        let plan = Purge.plan(
            snapshots: [150, 250, 350, 450, 550], logs: [1, 100, 200, 300, 400], retainCount: 3)
        #expect(plan.snapshots == [150, 250])
        // The oldest kept is 350: its next transaction 351 is in the log starting at 300, kept with all after.
        #expect(plan.logs == [1, 100, 200])
    }

    @Test func aSnapshotAtALogBoundaryKeepsTheLogStartingRightAfterIt() {
        let plan = Purge.plan(snapshots: [99, 199, 299, 399], logs: [1, 100, 200, 300], retainCount: 3)
        #expect(plan.snapshots == [99])
        // 199 + 1 = 200 starts a log: the ones before it go.
        #expect(plan.logs == [1, 100])
    }

    @Test func neverKeepsFewerThanThree() {
        let plan = Purge.plan(snapshots: [10, 20, 30, 40], logs: [1], retainCount: 1)
        #expect(plan.snapshots == [10])
        #expect(plan.logs == [])
        #expect(
            Purge.plan(snapshots: [10, 20, 30], logs: [1, 15], retainCount: 0) == Purge.Plan(snapshots: [], logs: []))
    }

    @Test func runDeletesOnlyWhatThePlanAllowsAndRecoveryStillWorks() throws {
        let directory = try temporaryDataDirectory()
        let transactions = (1...60).map { createTransaction(Int64($0), "/n\($0)", childCreations: Int32($0)) }
        // Logs of 10 transactions each; a snapshot after every 10.
        let harness = CoreHarness()
        for start in stride(from: 0, to: 60, by: 10) {
            try writeLogFile(Array(transactions[start..<start + 10]), in: directory)
            for transaction in transactions[start..<start + 10] { harness.core.replay(transaction) }
            let bytes = snapshotBytes(of: harness.core)
            try Data(bytes.readableBytesView).write(
                to: URL(fileURLWithPath: directory.snapshotPath(zxid: harness.core.lastZxid)))
        }
        let removed = try Purge.run(
            directory: directory, fileSystem: PosixFileSystem(), retainCount: 3, logger: quietLogger)
        #expect(removed.count == 3 + 4)
        #expect(try directory.snapshotFiles(PosixFileSystem()).map(\.zxid) == [40, 50, 60])
        // Snapshot 40 needs zxid 41 on: the log starting at 41 stays.
        #expect(try directory.logFiles(PosixFileSystem()).map(\.zxid) == [41, 51])
        // Even with the two newest snapshots damaged, the oldest kept plus the logs rebuild everything.
        try Data.corrupt(directory.snapshotPath(zxid: 60), at: 30)
        try Data.corrupt(directory.snapshotPath(zxid: 50), at: 30)
        let (core, report) = try recoverCore(directory)
        #expect(report.snapshotZxid == 40)
        #expect(core.lastZxid == 60)
        #expect(core.tree.node(at: "/n60") != nil)
    }
}
