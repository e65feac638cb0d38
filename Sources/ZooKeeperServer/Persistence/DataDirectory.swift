/// Where the files live and what they are called: `<dir>/version-2/log.<first zxid, hex>` for the transaction
/// log (in dataLogDir, or dataDir when unset) and `<dir>/version-2/snapshot.<start zxid, hex>` for snapshots
/// (in dataDir), the names Apache uses; the contents are zkserver's own format (docs/on-disk-format.md).
struct DataDirectory: Sendable {
    /// `<dataDir>/version-2`.
    let snapshotDirectory: String
    /// `<dataLogDir>/version-2`.
    let logDirectory: String

    static let subdirectory = "version-2"
    static let logPrefix = "log."
    static let snapshotPrefix = "snapshot."
    static let temporarySuffix = ".tmp"
    static let lockName = "zkserver.lock"

    init(dataDirectory: String, dataLogDirectory: String? = nil) {
        snapshotDirectory = Self.join(dataDirectory, Self.subdirectory)
        logDirectory = Self.join(dataLogDirectory ?? dataDirectory, Self.subdirectory)
    }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    func logPath(firstZxid: Int64) -> String {
        Self.join(logDirectory, Self.logPrefix + String(firstZxid, radix: 16))
    }

    func snapshotPath(zxid: Int64) -> String {
        Self.join(snapshotDirectory, Self.snapshotPrefix + String(zxid, radix: 16))
    }

    var lockPath: String { Self.join(snapshotDirectory, Self.lockName) }

    /// The zxid in a file name such as `log.1a2b`, or nil for other names (temporary files included).
    static func zxid(in name: String, prefix: String) -> Int64? {
        guard name.hasPrefix(prefix) else { return nil }
        let hex = name.dropFirst(prefix.count)
        guard !hex.isEmpty, hex.count <= 16, let value = UInt64(hex, radix: 16) else { return nil }
        return Int64(bitPattern: value)
    }

    /// Log files by first zxid, oldest first.
    func logFiles(_ fileSystem: any PersistenceFileSystem) throws(PersistenceError) -> [(zxid: Int64, path: String)] {
        try fileSystem.list(logDirectory).compactMap { name in
            Self.zxid(in: name, prefix: Self.logPrefix).map { ($0, Self.join(logDirectory, name)) }
        }.sorted { $0.zxid < $1.zxid }
    }

    /// Snapshots by start zxid, oldest first.
    func snapshotFiles(_ fileSystem: any PersistenceFileSystem) throws(PersistenceError) -> [(
        zxid: Int64, path: String
    )] {
        try fileSystem.list(snapshotDirectory).compactMap { name in
            Self.zxid(in: name, prefix: Self.snapshotPrefix).map { ($0, Self.join(snapshotDirectory, name)) }
        }.sorted { $0.zxid < $1.zxid }
    }
}
