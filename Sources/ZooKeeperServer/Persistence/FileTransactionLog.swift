import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The durable transaction log: appends are encoded into a batch on the event loop; a sync writes the batch and
/// calls fdatasync, then reports the new durable zxid on the event loop. The server keeps one sync in flight;
/// everything appended meanwhile waits for the next, so one fsync covers every write that arrived while the
/// previous one ran (group commit).
///
/// Where a batch is written: a small one (a lone write, or a few from different sessions) on the event loop
/// itself, when the last syncs were quick, so that its writer waits for the disk only, not also for a hand-off
/// to the log thread and another back (two thread wake-ups, as long as the fdatasync itself on an idle machine).
/// A large batch (pipelined load), one that starts or extends a file, and any batch after a slow sync go to the
/// log thread, so that the loop serves reads and prepares the next batch while the disk works.
///
/// Loop-confined: every method runs on `eventLoop`. The writer is used by one thread at a time: the log thread
/// while a batch is in flight there, the event loop otherwise.
final class FileTransactionLog: TransactionLog, @unchecked Sendable {
    struct Options: Sendable {
        /// `forceSync`: fdatasync each batch. Without it a write is acknowledged once the kernel has it, which
        /// survives a crash of zkserver but not of the machine.
        var forceSync = true
        /// A new file is started once the current one reaches this size.
        var rollSize: Int64 = 64 << 20
        /// Files are extended with zeros this much at a time, so that fdatasync need not update the file size
        /// (measured here: 64 KiB batches sync in 0.15 ms instead of 0.30 ms).
        var preallocationStep: Int64 = 4 << 20
        /// A batch of at most this many transactions may be written and synced on the event loop (0: never).
        var inlineSyncMaximumTransactions = 8
        /// A sync that took longer (the disk is busy) sends the next batches to the log thread, so that reads on
        /// other connections do not wait behind the disk, until `inlineSyncQuickStreak` syncs in a row were quick.
        var inlineSyncMaximumDuration = TimeAmount.milliseconds(1)
        var inlineSyncQuickStreak = 16
        init() {}
    }

    let eventLoop: any EventLoop
    private let writer: LogWriter
    private let thread: NIOThreadPool
    private var pending = ByteBuffer()
    private var pendingFirstZxid: Int64?
    private var pendingCount = 0
    /// A batch is with the log thread: the next one must follow it there, in order.
    private var threadWriteInFlight = false
    /// Syncs in a row, wherever they ran, that took at most `inlineSyncMaximumDuration`.
    private var quickSyncs = Int.max
    private var lastAppendedZxid: Int64 = 0
    private var rollRequested = false
    private(set) var durableZxid: Int64 = 0
    /// The error that stopped the log; nothing is written after it.
    private(set) var failure: PersistenceError?
    /// Transactions appended since start (for the snapshot schedule).
    private(set) var appendedCount = 0
    private var isOpen = false

    init(
        eventLoop: any EventLoop, directory: DataDirectory, fileSystem: any PersistenceFileSystem, options: Options,
        logger: Logger
    ) {
        self.eventLoop = eventLoop
        writer = LogWriter(directory: directory, fileSystem: fileSystem, options: options, logger: logger)
        thread = NIOThreadPool(numberOfThreads: 1)
    }

    /// Starts logging after recovery: the next transaction is `lastZxid + 1`, and everything up to
    /// `lastZxid` is on disk already.
    func open(lastZxid: Int64) {
        durableZxid = lastZxid
        lastAppendedZxid = lastZxid
        isOpen = true
        thread.start()
    }

    func append(_ transaction: Transaction) {
        precondition(isOpen, "append before the log is open")
        if pendingFirstZxid == nil { pendingFirstZxid = transaction.zxid }
        LogFile.appendRecord(transaction, to: &pending)
        pendingCount += 1
        lastAppendedZxid = transaction.zxid
        appendedCount += 1
    }

