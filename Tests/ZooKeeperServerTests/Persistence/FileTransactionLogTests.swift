import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import ZooKeeperServer

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct FileTransactionLogTests {
    /// Runs `body` with a log opened on a fresh event loop, and closes both afterwards.
    func withLog(
        _ directory: DataDirectory, fileSystem: FaultyFileSystem = FaultyFileSystem(),
        options: FileTransactionLog.Options = .init(), lastZxid: Int64 = 0,
        _ body: (FileTransactionLog, any EventLoop) async throws -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let log = try await loop.submit {
            let log = FileTransactionLog(
                eventLoop: loop, directory: directory, fileSystem: fileSystem, options: options, logger: quietLogger)
            log.open(lastZxid: lastZxid)
            return HandOver(log)
        }.get().value
        do {
            try await body(log, loop)
        } catch {
            try? await loop.flatSubmit { log.close() }.get()
            try? await group.shutdownGracefully()
            throw error
        }
        try await loop.flatSubmit { log.close() }.get()
        try await group.shutdownGracefully()
    }

    /// Appends `transactions` and syncs once, on the loop; returns the durable zxid reported.
    func appendAndSync(_ log: FileTransactionLog, _ loop: any EventLoop, _ transactions: [Transaction]) async throws
        -> Int64
    {
        try await loop.flatSubmit {
            let promise = loop.makePromise(of: Int64.self)
            for transaction in transactions { log.append(transaction) }
            log.sync { result in promise.completeWith(result.mapError { $0 as any Error }) }
            return promise.futureResult
        }.get()
    }

    func transactions(_ range: ClosedRange<Int64>) -> [Transaction] {
        range.map { createTransaction($0, "/n\($0)", childCreations: Int32($0)) }
    }

    @Test func writtenTransactionsRecover() async throws {
        let directory = try temporaryDataDirectory()
        try await withLog(directory) { (log, loop) async throws in
            #expect(try await appendAndSync(log, loop, transactions(1...50)) == 50)
            #expect(try await appendAndSync(log, loop, transactions(51...60)) == 60)
        }
        let (core, report) = try recoverCore(directory)
        #expect(report.replayedCount == 60)
        #expect(core.lastZxid == 60)
        #expect(core.tree.node(at: "/n60")?.czxid == 60)
        #expect(core.tree.root.childCreations == 60)
    }

    @Test func oneFsyncCoversEveryAppendBeforeIt() async throws {
        let directory = try temporaryDataDirectory()
        let fileSystem = FaultyFileSystem()
        try await withLog(directory, fileSystem: fileSystem) { (log, loop) async throws in
            // 1,000 appends, one sync: one fdatasync.
            #expect(try await appendAndSync(log, loop, transactions(1...1000)) == 1000)
            #expect(fileSystem.synchronizeCount == 1)
            // While a sync is in flight, appends wait for the next one, which covers them all.
            let durable = try await loop.flatSubmit {
                let first = loop.makePromise(of: Int64.self)
                let second = loop.makePromise(of: Int64.self)
                for transaction in self.transactions(1001...1100) { log.append(transaction) }
                log.sync { first.completeWith($0.mapError { $0 as any Error }) }
                for transaction in self.transactions(1101...2000) { log.append(transaction) }
                first.futureResult.whenSuccess { _ in
                    log.sync { second.completeWith($0.mapError { $0 as any Error }) }
                }
                return first.futureResult.and(second.futureResult)
            }.get()
            #expect(durable.0 == 1100)
            #expect(durable.1 == 2000)
            #expect(fileSystem.synchronizeCount == 3)
        }
    }

    /// A small batch is written and synced on the loop, within `sync` (no hand-off to the log thread and back);
    /// a large one, the one that opens the file, and small ones after a slow sync go to the log thread, until
    /// enough quick syncs in a row. Wherever each batch was written, every record recovers, in order.
    @Test func smallBatchesSyncOnTheLoopUnlessTheDiskIsSlow() async throws {
        let directory = try temporaryDataDirectory()
        let fileSystem = FaultyFileSystem()
        var options = FileTransactionLog.Options()
        // Above any fdatasync of a loaded machine, below the simulated slow disk; a small preallocation, quick to sync.
        options.inlineSyncMaximumDuration = .milliseconds(500)
        options.preallocationStep = 64 << 10
        options.inlineSyncQuickStreak = 2
        try await withLog(directory, fileSystem: fileSystem, options: options) { (log, loop) async throws in
            /// Appends `range` and syncs: whether the sync completed before `sync` returned, and the durable zxid.
            func appendAndSync(_ range: ClosedRange<Int64>) async throws -> (atOnce: Bool, durable: Int64) {
                try await loop.flatSubmit {
                    let promise = loop.makePromise(of: Int64.self)
                    for transaction in self.transactions(range) { log.append(transaction) }
                    var completed = false
                    log.sync { result in
                        completed = true
                        promise.completeWith(result.mapError { $0 as any Error })
                    }
                    let atOnce = completed
                    return promise.futureResult.map { (atOnce, $0) }
                }.get()
            }
            let opening = try await appendAndSync(1...1)
            #expect(!opening.atOnce && opening.durable == 1)
            let lone = try await appendAndSync(2...2)
            #expect(lone.atOnce && lone.durable == 2)
            let eight = try await appendAndSync(3...10)
            #expect(eight.atOnce && eight.durable == 10)
            let large = try await appendAndSync(11...100)
            #expect(!large.atOnce && large.durable == 100)
            fileSystem.delaySynchronize(by: .milliseconds(600))
            let slow = try await appendAndSync(101...101)
            #expect(slow.atOnce && slow.durable == 101)
            fileSystem.delaySynchronize(by: nil)
            for zxid in Int64(102)...103 {
                let afterSlow = try await appendAndSync(zxid...zxid)
                #expect(!afterSlow.atOnce && afterSlow.durable == zxid)
            }
            let back = try await appendAndSync(104...104)
            #expect(back.atOnce && back.durable == 104)
            #expect(fileSystem.synchronizeCount == 8)
        }
        let (core, report) = try recoverCore(directory)
        #expect(report.replayedCount == 104)
        #expect(core.lastZxid == 104)
        #expect(core.tree.node(at: "/n104")?.czxid == 104)
    }

    @Test func forceSyncOffSkipsFsync() async throws {
        let directory = try temporaryDataDirectory()
        let fileSystem = FaultyFileSystem()
        var options = FileTransactionLog.Options()
        options.forceSync = false
        try await withLog(directory, fileSystem: fileSystem, options: options) { (log, loop) async throws in
            #expect(try await appendAndSync(log, loop, transactions(1...10)) == 10)
        }
        #expect(fileSystem.synchronizeCount == 0)
        #expect(try recoverCore(directory).0.lastZxid == 10)
    }

    @Test func filesRollAtTheSizeLimit() async throws {
        let directory = try temporaryDataDirectory()
        var options = FileTransactionLog.Options()
        options.rollSize = 1024
        options.preallocationStep = 512
        try await withLog(directory, options: options) { (log, loop) async throws in
            for start in stride(from: Int64(1), through: 200, by: 10) {
                _ = try await appendAndSync(log, loop, transactions(start...(start + 9)))
            }
        }
        let files = try directory.logFiles(PosixFileSystem())
        #expect(files.count > 3)
        #expect(files.first?.zxid == 1)
        let (core, report) = try recoverCore(directory)
        #expect(report.replayedCount == 200)
        #expect(core.lastZxid == 200)
    }

    @Test func aFailedWriteIsReportedAndNothingMoreBecomesDurable() async throws {
        let directory = try temporaryDataDirectory()
        let fileSystem = FaultyFileSystem()
        try await withLog(directory, fileSystem: fileSystem) { (log, loop) async throws in
            #expect(try await appendAndSync(log, loop, transactions(1...5)) == 5)
            fileSystem.failWrites(with: ENOSPC)
            await #expect {
                _ = try await appendAndSync(log, loop, transactions(6...10))
            } throws: { error in
                (error as? PersistenceError)?.code == .diskFull
            }
            fileSystem.failWrites(with: nil)
            // The log stays failed: it never writes to a file in an unknown state again.
            await #expect(throws: PersistenceError.self) {
                _ = try await appendAndSync(log, loop, transactions(11...11))
            }
            let durable = try await loop.submit { log.durableZxid }.get()
            #expect(durable == 5)
        }
    }

    @Test func aFailedFsyncIsReported() async throws {
        let directory = try temporaryDataDirectory()
        let fileSystem = FaultyFileSystem()
        try await withLog(directory, fileSystem: fileSystem) { (log, loop) async throws in
            fileSystem.failSynchronize(with: EIO)
            await #expect {
                _ = try await appendAndSync(log, loop, transactions(1...3))
            } throws: { error in
                (error as? PersistenceError)?.code == .io
            }
            let durable = try await loop.submit { log.durableZxid }.get()
            #expect(durable == 0)
        }
    }
}

/// Hands a loop-confined object to the test task, which only passes it back to the loop.
struct HandOver<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
