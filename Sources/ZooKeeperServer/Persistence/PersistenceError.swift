/// A failure of the data directory: an I/O error, a full disk, or files that cannot be trusted.
///
/// `description` is one line naming the file and, for corruption, the byte offset, so that an operator reading
/// zkserver's log knows which file to look at.
public struct PersistenceError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: Sendable, Hashable {
            case io
            case diskFull
            case corruptLog
            case zxidGap
            case corruptSnapshot
            case unrecoverable
            case foreignFormat
            case locked
            case closed
        }
        fileprivate let base: Base
        private init(_ base: Base) { self.base = base }

        /// A system call failed (other than for lack of space).
        public static let io = Code(.io)
        /// The disk is full (ENOSPC, EDQUOT).
        public static let diskFull = Code(.diskFull)
        /// A log record that is not the last one fails its checksum or cannot be decoded.
        public static let corruptLog = Code(.corruptLog)
        /// The logs skip a zxid: a transaction is missing.
        public static let zxidGap = Code(.zxidGap)
        /// A snapshot fails its checksum or cannot be decoded.
        public static let corruptSnapshot = Code(.corruptSnapshot)
        /// No valid snapshot and log sequence rebuilds the state.
        public static let unrecoverable = Code(.unrecoverable)
        /// The directory holds files of another format (Apache ZooKeeper's).
        public static let foreignFormat = Code(.foreignFormat)
        /// Another zkserver is using the directory.
        public static let locked = Code(.locked)
        /// The log was closed or had failed before.
        public static let closed = Code(.closed)

        public var description: String {
            switch base {
            case .io: "I/O error"
            case .diskFull: "disk full"
            case .corruptLog: "corrupt transaction log"
            case .zxidGap: "missing transactions"
            case .corruptSnapshot: "corrupt snapshot"
            case .unrecoverable: "unrecoverable data directory"
            case .foreignFormat: "foreign data format"
            case .locked: "data directory in use"
            case .closed: "log closed"
            }
        }
    }

    public var code: Code
    /// The file concerned, if any.
    public var file: String?
    /// The byte offset in `file` where the problem starts, for corruption.
    public var offset: Int64?
    public var detail: String

    public init(_ code: Code, file: String? = nil, offset: Int64? = nil, _ detail: String) {
        self.code = code
        self.file = file
        self.offset = offset
        self.detail = detail
    }

    public var description: String {
        var text = "\(code)"
        if let file { text += ": \(file)" }
        if let offset { text += " at offset \(offset)" }
        return text + ": " + detail
    }
}