    /// The next batch goes to a new file (at the start of a snapshot, so that old files can be purged whole).
    func requestRoll() {
        rollRequested = true
    }

    func sync(completion: @escaping (Result<Int64, PersistenceError>) -> Void) {
        eventLoop.assertInEventLoop()
        if let failure {
            completion(.failure(failure))
            return
        }
        guard let firstZxid = pendingFirstZxid else {
            completion(.success(durableZxid))
            return
        }
        let batch = Batch(bytes: pending, firstZxid: firstZxid, roll: rollRequested)
        let inline = mayWriteOnLoop(batch, transactions: pendingCount)
        let lastZxid = lastAppendedZxid
        pending = ByteBuffer()
        // Room for a batch like this one, up to 64 KiB: a pipelined burst's last batch is not kept reserved (and
        // resident) until the next write; a larger batch grows the buffer.
        pending.reserveCapacity(min(batch.bytes.readableBytes, 64 << 10))
        pendingFirstZxid = nil
        pendingCount = 0
        rollRequested = false
        let writer = writer
        if inline {
            let started = NIODeadline.now()
            do {
                try writer.write(batch)
                finishWrite(.success(NIODeadline.now() - started), lastZxid: lastZxid, completion: completion)
            } catch {
                finishWrite(.failure(error), lastZxid: lastZxid, completion: completion)
            }
            return
        }
        threadWriteInFlight = true
        // Called back on the loop, where the completion was given.
        let completion = NIOLoopBound(completion, eventLoop: eventLoop)
        thread.runIfActive(eventLoop: eventLoop) {
            let started = NIODeadline.now()
            try writer.write(batch)
            return NIODeadline.now() - started
        }.whenComplete { [self] result in
            threadWriteInFlight = false
            finishWrite(result, lastZxid: lastZxid, completion: completion.value)
        }
    }

    /// Whether `batch` is written on the loop: it is small, needs no new file nor more preallocated space (whose
    /// zeros would make its fdatasync long), no batch is with the log thread, and the last syncs were quick.
    private func mayWriteOnLoop(_ batch: Batch, transactions: Int) -> Bool {
        transactions <= writer.options.inlineSyncMaximumTransactions && !threadWriteInFlight && !batch.roll
            && quickSyncs >= writer.options.inlineSyncQuickStreak
            && writer.fitsInOpenFile(byteCount: Int64(batch.bytes.readableBytes))
    }

    private func finishWrite(
        _ result: Result<TimeAmount, any Error>, lastZxid: Int64,
        completion: (Result<Int64, PersistenceError>) -> Void
    ) {
        switch result {
        case .success(let duration):
            quickSyncs = duration <= writer.options.inlineSyncMaximumDuration ? min(quickSyncs, .max - 1) + 1 : 0
            if failure == nil { durableZxid = lastZxid }
            completion(.success(durableZxid))
        case .failure(let error):
            let failure =
                (error as? PersistenceError)
                ?? PersistenceError(.io, file: writer.currentPath, "log thread: \(error)")
            if self.failure == nil { self.failure = failure }
            completion(.failure(failure))
        }
    }

    /// Writes what is pending, then closes the file and stops the log thread.
    func close() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        guard isOpen else { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        sync { [self] _ in
            isOpen = false
            let writer = writer
            thread.runIfActive(eventLoop: eventLoop) { writer.close() }.whenComplete { [thread] _ in
                thread.shutdownGracefully { _ in promise.succeed() }
            }
        }
        return promise.futureResult
    }

    struct Batch: Sendable {
        var bytes: ByteBuffer
        var firstZxid: Int64
        var roll: Bool
    }
}

/// The log's file work, on one thread at a time (the log thread, or the event loop when no batch is with the log
/// thread): which file is open, where the next record goes, how far the file is preallocated.
final class LogWriter: @unchecked Sendable {
    let directory: DataDirectory
    let fileSystem: any PersistenceFileSystem
    let options: FileTransactionLog.Options
    let logger: Logger
    private var descriptor: Int32?
    private(set) var currentPath: String?
    private var position: Int64 = 0
    private var preallocatedEnd: Int64 = 0
    private var failed = false

