import Logging

/// autopurge: which snapshots and logs may go. Keeps the newest `retainCount` snapshots (at least 3, as
/// Apache) and every log file that holds a transaction after the oldest of them.
enum Purge {
    static let minimumRetainCount = 3

    struct Plan: Equatable {
        var snapshots: [Int64]
        var logs: [Int64]
    }

    static func plan(snapshots: [Int64], logs: [Int64], retainCount: Int) -> Plan {
        let retain = max(minimumRetainCount, retainCount)
        let sortedSnapshots = snapshots.sorted()
        guard sortedSnapshots.count > retain else {
            return Plan(snapshots: [], logs: [])
        }
        let doomedSnapshots = Array(sortedSnapshots.dropLast(retain))
        let oldestKept = sortedSnapshots[sortedSnapshots.count - retain]
        // The log that holds oldestKept + 1 starts at or before it; it and every later one stay.
        let sortedLogs = logs.sorted()
        guard let firstNeeded = sortedLogs.lastIndex(where: { $0 <= oldestKept + 1 }) else {
            return Plan(snapshots: doomedSnapshots, logs: [])
        }
        return Plan(snapshots: doomedSnapshots, logs: Array(sortedLogs[..<firstNeeded]))
    }

    /// Deletes what `plan` allows; returns the paths removed.
    @discardableResult
    static func run(directory: DataDirectory, fileSystem: any PersistenceFileSystem, retainCount: Int, logger: Logger)
        throws(PersistenceError) -> [String]
    {
        let snapshots = try directory.snapshotFiles(fileSystem)
        let logs = try directory.logFiles(fileSystem)
        let plan = plan(snapshots: snapshots.map(\.zxid), logs: logs.map(\.zxid), retainCount: retainCount)
        var removed: [String] = []
        for zxid in plan.snapshots {
            let path = directory.snapshotPath(zxid: zxid)
            try fileSystem.remove(path)
            removed.append(path)
        }
        for zxid in plan.logs {
            let path = directory.logPath(firstZxid: zxid)
            try fileSystem.remove(path)
            removed.append(path)
        }
        if !removed.isEmpty {
            logger.info("autopurge removed \(removed.count) files: \(removed.joined(separator: ", "))")
        }
        return removed
    }
}
