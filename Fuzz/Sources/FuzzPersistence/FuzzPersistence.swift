import FuzzSupport
import Logging
import NIOCore
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// Recovery from a data directory whose files the input damages: a snapshot and two log files holding one
/// fixed history, then bytes flipped, set, cut, inserted or removed in them. Recovery must either rebuild the
/// state after a prefix of that history (a torn tail is cut, a bad snapshot is skipped in favour of the logs)
/// or refuse with its one-line error; it must never trap. In a second mode the damage is done under valid
/// checksums (a record's or the snapshot's), so that the decoders behind the checksums see the garbage; then
/// only "one-line error or success, no trap" is required.
@main struct FuzzPersistenceMain {
    static func main() { runFuzzer(fuzzPersistence) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPersistence(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let history = History.shared
    let underChecksums = input.bool()
    let fileSystem = MemoryFileSystem()
    var files = history.files
    let mutations = 1 + input.below(4)
    for _ in 0..<mutations {
        let index = input.below(files.count + 1)
        if index == files.count {
            // A file goes missing.
            if input.below(4) == 0, !files.isEmpty { files.remove(at: input.below(files.count)) }
            continue
        }
        if underChecksums {
            files[index].bytes = History.damageUnderChecksums(files[index], &input)
        } else {
            files[index].bytes = History.damage(files[index].bytes, &input)
        }
    }
    for file in files { fileSystem.files[file.path] = file.bytes }
    let core = ServerCore(configuration: ServerConfiguration(), clock: SystemClock(), log: InMemoryTransactionLog())
    let recovery = Recovery(directory: history.directory, fileSystem: fileSystem, logger: History.logger)
    do {
        let report = try recovery.recover(into: core, repair: input.bool())
        if !underChecksums {
            let zxid = report.lastZxid
            fuzzCheck(zxid >= 0 && zxid <= Int64(history.digests.count - 1), "recovered to zxid \(zxid)")
            fuzzCheck(
                History.digest(core) == history.digests[Int(zxid)],
                "the state recovered at zxid \(zxid) is not that of the history's prefix")
        }
    } catch {
        let text = error.description
        fuzzCheck(!text.isEmpty && !text.contains("\n"), "not a one-line error: \(text)")
    }
    return 0
}

struct StoredFile {
    var path: String
    var bytes: [UInt8]
    var isSnapshot: Bool
}

/// The fixed history every input damages, and the digest of the state after each of its prefixes.
final class History: @unchecked Sendable {
    static let shared = History()
    static let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

    let directory = DataDirectory(dataDirectory: "/data")
    var files: [StoredFile] = []
    /// `digests[k]`: the state after the first k transactions.
    var digests: [[NodeState]] = []

    init() {
        let clock = SystemClock()
        let log = KeptLog()
        let core = ServerCore(configuration: ServerConfiguration(), clock: clock, log: log)
        let connection = ConnectionID(1)
        core.connectionOpened(connection, remoteAddress: "127.0.0.1")
        _ = core.connect(
            connection,
            request: ConnectRequest(lastZxidSeen: 0, timeout: 10_000, sessionID: 0, password: [], readOnly: false))
        var xid: Int32 = 1
        func send(_ request: ZooKeeperRequest) {
            var body = ByteBuffer()
            request.encodeBody(into: &body)
            _ = core.request(connection, header: RequestHeader(xid: xid, opCode: request.opCode), body: &body)
            xid += 1
        }
        func create(_ path: String, _ data: String, _ mode: CreateMode = .persistent) {
            send(.create(CreateRequest(path: path, data: Array(data.utf8), acl: ACL.openUnsafe, mode: mode)))
        }
        create("/a", "alpha")
        create("/zookeeper/quota/a", "")
        create(QuotaPaths.limitPath("/a"), "count=10,bytes=-1")
        create(QuotaPaths.statPath("/a"), "count=0,bytes=0")
        for index in 0..<12 {
            create("/a/n\(index)", String(repeating: "x", count: index))
            if index % 3 == 0 { send(.setData(SetDataRequest(path: "/a/n\(index)", data: [1, 2], version: -1))) }
        }
        create("/a/e", "eph", .ephemeral)
        create("/a/s-", "", .persistentSequential)
        send(.delete(PathVersionRequest(path: "/a/n4", version: -1)))
        send(
            .multi(
                MultiRequest([
                    .create(CreateRequest(path: "/m", data: nil, acl: ACL.readUnsafe, mode: .persistent)),
                    .setData(SetDataRequest(path: "/a", data: Array("beta".utf8), version: 0)),
                ])))
        send(.setACL(SetACLRequest(path: "/a/n1", acl: ACL.readUnsafe, version: -1)))
        create("/missing/child", "fails")
        send(.closeSession)
        let transactions = log.transactions
        // The state after each prefix, as recovery would leave it.
        for count in 0...transactions.count {
            let replayed = ServerCore(configuration: ServerConfiguration(), clock: clock, log: InMemoryTransactionLog())
            for transaction in transactions.prefix(count) { replayed.replay(transaction) }
            replayed.tree.rebuildQuotaStatistics()
            digests.append(Self.digest(replayed))
        }
        // A snapshot at the middle, and the log in two files, the second starting just after the snapshot.
        let middle = transactions.count / 2
        let atMiddle = ServerCore(configuration: ServerConfiguration(), clock: clock, log: InMemoryTransactionLog())
        for transaction in transactions.prefix(middle) { atMiddle.replay(transaction) }
        let walker = SnapshotWalker(startZxid: Int64(middle))
        var snapshot = ByteBuffer()
        walker.begin(
            sessions: atMiddle.sessions.sessions.values.map {
                SnapshotFile.SessionEntry(id: $0.id, timeout: $0.timeout, password: $0.password)
            }, wallMilliseconds: 0, into: &snapshot)
        while !walker.step(atMiddle.tree, budget: 1000, endZxid: Int64(middle), into: &snapshot) {}
        snapshot.writeImmutableBuffer(SnapshotWalker.trailer(crc: CRC32.checksum(snapshot.fuzzBytes)))
        files.append(
            StoredFile(path: directory.snapshotPath(zxid: Int64(middle)), bytes: snapshot.fuzzBytes, isSnapshot: true))
        for range in [0..<(middle + 1), (middle + 1)..<transactions.count] {
            var buffer = LogFile.header(firstZxid: transactions[range.lowerBound].zxid)
            for transaction in transactions[range] { LogFile.appendRecord(transaction, to: &buffer) }
            files.append(
                StoredFile(
                    path: directory.logPath(firstZxid: transactions[range.lowerBound].zxid), bytes: buffer.fuzzBytes,
                    isSnapshot: false))
        }
    }

    /// Everything recovery restores that a client can see: every node's path, stat, data and ACL.
    /// Every node's path, stat, data and ACL, in path order. Compared as values, not written as text: printing a
    /// `Stat` goes through reflection, which cost more than the rest of an input.
    static func digest(_ core: ServerCore) -> [NodeState] {
        var nodes: [NodeState] = []
        var stack: [(String, Znode)] = [("/", core.tree.root)]
        while let (path, node) = stack.popLast() {
            nodes.append(NodeState(path: path, stat: node.stat, data: node.data ?? [], acl: core.tree.acl(of: node)))
            for child in node.children {
                stack.append((path == "/" ? "/" + child.name : path + "/" + child.name, child))
            }
        }
        return nodes.sorted { $0.path < $1.path }
    }

    struct NodeState: Equatable {
        var path: String
        var stat: Stat
        /// No data and empty data alike, as the text digest had them.
        var data: [UInt8]
        var acl: [ACL]
    }

    static func damage(_ original: [UInt8], _ input: inout FuzzInput) -> [UInt8] {
        var bytes = original
        let offset = bytes.isEmpty ? 0 : input.below(min(bytes.count, 65536))
        switch input.below(5) {
        case 0: if !bytes.isEmpty { bytes[offset] ^= 1 << UInt8(input.below(8)) }
        case 1: if !bytes.isEmpty { bytes[offset] = input.byte() }
        case 2: bytes.removeLast(bytes.count - offset)
        case 3: bytes.insert(contentsOf: input.bytes(maximum: 16), at: offset)
        default: bytes.removeSubrange(offset..<min(bytes.count, offset + 1 + input.below(32)))
        }
        return bytes
    }

    /// Damage that the checksums do not catch: a log record's payload changed and its checksum recomputed, or
    /// the body of the snapshot changed and its trailer recomputed.
    static func damageUnderChecksums(_ file: StoredFile, _ input: inout FuzzInput) -> [UInt8] {
        if file.isSnapshot {
            guard file.bytes.count > SnapshotFile.headerSize + SnapshotFile.trailerSize else { return file.bytes }
            var body = Array(file.bytes.dropLast(SnapshotFile.trailerSize))
            let header = Array(body.prefix(SnapshotFile.headerSize))
            body = header + damage(Array(body.dropFirst(SnapshotFile.headerSize)), &input)
            var buffer = ByteBuffer(bytes: body)
            buffer.writeImmutableBuffer(SnapshotWalker.trailer(crc: CRC32.checksum(buffer.fuzzBytes)))
            return buffer.fuzzBytes
        }
        // Split into records, damage one payload, and frame it again with a fresh checksum.
        var records: [[UInt8]] = []
        var offset = LogFile.headerSize
        let bytes = file.bytes
        while offset + LogFile.recordHeaderSize <= bytes.count {
            let length =
                Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8
                | Int(bytes[offset + 3])
            let end = offset + LogFile.recordHeaderSize + length
            guard length > 0, end <= bytes.count else { break }
            records.append(Array(bytes[(offset + LogFile.recordHeaderSize)..<end]))
            offset = end
        }
        guard !records.isEmpty else { return bytes }
        let victim = input.below(records.count)
        records[victim] = damage(records[victim], &input)
        var buffer = ByteBuffer(bytes: bytes.prefix(LogFile.headerSize))
        for payload in records {
            buffer.writeInteger(UInt32(payload.count))
            buffer.writeInteger(CRC32.checksum(payload))
            buffer.writeBytes(payload)
        }
        return buffer.fuzzBytes
    }
}

final class KeptLog: TransactionLog {
    var transactions: [Transaction] = []
    var durableZxid: Int64 { transactions.last?.zxid ?? 0 }
    func append(_ transaction: Transaction) { transactions.append(transaction) }
    func sync(completion: @escaping (Result<Int64, PersistenceError>) -> Void) { completion(.success(durableZxid)) }
}

/// Files in memory, so that every input starts from a clean directory without touching the disk.
final class MemoryFileSystem: PersistenceFileSystem, @unchecked Sendable {
    var files: [String: [UInt8]] = [:]
    private var descriptors: [Int32: String] = [:]
    private var nextDescriptor: Int32 = 3

    private func missing(_ path: String) -> PersistenceError {
        PersistenceError(.io, file: path, "no such file")
    }

    func createDirectory(_ path: String) throws(PersistenceError) {}

    func list(_ directory: String) throws(PersistenceError) -> [String] {
        files.keys.compactMap { path in
            guard path.hasPrefix(directory + "/") else { return nil }
            let name = path.dropFirst(directory.count + 1)
            return name.contains("/") ? nil : String(name)
        }
    }

    func readFile(_ path: String) throws(PersistenceError) -> ByteBuffer {
        guard let bytes = files[path] else { throw missing(path) }
        return ByteBuffer(bytes: bytes)
    }

    func create(_ path: String) throws(PersistenceError) -> Int32 {
        guard files[path] == nil else { throw PersistenceError(.io, file: path, "exists") }
        files[path] = []
        return try openForWriting(path)
    }

    func openForWriting(_ path: String) throws(PersistenceError) -> Int32 {
        guard files[path] != nil else { throw missing(path) }
        defer { nextDescriptor += 1 }
        descriptors[nextDescriptor] = path
        return nextDescriptor
    }

    func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String)
        throws(PersistenceError)
    {
        guard let name = descriptors[descriptor], var contents = files[name] else { throw missing(path) }
        let end = Int(offset) + bytes.count
        if contents.count < end { contents += Array(repeating: 0, count: end - contents.count) }
        contents.replaceSubrange(Int(offset)..<end, with: bytes)
        files[name] = contents
    }

    func synchronize(_ descriptor: Int32, path: String) throws(PersistenceError) {}

    func truncate(_ descriptor: Int32, to length: Int64, path: String) throws(PersistenceError) {
        guard let name = descriptors[descriptor], let contents = files[name] else { throw missing(path) }
        files[name] =
            Array(contents.prefix(Int(length))) + Array(repeating: 0, count: max(0, Int(length) - contents.count))
    }

    func close(_ descriptor: Int32) { descriptors[descriptor] = nil }

    func rename(_ source: String, to destination: String) throws(PersistenceError) {
        guard let contents = files.removeValue(forKey: source) else { throw missing(source) }
        files[destination] = contents
    }

    func remove(_ path: String) throws(PersistenceError) {
        guard files.removeValue(forKey: path) != nil else { throw missing(path) }
    }

    func synchronizeDirectory(_ path: String) throws(PersistenceError) {}

    func lock(_ path: String) throws(PersistenceError) -> Int32 { 0 }
}
