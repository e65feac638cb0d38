import Logging
import NIOCore
import NIOPosix

/// Takes a snapshot every `snapCount` transactions without stopping the server: the state is serialised a
/// chunk of nodes per event-loop turn (replies go out between chunks), the bytes are written, checksummed and
/// fsynced on the snapshot thread, and the file is renamed into place only once the log has made every
/// transaction the walk may have seen durable (so a snapshot never holds a change the log could lose).
///
/// The count is fixed rather than randomised as in Apache: the randomisation keeps an ensemble's servers from
/// snapshotting at once, which a single server does not need, and a fixed count keeps tests deterministic.
/// A snapshot that is still running when the next is due is skipped, as in Apache.
final class Snapshotter: @unchecked Sendable {
    let eventLoop: any EventLoop
    let directory: DataDirectory
    let fileSystem: any PersistenceFileSystem
    let snapCount: Int
    let forceSync: Bool
    let logger: Logger
    /// Nodes serialised between two looks at the clock (about 40 µs of work for nodes of 100 bytes).
    var nodesPerStep = 128
    /// How long one event-loop turn may serialise before it lets the loop serve connections again: a request
    /// that arrives during a turn waits for it, so this bounds what a snapshot adds to a request's latency.
    var stepDuration = TimeAmount.microseconds(150)
    /// Bytes gathered before they are handed to the snapshot thread (a turn ends there too).
    var chunkSize = 1 << 20
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private var transactionsSinceSnapshot: Int
    private var job: Job?
    private var stopped = false
    /// Snapshots completed since start (statistics and tests).
    private(set) var completedCount = 0
    /// Called on the loop after each snapshot is in place (autopurge hooks here in tests).
    var onSnapshotCompleted: ((Int64) -> Void)?
    /// Called on the loop after each snapshot is in place, with the ms it took from its start (`snapshottime`).
    var onSnapshotTimed: ((Int64) -> Void)?

    /// One snapshot in progress; loop-confined like the snapshotter.
    private final class Job: @unchecked Sendable {
        let walker: SnapshotWalker
        let file: SnapshotFileWriter
        let core: ServerCore
        let log: FileTransactionLog
        var buffer = ByteBuffer()
        var endZxid: Int64?
        var awaitingDurability = false
        /// Monotonic ms when the snapshot began.
        let started: Int64
        init(walker: SnapshotWalker, file: SnapshotFileWriter, core: ServerCore, log: FileTransactionLog) {
            self.walker = walker
            self.file = file
            self.core = core
            self.log = log
            self.started = core.clock.monotonicMilliseconds()
        }
    }

    init(
        eventLoop: any EventLoop, directory: DataDirectory, fileSystem: any PersistenceFileSystem, snapCount: Int,
        forceSync: Bool, transactionsSinceSnapshot: Int, logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.directory = directory
        self.fileSystem = fileSystem
        self.snapCount = max(2, snapCount)
        self.forceSync = forceSync
        self.transactionsSinceSnapshot = transactionsSinceSnapshot
        self.logger = logger
        thread.start()
    }

    var isRunning: Bool { job != nil }

    /// Counts transactions appended; starts a snapshot when enough have been.
    func transactionsAppended(_ count: Int, core: ServerCore, log: FileTransactionLog) {
        transactionsSinceSnapshot += count
        guard transactionsSinceSnapshot >= snapCount, !stopped else { return }
        if job != nil {
            if transactionsSinceSnapshot >= 2 * snapCount {
                logger.warning("too busy to snapshot, skipping (the previous snapshot is still being written)")
                transactionsSinceSnapshot = 0
            }
            return
        }
        start(core: core, log: log)
    }

    /// Begins a snapshot of `core`'s state as of now.
    func start(core: ServerCore, log: FileTransactionLog) {
        eventLoop.assertInEventLoop()
        guard job == nil, !stopped else { return }
        transactionsSinceSnapshot = 0
        let startZxid = core.lastZxid
        let path = directory.snapshotPath(zxid: startZxid)
        log.requestRoll()
        let walker = SnapshotWalker(startZxid: startZxid)
        let job = Job(
            walker: walker,
            file: SnapshotFileWriter(
                path: path, directory: directory.snapshotDirectory, fileSystem: fileSystem, forceSync: forceSync),
            core: core, log: log)
        job.buffer = ByteBufferAllocator().buffer(capacity: chunkSize + chunkSize / 8)
        walker.begin(
            sessions: core.sessions.sessions.values.sorted { $0.id < $1.id }.map {
                SnapshotFile.SessionEntry(id: $0.id, timeout: $0.timeout, password: $0.password)
            }, wallMilliseconds: core.clock.wallMilliseconds(), into: &job.buffer)
        self.job = job
        logger.info("snapshot of zxid \(hex(startZxid)) started: \(path)")
        step()
    }

