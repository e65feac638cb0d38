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
