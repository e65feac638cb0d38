import Logging
import NIOCore

/// Everything a server with a data directory keeps on disk, wired together: the directory lock, recovery,
/// the transaction log, snapshots and autopurge. Loop-confined.
final class DurableStore: @unchecked Sendable {
    let directory: DataDirectory
    let fileSystem: any PersistenceFileSystem
    let configuration: ServerConfiguration
    let log: FileTransactionLog
    let snapshotter: Snapshotter
    let logger: Logger
    private let lockDescriptor: Int32
    private var countedAppends = 0
    private var purgeTimer: RepeatedTask?

    private init(
        directory: DataDirectory, fileSystem: any PersistenceFileSystem, configuration: ServerConfiguration,
        log: FileTransactionLog, snapshotter: Snapshotter, lockDescriptor: Int32, logger: Logger
    ) {
        self.directory = directory
        self.fileSystem = fileSystem
        self.configuration = configuration
        self.log = log
        self.snapshotter = snapshotter
        self.lockDescriptor = lockDescriptor
        self.logger = logger
    }

    /// Locks the directory, recovers the state into a new core, and opens the log after it. Runs on the loop
    /// before the server listens.
    static func open(
        configuration: ServerConfiguration, dataDirectory: String, clock: any ServerClock, eventLoop: any EventLoop,
        fileSystem: any PersistenceFileSystem, logger: Logger
    ) throws(PersistenceError) -> (DurableStore, ServerCore) {
        let started = clock.monotonicMilliseconds()
        let directory = DataDirectory(
            dataDirectory: dataDirectory, dataLogDirectory: configuration.dataLogDirectory)
        try fileSystem.createDirectory(directory.snapshotDirectory)
        try fileSystem.createDirectory(directory.logDirectory)
        let lockDescriptor = try fileSystem.lock(directory.lockPath)
        do {
            var options = FileTransactionLog.Options()
            options.forceSync = configuration.forceSync
            if !configuration.forceSync {
                logger.warning(
                    "forceSync=no: writes are acknowledged before they reach the disk; a power failure or kernel crash can lose them"
                )
            }
            let log = FileTransactionLog(
                eventLoop: eventLoop, directory: directory, fileSystem: fileSystem, options: options, logger: logger)
            let core = ServerCore(configuration: configuration, clock: clock, log: log)
            let report = try Recovery(directory: directory, fileSystem: fileSystem, logger: logger).recover(into: core)
            core.refreshSessionDeadlines()
            log.open(lastZxid: core.lastZxid)
            let snapshotter = Snapshotter(
                eventLoop: eventLoop, directory: directory, fileSystem: fileSystem, snapCount: configuration.snapCount,
                forceSync: configuration.forceSync, transactionsSinceSnapshot: report.replayedCount, logger: logger)
            let elapsed = clock.monotonicMilliseconds() - started
            core.activity.recordStartup(
                total: elapsed, snapshotLoad: report.snapshotLoadMilliseconds,
                transactionsLoad: report.replayMilliseconds, transactionsReplayed: report.replayedCount,
                at: clock.monotonicMilliseconds())
            let source = report.snapshotZxid.map { "snapshot \(hex($0)) + " } ?? ""
            logger.info(
                "recovered \(core.tree.nodeCount) znodes and \(core.sessions.count) sessions up to zxid \(hex(core.lastZxid)) from \(source)\(report.replayedCount) log records in \(elapsed) ms"
            )
            let store = DurableStore(
                directory: directory, fileSystem: fileSystem, configuration: configuration, log: log,
                snapshotter: snapshotter, lockDescriptor: lockDescriptor, logger: logger)
            store.countedAppends = log.appendedCount
            return (store, core)
        } catch {
            fileSystem.close(lockDescriptor)
            throw error
        }
    }

    /// Once per event-loop tick: counts the transactions appended and starts a snapshot when one is due.
    func afterTick(core: ServerCore) {
        let appended = log.appendedCount - countedAppends
        guard appended > 0 else { return }
        countedAppends = log.appendedCount
        snapshotter.transactionsAppended(appended, core: core, log: log)
    }

    /// The log made `zxid` durable.
    func logDurable(_ zxid: Int64) {
        snapshotter.logDurable(zxid)
    }

    /// After the log failed: a new core holding exactly what is durable, refusing writes.
    func reloadDurableState(clock: any ServerClock) throws(PersistenceError) -> ServerCore {
        _ = snapshotter.stop()
        let core = ServerCore(configuration: configuration, clock: clock, log: log)
        _ = try Recovery(directory: directory, fileSystem: fileSystem, logger: logger)
            .recover(into: core, upTo: log.durableZxid, repair: false)
        core.refreshSessionDeadlines()
        core.refusesWrites = true
        return core
    }

    /// autopurge: now and every `autopurge.purgeInterval` hours when that is positive, off the loop.
    func startAutopurge(eventLoop: any EventLoop) {
        let hours = configuration.autopurgePurgeInterval
        guard hours > 0 else { return }
        purgeTimer = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .hours(Int64(hours))) {
            [self] _ in
            purge()
        }
    }

    func purge() {
        let directory = directory
        let fileSystem = fileSystem
        let retain = configuration.autopurgeSnapRetainCount
        let logger = logger
        snapshotter.runOnSnapshotThread {
            do {
                try Purge.run(directory: directory, fileSystem: fileSystem, retainCount: retain, logger: logger)
            } catch {
                logger.warning("autopurge failed: \(error)")
            }
        }
    }

    /// Stops snapshots, writes what the log holds, closes it, and releases the directory.
    func close() -> EventLoopFuture<Void> {
        purgeTimer?.cancel()
        let snapshotStopped = snapshotter.stop()
        let logClosed = log.close()
        return snapshotStopped.and(logClosed).map { [fileSystem, lockDescriptor] _ in
            fileSystem.close(lockDescriptor)
        }
    }
}
