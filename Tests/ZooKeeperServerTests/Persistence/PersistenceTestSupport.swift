import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperServer

#if canImport(Glibc)
    import Glibc
#endif

/// A log that keeps every transaction in memory, in order.
final class RecordingLog: TransactionLog {
    private(set) var transactions: [Transaction] = []
    var durableZxid: Int64 { transactions.last?.zxid ?? 0 }

    func append(_ transaction: Transaction) { transactions.append(transaction) }

    func sync(completion: @escaping (Result<Int64, PersistenceError>) -> Void) {
        completion(.success(durableZxid))
    }
}

/// Everything observable about a core's state, for comparing a recovered core with the original.
struct StateDump: Equatable, CustomStringConvertible {
    struct Node: Equatable {
        var stat: Stat
        var data: [UInt8]?
        var acl: [ACL]
        var rawOwner: Int64
        var childCreations: Int32
    }
    struct Session: Equatable {
        var timeout: Int32
        var password: [UInt8]
    }
    var nodes: [String: Node] = [:]
    var sessions: [Int64: Session] = [:]
    var ephemerals: [Int64: Set<String>] = [:]
    var containers: Set<String> = []
    var nodeCount = 0
    var approximateDataSize = 0
    var lastZxid: Int64 = 0

    init(_ core: ServerCore) {
        var stack: [(String, Znode)] = [("/", core.tree.root)]
        while let (path, node) = stack.popLast() {
            nodes[path] = Node(
                stat: node.stat, data: node.data, acl: core.tree.acl(of: node), rawOwner: node.ephemeralOwner,
                childCreations: node.childCreations)
            for child in node.children {
                stack.append((path == "/" ? "/" + child.name : path + "/" + child.name, child))
            }
        }
        for session in core.sessions.sessions.values {
            sessions[session.id] = Session(timeout: session.timeout, password: session.password)
        }
        ephemerals = core.tree.ephemerals
        containers = core.tree.containersAndTTLNodes
        nodeCount = core.tree.nodeCount
        approximateDataSize = core.tree.approximateDataSize
        lastZxid = core.lastZxid
    }

    var description: String { "\(nodes.count) nodes, \(sessions.count) sessions, zxid \(lastZxid)" }

    /// The first paths whose nodes differ, for failure messages.
    func differences(from other: StateDump) -> String {
        var lines: [String] = []
        for path in Set(nodes.keys).union(other.nodes.keys).sorted() where nodes[path] != other.nodes[path] {
            lines.append("\(path): \(String(describing: nodes[path])) vs \(String(describing: other.nodes[path]))")
            if lines.count > 5 { break }
        }
        if sessions != other.sessions {
            lines.append("sessions \(sessions.keys.sorted()) vs \(other.sessions.keys.sorted())")
        }
        if ephemerals != other.ephemerals { lines.append("ephemerals differ") }
        if nodeCount != other.nodeCount { lines.append("nodeCount \(nodeCount) vs \(other.nodeCount)") }
        if approximateDataSize != other.approximateDataSize {
            lines.append("dataSize \(approximateDataSize) vs \(other.approximateDataSize)")
        }
        return lines.joined(separator: "\n")
    }
}

/// The real file system, with counters and failures the test turns on.
final class FaultyFileSystem: PersistenceFileSystem, @unchecked Sendable {
    private let real = PosixFileSystem()
    private let lock = NIOLock()
    private var _synchronizeCount = 0
    private var _failWrites: Int32?
    private var _failSynchronize: Int32?
    private var _synchronizeDelay: TimeAmount?

    var synchronizeCount: Int { lock.withLock { _synchronizeCount } }
    /// Makes every later data write fail with this errno (e.g. ENOSPC).
    func failWrites(with code: Int32?) { lock.withLock { _failWrites = code } }
    /// Makes every later fdatasync fail with this errno (e.g. EIO).
    func failSynchronize(with code: Int32?) { lock.withLock { _failSynchronize = code } }
    /// Makes every later fdatasync take this much longer (a busy disk); nil: as long as the disk takes.
    func delaySynchronize(by delay: TimeAmount?) { lock.withLock { _synchronizeDelay = delay } }

