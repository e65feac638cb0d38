import Logging
import NIOCore
import ZooKeeperProtocol

/// Rebuilds the state at start-up: the newest snapshot that verifies (older ones if it does not), then every
/// later log record in zxid order. A torn tail of the newest log file is cut off with a warning; any other
/// damage stops start-up with a `PersistenceError` naming the file and offset.
struct Recovery {
    let directory: DataDirectory
    let fileSystem: any PersistenceFileSystem
    let logger: Logger

    struct Report {
        /// The zxid of the snapshot used (nil: none, the logs were replayed from the start).
        var snapshotZxid: Int64?
        var snapshotNodes = 0
        var replayedCount = 0
        /// Milliseconds spent finding and reading the snapshot, and replaying the log after it.
        var snapshotLoadMilliseconds: Int64 = 0
        var replayMilliseconds: Int64 = 0
        var lastZxid: Int64 = 0
        var warnings: [String] = []
    }

    /// Loads everything into `core` (which must be fresh). `limit` stops the replay at that zxid (reloading
    /// what is durable after the log failed); `repair` allows cutting a torn tail off the newest log file.
    func recover(into core: ServerCore, upTo limit: Int64 = .max, repair: Bool = true) throws(PersistenceError)
        -> Report
    {
        var report = Report()
        if repair {
            // Snapshots that were being written when the server stopped.
            for name in try fileSystem.list(directory.snapshotDirectory)
            where name.hasPrefix(DataDirectory.snapshotPrefix) && name.hasSuffix(DataDirectory.temporarySuffix) {
                try? fileSystem.remove(DataDirectory.join(directory.snapshotDirectory, name))
            }
        }
        let snapshotStart = core.clock.monotonicMilliseconds()
        let snapshots = try directory.snapshotFiles(fileSystem)
        let logs = try directory.logFiles(fileSystem)
        var base: SnapshotFile.Contents? = nil
        for (zxid, path) in snapshots.reversed() where zxid <= limit {
            do {
                base = try SnapshotFile.read(try fileSystem.readFile(path), path: path)
                break
            } catch  where error.code == .foreignFormat {
                throw error
            } catch {
                let warning = "skipping snapshot \(path): \(error)"
                logger.warning("\(warning)")
                report.warnings.append(warning)
            }
        }
        let startZxid = base?.startZxid ?? 0
        if let base {
            core.restore(tree: base.tree, sessions: base.sessions, lastZxid: base.startZxid)
            report.snapshotZxid = base.startZxid
            report.snapshotNodes = base.tree.nodeCount
        } else if !snapshots.isEmpty {
            logger.warning("no snapshot verifies; rebuilding from the logs alone")
        }
        let replayStart = core.clock.monotonicMilliseconds()
        report.snapshotLoadMilliseconds = replayStart - snapshotStart
        // The files that hold startZxid + 1 and everything after it.
        let firstNeeded = logs.lastIndex { $0.zxid <= startZxid + 1 } ?? 0
        var expected = startZxid + 1
        var creates = CreateReplayer(core: core)
        defer { creates.finish() }
        for index in logs.indices where index >= firstNeeded {
            let (_, path) = logs[index]
            let isNewest = index == logs.count - 1
            var recordCount = 0
            var reachedLimit = false
            let bytes = try fileSystem.readFile(path)
            let end = try LogFile.scan(bytes, path: path) { record throws(PersistenceError) in
                recordCount += 1
                guard record.zxid >= expected, !reachedLimit else { return }
                guard record.zxid == expected else {
                    throw PersistenceError(
                        .zxidGap, file: path, offset: Int64(record.offset),
                        "expected zxid \(hex(expected)), found \(hex(record.zxid)): transactions are missing")
                }
                if record.zxid > limit {
                    reachedLimit = true
                    return
                }
                if creates.apply(record.payload) {
                    report.replayedCount += 1
                    expected += 1
                    return
                }
                creates.invalidate()
                var payload = record.payload
                let transaction: Transaction
                do throws(ProtocolError) {
                    transaction = try TransactionCodec.decode(&payload)
                } catch {
                    throw PersistenceError(
                        .corruptLog, file: path, offset: Int64(record.offset),
                        "the record's checksum matches but it does not decode: \(error.detail)")
                }
                core.replay(transaction)
                report.replayedCount += 1
                expected += 1
            }
            switch end {
            case .clean(let offset):
                if isNewest && recordCount == 0 && repair {
                    // Made just before a stop; the next log file will take its name.
                    try fileSystem.remove(path)
                } else if isNewest && repair && offset < bytes.writerIndex {
                    // The preallocated zeros of a log that was never closed: new writes go to a new file.
                    let descriptor = try fileSystem.openForWriting(path)
                    defer { fileSystem.close(descriptor) }
                    try fileSystem.truncate(descriptor, to: Int64(offset), path: path)
                    try fileSystem.synchronize(descriptor, path: path)
                }
            case .torn(let offset, let reason):
                guard isNewest else {
                    throw PersistenceError(
                        .corruptLog, file: path, offset: Int64(offset),
                        "\(reason), and newer log files follow: transactions may be lost")
                }
                if repair {
                    if offset == 0 || recordCount == 0 {
                        let warning = "removing \(path): it holds no complete record (\(reason))"
                        logger.warning("\(warning)")
                        report.warnings.append(warning)
                        try fileSystem.remove(path)
                    } else {
                        let warning =
                            "truncating the torn tail of \(path) at offset \(offset) (\(reason)); "
                            + "\(recordCount) complete records kept"
                        logger.warning("\(warning)")
                        report.warnings.append(warning)
                        let descriptor = try fileSystem.openForWriting(path)
                        defer { fileSystem.close(descriptor) }
                        try fileSystem.truncate(descriptor, to: Int64(offset), path: path)
                        try fileSystem.synchronize(descriptor, path: path)
                    }
                }
            }
        }
        creates.finish()
        report.replayMilliseconds = core.clock.monotonicMilliseconds() - replayStart
        if base == nil && expected == 1 && !snapshots.isEmpty {
            throw PersistenceError(
                .unrecoverable, file: directory.snapshotDirectory,
                "no snapshot verifies and no log holds the transactions from zxid 0x1")
        }
        if base == nil, let first = logs.first, expected > 1, first.zxid > 1 {
            throw PersistenceError(
                .unrecoverable, file: first.path,
                "no snapshot verifies and the oldest log starts at \(hex(first.zxid)), not 0x1")
        }
        // Quota statistics are updated in place, unlogged; a fuzzy snapshot caught them at some point of the log.
        core.tree.rebuildQuotaStatistics()
        report.lastZxid = core.lastZxid
        return report
    }
}