    init(
        directory: DataDirectory, fileSystem: any PersistenceFileSystem, options: FileTransactionLog.Options,
        logger: Logger
    ) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.options = options
        self.logger = logger
    }

    /// Whether `byteCount` more bytes go into the open file without rolling it or extending its preallocation.
    func fitsInOpenFile(byteCount: Int64) -> Bool {
        descriptor != nil && !failed && position < options.rollSize && position + byteCount <= preallocatedEnd
    }

    func write(_ batch: FileTransactionLog.Batch) throws(PersistenceError) {
        guard !failed else { throw PersistenceError(.closed, file: currentPath, "the log failed earlier") }
        do {
            if descriptor == nil || batch.roll || position >= options.rollSize {
                try roll(firstZxid: batch.firstZxid)
            }
            let descriptor = descriptor!
            let path = currentPath!
            let count = Int64(batch.bytes.readableBytes)
            if position + count > preallocatedEnd {
                try extend(descriptor, path: path, to: position + count)
            }
            try batch.bytes.withUnsafeReadableBytes { bytes throws(PersistenceError) in
                try fileSystem.write(descriptor, bytes, at: position, path: path)
            }
            position += count
            if options.forceSync { try fileSystem.synchronize(descriptor, path: path) }
        } catch {
            // After a failed write or fsync the file's state is unknown: never write to it again.
            failed = true
            logger.error("transaction log write failed: \(error)")
            throw error
        }
    }

    /// Zero-fills the file up to at least `end`, a preallocation step at a time.
    private func extend(_ descriptor: Int32, path: String, to end: Int64) throws(PersistenceError) {
        let step = max(options.preallocationStep, 1)
        var target = preallocatedEnd
        while target < end { target += step }
        let zeros = ByteBuffer(repeating: 0, count: Int(min(step, 1 << 20)))
        var offset = max(preallocatedEnd, position)
        while offset < target {
            let count = Int(min(Int64(zeros.readableBytes), target - offset))
            try zeros.getSlice(at: 0, length: count)!.withUnsafeReadableBytes { bytes throws(PersistenceError) in
                try fileSystem.write(descriptor, bytes, at: offset, path: path)
            }
            offset += Int64(count)
        }
        preallocatedEnd = target
    }

    /// Seals the current file (cut to its records) and starts `log.<firstZxid>`.
    private func roll(firstZxid: Int64) throws(PersistenceError) {
        if let descriptor, let currentPath {
            try fileSystem.truncate(descriptor, to: position, path: currentPath)
            if options.forceSync { try fileSystem.synchronize(descriptor, path: currentPath) }
            fileSystem.close(descriptor)
            self.descriptor = nil
        }
        let path = directory.logPath(firstZxid: firstZxid)
        let descriptor = try fileSystem.create(path)
        self.descriptor = descriptor
        currentPath = path
        let header = LogFile.header(firstZxid: firstZxid)
        try header.withUnsafeReadableBytes { bytes throws(PersistenceError) in
            try fileSystem.write(descriptor, bytes, at: 0, path: path)
        }
        position = Int64(LogFile.headerSize)
        preallocatedEnd = position
        if options.forceSync { try fileSystem.synchronizeDirectory(directory.logDirectory) }
    }

    func close() {
        guard let descriptor, let currentPath else { return }
        if !failed {
            do {
                try fileSystem.truncate(descriptor, to: position, path: currentPath)
                if options.forceSync { try fileSystem.synchronize(descriptor, path: currentPath) }
            } catch {
                logger.warning("closing the transaction log: \(error)")
            }
        }
        fileSystem.close(descriptor)
        self.descriptor = nil
    }
}