    func createDirectory(_ path: String) throws(PersistenceError) { try real.createDirectory(path) }
    func list(_ directory: String) throws(PersistenceError) -> [String] { try real.list(directory) }
    func readFile(_ path: String) throws(PersistenceError) -> ByteBuffer { try real.readFile(path) }
    func create(_ path: String) throws(PersistenceError) -> Int32 { try real.create(path) }
    func openForWriting(_ path: String) throws(PersistenceError) -> Int32 { try real.openForWriting(path) }
    func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String)
        throws(PersistenceError)
    {
        if let code = lock.withLock({ _failWrites }) { throw PosixFileSystem.failure("write", path, errno: code) }
        try real.write(descriptor, bytes, at: offset, path: path)
    }
    func synchronize(_ descriptor: Int32, path: String) throws(PersistenceError) {
        if let code = lock.withLock({ _failSynchronize }) {
            throw PosixFileSystem.failure("fdatasync", path, errno: code)
        }
        lock.withLock { _synchronizeCount += 1 }
        if let delay = lock.withLock({ _synchronizeDelay }) { usleep(UInt32(delay.nanoseconds / 1000)) }
        try real.synchronize(descriptor, path: path)
    }
    func truncate(_ descriptor: Int32, to length: Int64, path: String) throws(PersistenceError) {
        try real.truncate(descriptor, to: length, path: path)
    }
    func close(_ descriptor: Int32) { real.close(descriptor) }
    func rename(_ source: String, to destination: String) throws(PersistenceError) {
        try real.rename(source, to: destination)
    }
    func remove(_ path: String) throws(PersistenceError) { try real.remove(path) }
    func synchronizeDirectory(_ path: String) throws(PersistenceError) { try real.synchronizeDirectory(path) }
    func lock(_ path: String) throws(PersistenceError) -> Int32 { try real.lock(path) }
}

/// A fresh data directory under the system's temporary directory.
func temporaryDataDirectory(_ prefix: String = "zkdata") throws -> DataDirectory {
    let path = try TestEnvironment.temporaryDirectory(prefix)
    let directory = DataDirectory(dataDirectory: path)
    try PosixFileSystem().createDirectory(directory.logDirectory)
    return directory
}

/// A transaction for tests: a create of `path` under the root with `data`.
func createTransaction(_ zxid: Int64, _ path: String, data: String = "x", childCreations: Int32 = 1) -> Transaction {
    Transaction(
        zxid: zxid, time: 1_700_000_000_000 &+ zxid, sessionID: 0,
        body: .create(
            path: path, data: Array(data.utf8), acl: ACL.openUnsafe, ephemeralOwner: 0,
            parentChildCreations: childCreations))
}

/// Writes `transactions` as one log file named after the first, the way the log writer lays it out.
@discardableResult
func writeLogFile(_ transactions: [Transaction], in directory: DataDirectory) throws -> String {
    var buffer = LogFile.header(firstZxid: transactions[0].zxid)
    for transaction in transactions { LogFile.appendRecord(transaction, to: &buffer) }
    let path = directory.logPath(firstZxid: transactions[0].zxid)
    try Data(buffer.readableBytesView).write(to: URL(fileURLWithPath: path))
    return path
}

/// A closeSession payload in the layout zkserver wrote before closeSession named its ephemerals (built byte by
/// byte, not by the codec): zxid, time and session id as longs, then tag 2 and nothing else.
func oldLayoutCloseSessionPayload(zxid: Int64, time: Int64, sessionID: Int64) -> ByteBuffer {
    var payload = ByteBuffer()
    payload.writeInteger(zxid)
    payload.writeInteger(time)
    payload.writeInteger(sessionID)
    payload.writeInteger(Int32(2))
    return payload
}

/// Writes `transactions` as one log file the way the log writer laid it out before closeSession named its
/// ephemerals: every closeSession record in the old layout. Returns the file's path and the number of those.
@discardableResult
func writeOldLayoutLogFile(_ transactions: [Transaction], in directory: DataDirectory) throws -> (String, Int) {
    var buffer = LogFile.header(firstZxid: transactions[0].zxid)
    var oldCloses = 0
    for transaction in transactions {
        guard case .closeSession = transaction.body else {
            LogFile.appendRecord(transaction, to: &buffer)
            continue
        }
        var payload = oldLayoutCloseSessionPayload(
            zxid: transaction.zxid, time: transaction.time, sessionID: transaction.sessionID)
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeInteger(payload.withUnsafeReadableBytes { CRC32.checksum($0) })
        buffer.writeBuffer(&payload)
        oldCloses += 1
    }
    let path = directory.logPath(firstZxid: transactions[0].zxid)
    try Data(buffer.readableBytesView).write(to: URL(fileURLWithPath: path))
    return (path, oldCloses)
}

/// Recovers `directory` into a fresh core.
func recoverCore(_ directory: DataDirectory, configuration: ServerConfiguration = ServerConfiguration())
    throws(PersistenceError) -> (ServerCore, Recovery.Report)
{
    let core = ServerCore(configuration: configuration, clock: FakeClock(), log: RecordingLog())
    let report = try Recovery(directory: directory, fileSystem: PosixFileSystem(), logger: quietLogger)
        .recover(into: core)
    return (core, report)
}

let quietLogger = ZooKeeperServerForTests.quietLogger

extension Data {
    /// Flips one byte at `offset` of the file at `path`.
    static func corrupt(_ path: String, at offset: Int) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[offset] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    /// Cuts the file at `path` to `length` bytes.
    static func truncate(_ path: String, to length: Int) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.prefix(length).write(to: URL(fileURLWithPath: path))
    }
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? -1
}