    private func step() {
        guard let job, !stopped, job.endZxid == nil else { return }
        let core = job.core
        let log = job.log
        // The buffer is taken out of the job while it fills, so that it is not copied on write.
        var buffer = job.buffer
        job.buffer = ByteBuffer()
        let deadline = NIODeadline.now() + stepDuration
        var done = false
        repeat {
            done = job.walker.step(
                core.tree, budget: nodesPerStep, byteLimit: chunkSize, endZxid: core.lastZxid, into: &buffer)
        } while !done && buffer.readableBytes < chunkSize && NIODeadline.now() < deadline
        if done { job.endZxid = core.lastZxid }
        if done || buffer.readableBytes >= chunkSize {
            let chunk = buffer
            buffer = ByteBufferAllocator().buffer(capacity: chunkSize + chunkSize / 8)
            submit(job) { try $0.append(chunk) }
        }
        job.buffer = buffer
        if done {
            logDurable(log.durableZxid)
        } else {
            eventLoop.execute { [self] in step() }
        }
    }

    /// The log reached `zxid`: a walk that is done can be put in place once the log covers its end.
    func logDurable(_ zxid: Int64) {
        guard let job, let endZxid = job.endZxid, !job.awaitingDurability, zxid >= endZxid else { return }
        job.awaitingDurability = true
        let startZxid = job.walker.startZxid
        submit(job, finishing: true) { file in
            try file.finish()
            return startZxid
        }
    }

    private func submit(
        _ job: Job, finishing: Bool = false, _ work: @escaping @Sendable (SnapshotFileWriter) throws -> Int64?
    ) {
        let file = job.file
        thread.runIfActive(eventLoop: eventLoop) { try work(file) }.whenComplete { [self] result in
            guard self.job === job else { return }
            switch result {
            case .success(let zxid):
                guard finishing, let zxid else { return }
                self.job = nil
                completedCount += 1
                logger.info("snapshot of zxid \(hex(zxid)) written (\(job.walker.nodeCount) nodes)")
                onSnapshotCompleted?(zxid)
                onSnapshotTimed?(job.core.clock.monotonicMilliseconds() - job.started)
            case .failure(let error):
                self.job = nil
                logger.warning("snapshot failed: \(error); the transaction log still holds everything")
                thread.runIfActive(eventLoop: eventLoop) { file.abandon() }.whenComplete { _ in }
            }
        }
    }

    private func submit(_ job: Job, _ work: @escaping @Sendable (SnapshotFileWriter) throws -> Void) {
        submit(job, finishing: false) { file in
            try work(file)
            return nil
        }
    }

    /// Runs `work` on the snapshot thread (file deletions for autopurge), so the loop never waits for disk.
    func runOnSnapshotThread(_ work: @escaping @Sendable () -> Void) {
        thread.runIfActive(eventLoop: eventLoop) { work() }.whenComplete { _ in }
    }

    /// Abandons a snapshot in progress and stops the thread.
    func stop() -> EventLoopFuture<Void> {
        eventLoop.assertInEventLoop()
        guard !stopped else { return eventLoop.makeSucceededVoidFuture() }
        stopped = true
        let promise = eventLoop.makePromise(of: Void.self)
        let file = job?.file
        job = nil
        thread.runIfActive(eventLoop: eventLoop) { file?.abandon() }.whenComplete { [thread] _ in
            thread.shutdownGracefully { _ in promise.succeed() }
        }
        return promise.futureResult
    }
}

/// The snapshot's file work, on the snapshot thread only: a temporary file, the running checksum, and the
/// fsync and rename that put it in place.
final class SnapshotFileWriter: @unchecked Sendable {
    let path: String
    let temporaryPath: String
    let directory: String
    let fileSystem: any PersistenceFileSystem
    let forceSync: Bool
    private var descriptor: Int32?
    private var position: Int64 = 0
    private var crc: UInt32 = 0

    init(path: String, directory: String, fileSystem: any PersistenceFileSystem, forceSync: Bool) {
        self.path = path
        temporaryPath = path + DataDirectory.temporarySuffix
        self.directory = directory
        self.fileSystem = fileSystem
        self.forceSync = forceSync
    }

    func append(_ chunk: ByteBuffer) throws(PersistenceError) {
        if descriptor == nil {
            try? fileSystem.remove(temporaryPath)
            descriptor = try fileSystem.create(temporaryPath)
        }
        let descriptor = descriptor!
        try chunk.withUnsafeReadableBytes { bytes throws(PersistenceError) in
            crc = CRC32.checksum(bytes, continuing: crc)
            try fileSystem.write(descriptor, bytes, at: position, path: temporaryPath)
        }
        position += Int64(chunk.readableBytes)
    }

    func finish() throws(PersistenceError) {
        try append(SnapshotWalker.trailer(crc: crc))
        let descriptor = descriptor!
        if forceSync { try fileSystem.synchronize(descriptor, path: temporaryPath) }
        fileSystem.close(descriptor)
        self.descriptor = nil
        try fileSystem.rename(temporaryPath, to: path)
        if forceSync { try fileSystem.synchronizeDirectory(directory) }
    }

    func abandon() {
        if let descriptor { fileSystem.close(descriptor) }
        descriptor = nil
        try? fileSystem.remove(temporaryPath)
    }
}
