import Dispatch
import NIOCore
import ZooKeeperProtocol

/// The layout of a snapshot file: a 24-byte header (magic `ZSWS`, format version, start zxid, wall time), a
/// stream of tagged entries (sessions, ACL lists, znodes in depth-first pre-order, each with its child count),
/// an end entry with the counts, and a trailer: the CRC-32 of everything before it and the magic `ZSWE`.
enum SnapshotFile {
    static let magic: UInt32 = 0x5A53_5753  // "ZSWS"
    static let endMagic: UInt32 = 0x5A53_5745  // "ZSWE"
    /// Apache ZooKeeper's snapshot magic ("ZKSN"), recognised to give a clear error.
    static let apacheMagic: UInt32 = 0x5A4B_534E
    static let formatVersion: UInt32 = 1
    static let headerSize = 24
    static let trailerSize = 8

    enum Tag: UInt8 {
        case session = 1
        case acl = 2
        case node = 3
        case end = 4
    }

    /// A session as snapshots keep it.
    struct SessionEntry: Equatable {
        var id: Int64
        var timeout: Int32
        var password: [UInt8]
    }

    /// What a snapshot holds: the state as of `startZxid` plus, for a fuzzy snapshot, some of the effects of
    /// the transactions after it (replaying the log from `startZxid + 1` makes it exact).
    struct Contents {
        var startZxid: Int64
        var tree: DataTree
        var sessions: [SessionEntry]
    }

    /// Parses and verifies a whole snapshot file.
    static func read(_ bytes: ByteBuffer, path: String) throws(PersistenceError) -> Contents {
        func corrupt(_ detail: String, at offset: Int? = nil) -> PersistenceError {
            PersistenceError(.corruptSnapshot, file: path, offset: offset.map(Int64.init), detail)
        }
        let size = bytes.readableBytes
        guard size >= headerSize + trailerSize else { throw corrupt("only \(size) bytes") }
        let start = bytes.readerIndex
        let magicValue = bytes.getInteger(at: start, as: UInt32.self)!
        if magicValue == apacheMagic {
            throw PersistenceError(
                .foreignFormat, file: path, offset: 0,
                "this is an Apache ZooKeeper snapshot; zkserver cannot read it (use another dataDir)")
        }
        guard magicValue == magic, bytes.getInteger(at: start + 4, as: UInt32.self)! == formatVersion else {
            throw corrupt("not a zkserver snapshot", at: 0)
        }
        guard bytes.getInteger(at: start + size - 4, as: UInt32.self)! == endMagic else {
            throw corrupt("the trailer is missing (the file is cut short)", at: size - trailerSize)
        }
        let storedCRC = bytes.getInteger(at: start + size - trailerSize, as: UInt32.self)!
        // The checksum (a tenth of the load of a large snapshot) is computed on another thread while the entries
        // are decoded; nothing decoded is used before it matches, and a mismatch is the error reported even when
        // the decoding failed too (the damage is then what made it fail).
        let checksum = BackgroundChecksum(of: bytes.getSlice(at: start, length: size - trailerSize)!)
        var buffer = bytes.getSlice(at: start, length: size - trailerSize)!
        buffer.moveReaderIndex(forwardBy: 8)
        let startZxid = buffer.readInteger(as: Int64.self)!
        buffer.moveReaderIndex(forwardBy: 8)
        let decoded: Result<Contents, PersistenceError>
        do {
            decoded = .success(try decodeEntries(&buffer, startZxid: startZxid))
        } catch let error as ProtocolError {
            decoded = .failure(corrupt("\(error.detail)", at: buffer.readerIndex))
        } catch {
            decoded = .failure(corrupt("\(error)", at: buffer.readerIndex))
        }
        let actualCRC = checksum.wait()
        guard storedCRC == actualCRC else {
            throw corrupt("checksum \(hex(actualCRC)) does not match \(hex(storedCRC))")
        }
        return try decoded.get()
    }

    private struct Frame {
        var node: Znode
        /// The node's path, built only when a descendant needs it (`path(of:)`).
        var path: String?
        var pathLength: Int
        var remaining: Int
    }

    /// The path of the node on top of the stack, built from its ancestors' names (and kept for its siblings).
    private static func pathOfTop(_ stack: inout [Frame]) -> String {
        var missing = stack.count - 1
        while stack[missing].path == nil { missing -= 1 }
        for index in (missing + 1)..<stack.count {
            let parent = stack[index - 1].path!
            stack[index].path = (parent == "/" ? "/" : parent + "/") + stack[index].node.name
        }
        return stack[stack.count - 1].path!
    }

    private static func decodeEntries(_ buffer: inout ByteBuffer, startZxid: Int64) throws -> Contents {
        var sessions: [SessionEntry] = []
        var aclCache = ACLCache()
        var aclIndexByLocal: [Int32: Int32] = [:]
        var tree: DataTree? = nil
        var stack: [Frame] = []
        var nodes: Int64 = 0
        // Nodes mostly share one ACL list: the last lookup is remembered.
        var lastACL: (local: Int32, index: Int32) = (-1, -1)
        while true {
            guard let rawTag = buffer.readInteger(as: UInt8.self), let tag = Tag(rawValue: rawTag) else {
                throw ProtocolError(.invalidValue, "unknown or missing entry tag")
            }
            switch tag {
            case .session:
                let id = try buffer.readJuteLong()
                let timeout = try buffer.readJuteInt()
                sessions.append(SessionEntry(id: id, timeout: timeout, password: try buffer.readJuteBuffer() ?? []))
            case .acl:
                let local = try buffer.readJuteInt()
                let list = try buffer.readJuteVector(of: ACL.self, minimumElementSize: ACL.minimumEncodedSize)
                // Counted once here so that the list stays while nodes refer to it; dropped again below.
                aclIndexByLocal[local] = aclCache.retain(list)
            case .node:
                let entry = try buffer.withUnsafeReadableBytes { raw in
                    try NodeEntry.read(raw) { local in
                        if local == lastACL.local { return lastACL.index }
                        guard let index = aclIndexByLocal[local] else { return nil }
                        lastACL = (local, index)
                        return index
                    }
                }
                buffer.moveReaderIndex(forwardBy: entry.size)
                let node = entry.node
                let aclIndex = node.aclIndex
                let childCount = entry.childCount
                let nameLength = entry.nameLength
                aclCache.retain(existing: aclIndex)
                if childCount > 0 { node.reserveChildren(childCount) }
                nodes += 1
                if tree == nil {
                    guard nameLength == 0 else {
                        throw ProtocolError(.invalidValue, "the first node is not the root")
                    }
                    tree = DataTree(restoredRoot: node, aclCache: ACLCache())
                    stack.append(Frame(node: node, path: "/", pathLength: 1, remaining: childCount))
                    continue
                }
                while let last = stack.last, last.remaining == 0 { stack.removeLast() }
                guard !stack.isEmpty, nameLength > 0, !entry.nameHasSlash else {
                    throw ProtocolError(.invalidValue, "node '\(node.name)' has no place in the tree")
                }
                let top = stack.count - 1
                stack[top].remaining -= 1
                if stack[top].node.insertChild(node) != nil {
                    throw ProtocolError(.invalidValue, "node \(node.name) appears twice under one parent")
                }
                let parentLength = stack[top].pathLength
                let pathLength = (parentLength == 1 ? 1 : parentLength + 1) + nameLength
                stack.append(Frame(node: node, path: nil, pathLength: pathLength, remaining: childCount))
                tree!.countRestored(node, pathLength: pathLength) { pathOfTop(&stack) }
                if childCount == 0 { stack.removeLast() }
            case .end:
                let nodeCount = try buffer.readJuteLong()
                let sessionCount = try buffer.readJuteLong()
                _ = try buffer.readJuteLong()
                guard var result = tree, nodeCount == nodes, sessionCount == Int64(sessions.count),
                    stack.allSatisfy({ $0.remaining == 0 }), buffer.readableBytes == 0
                else {
                    throw ProtocolError(.invalidValue, "the end entry does not match what came before it")
                }
                for index in aclIndexByLocal.values { aclCache.release(index) }
                result.aclCache = aclCache
                return Contents(startZxid: startZxid, tree: result, sessions: sessions)
            }
        }
    }
}

/// Serialises the state a chunk at a time on the event loop, while transactions go on between chunks (a fuzzy
/// snapshot, like Apache's). Each node is written as it is when visited, with the children its table had then
/// (child tables are copied on write, so the walk keeps a stable view of each). Replaying the log from `startZxid + 1`
/// over the result gives the exact state, because transactions carry absolute values (`TransactionBody`).
///
/// The walk runs on the event loop because nodes are mutable objects that only the loop may touch. It is kept
/// cheap there (profiled at 2 µs a node when each field went through `ByteBuffer.writeInteger`): each node is
/// stored field by field into the buffer's memory in one `writeWithUnsafeMutableBytes` call, and the walk's state
/// is moved out of the object for the duration of a step, so that the loop does not pay an exclusivity check per
/// access.
final class SnapshotWalker {
    let startZxid: Int64
    private var state = State()
    private var sessionCount: Int64 = 0
    private var started = false

    private struct State {
        var stack: [(children: [Znode], index: Int)] = []  // each parent's children as the walk met them
        var aclByIndex: [Int32: (local: Int32, list: [ACL])] = [:]
        /// The entry of `aclByIndex` used last (most nodes share one ACL list).
        var lastACL: (index: Int32, local: Int32, list: [ACL])?
        var nextLocalACL: Int32 = 0
        var nodeCount: Int64 = 0
    }

    var nodeCount: Int64 { state.nodeCount }

    init(startZxid: Int64) {
        self.startZxid = startZxid
    }

    /// The header and the sessions (small, so taken at once, consistent as of `startZxid`).
    func begin(sessions: [SnapshotFile.SessionEntry], wallMilliseconds: Int64, into buffer: inout ByteBuffer) {
        buffer.writeInteger(SnapshotFile.magic)
        buffer.writeInteger(SnapshotFile.formatVersion)
        buffer.writeInteger(startZxid)
        buffer.writeInteger(wallMilliseconds)
        for session in sessions {
            buffer.writeInteger(SnapshotFile.Tag.session.rawValue)
            buffer.writeJuteLong(session.id)
            buffer.writeJuteInt(session.timeout)
            buffer.writeJuteBuffer(session.password)
        }
        sessionCount = Int64(sessions.count)
    }

    /// Writes up to `budget` nodes of `tree`, stopping early once `buffer` holds `byteLimit` readable bytes;
    /// returns true once every node is written (the end entry too).
    func step(
        _ tree: DataTree, budget: Int, byteLimit: Int = .max, endZxid: Int64, into buffer: inout ByteBuffer
    ) -> Bool {
        var state = State()
        swap(&state, &self.state)
        defer { swap(&state, &self.state) }
        var budget = budget
        if !started {
            started = true
            Self.write(tree.root, tree: tree, state: &state, into: &buffer)
            budget -= 1
        }
        while budget > 0 && buffer.readableBytes < byteLimit {
            guard let top = state.stack.last else {
                buffer.writeInteger(SnapshotFile.Tag.end.rawValue)
                buffer.writeJuteLong(state.nodeCount)
                buffer.writeJuteLong(sessionCount)
                buffer.writeJuteLong(endZxid)
                return true
            }
            if top.index == top.children.endIndex {
                state.stack.removeLast()
                continue
            }
            let child = top.children[top.index]
            state.stack[state.stack.count - 1].index += 1
            Self.write(child, tree: tree, state: &state, into: &buffer)
            budget -= 1
        }
        return false
    }

    /// The bytes of a node entry besides its name and data: tag, two lengths, ACL index, five longs, three ints,
    /// the owner and the child count.
    static let nodeEntryFixedSize = 1 + 4 + 4 + 4 + 5 * 8 + 3 * 4 + 8 + 4

    private static func write(_ node: Znode, tree: DataTree, state: inout State, into buffer: inout ByteBuffer) {
        let local = localACL(of: node, tree: tree, state: &state, into: &buffer)
        let children = node.children
        node.withNameBytes { name in
            node.withDataBytes { data in
                let size = nodeEntryFixedSize + name.count + (data?.count ?? 0)
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { memory in
                    var out = RawWriter(memory.baseAddress!)
                    out.put(SnapshotFile.Tag.node.rawValue)
                    out.put(Int32(truncatingIfNeeded: name.count))
                    out.put(name)
                    if let data {
                        out.put(Int32(truncatingIfNeeded: data.count))
                        out.put(data)
                    } else {
                        out.put(Int32(-1))
                    }
                    out.put(local)
                    out.put(node.czxid)
                    out.put(node.mzxid)
                    out.put(node.pzxid)
                    out.put(node.ctime)
                    out.put(node.mtime)
                    out.put(node.version)
                    out.put(node.childCreations)
                    out.put(node.aversion)
                    out.put(node.ephemeralOwner)
                    out.put(Int32(truncatingIfNeeded: children.count))
                    return out.offset
                }
            }
        }
        state.nodeCount += 1
        if !children.isEmpty { state.stack.append((Array(children), 0)) }
    }

    /// The snapshot-local index of `node`'s ACL list, written first when this is its first use (or the tree's
    /// index now names another list: a fuzzy walk may see an index released and reused).
    private static func localACL(of node: Znode, tree: DataTree, state: inout State, into buffer: inout ByteBuffer)
        -> Int32
    {
        let index = node.aclIndex
        let list = tree.acl(of: node)
        if let last = state.lastACL, last.index == index, last.list == list { return last.local }
        if let known = state.aclByIndex[index], known.list == list {
            state.lastACL = (index, known.local, list)
            return known.local
        }
        let local = state.nextLocalACL
        state.nextLocalACL += 1
        state.aclByIndex[index] = (local, list)
        state.lastACL = (index, local, list)
        buffer.writeInteger(SnapshotFile.Tag.acl.rawValue)
        buffer.writeJuteInt(local)
        buffer.writeJuteVector(list)
        return local
    }

    /// The trailer for a file whose bytes before it have checksum `crc`.
    static func trailer(crc: UInt32) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(crc)
        buffer.writeInteger(SnapshotFile.endMagic)
        return buffer
    }
}

/// Stores big-endian integers and bytes one after the other into memory known to be large enough.
private struct RawWriter {
    let base: UnsafeMutableRawPointer
    private(set) var offset = 0

    init(_ base: UnsafeMutableRawPointer) {
        self.base = base
    }

    mutating func put<Value: FixedWidthInteger>(_ value: Value) {
        base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: Value.self)
        offset += MemoryLayout<Value>.size
    }

    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress else { return }
        (base + offset).copyMemory(from: source, byteCount: bytes.count)
        offset += bytes.count
    }
}

/// One node entry of a snapshot (after its tag), read straight from the file's bytes: a bounds check per part
/// rather than one per field through `ByteBuffer` (those took a fifth of the CPU of loading a million znodes), and
/// the name and data copied once, into the node.
private struct NodeEntry {
    var node: Znode
    var childCount: Int
    /// The name's UTF-8 bytes, and whether a '/' is among them.
    var nameLength: Int
    var nameHasSlash: Bool
    /// The bytes the entry took.
    var size: Int

    /// The fields after the name and data: the ACL list's local number, czxid, mzxid, pzxid, ctime, mtime, version,
    /// child creations, aversion, ephemeral owner and child count.
    static let fixedSize = 4 + 5 * 8 + 3 * 4 + 8 + 4

    /// Reads the entry at the start of `raw`; `aclIndex` turns the local number of an ACL list into its index in
    /// the tree's cache (nil: no list of that number came before).
    static func read(_ raw: UnsafeRawBufferPointer, aclIndex: (Int32) -> Int32?) throws(ProtocolError) -> NodeEntry {
        var reader = BigEndianReader(raw: raw)
        try reader.need(4, "node name length")
        let nameLength = max(0, Int(reader.int32()))
        guard nameLength <= reader.remaining, nameLength <= ZnodeFields.nameLengthLimit else {
            throw ProtocolError(.invalidLength, "node name of \(nameLength) bytes, \(reader.remaining) left")
        }
        let name = reader.bytes(nameLength)
        func nameText() -> String { String(decoding: name, as: UTF8.self) }
        try reader.need(4, "node data length")
        let dataLength = Int(reader.int32())
        guard dataLength >= -1, dataLength <= reader.remaining else {
            throw ProtocolError(.invalidLength, "node \(nameText()): data length \(dataLength)")
        }
        let data = dataLength < 0 ? nil : reader.bytes(dataLength)
        try reader.need(fixedSize, "node fields")
        let local = reader.int32()
        guard let index = aclIndex(local) else {
            throw ProtocolError(.invalidValue, "node \(nameText()) refers to an undefined ACL \(local)")
        }
        let czxid = reader.int64()
        let mzxid = reader.int64()
        let pzxid = reader.int64()
        let ctime = reader.int64()
        let mtime = reader.int64()
        let version = reader.int32()
        let childCreations = reader.int32()
        let aversion = reader.int32()
        let ephemeralOwner = reader.int64()
        let childCount = Int(reader.int32())
        // Each child takes at least a tag and an entry with an empty name and no data: no table is reserved for
        // more children than the bytes left can hold (the checksum is only known once the load is over).
        guard childCount >= 0, childCount <= reader.remaining / (1 + 8 + fixedSize) else {
            throw ProtocolError(.invalidCount, "node \(nameText()) claims \(childCount) children")
        }
        var ascii = true
        var slash = false
        for byte in name {
            if byte >= 0x80 { ascii = false }
            if byte == UInt8(ascii: "/") { slash = true }
        }
        // A name that is not ASCII goes through String, which replaces invalid UTF-8 as the reader always did.
        let node =
            ascii
            ? Znode(
                nameBytes: name, zxid: czxid, time: ctime, dataBytes: data, aclIndex: index,
                ephemeralOwner: ephemeralOwner)
            : Znode(
                name: nameText(), zxid: czxid, time: ctime, dataBytes: data, aclIndex: index,
                ephemeralOwner: ephemeralOwner)
        node.mzxid = mzxid
        node.pzxid = pzxid
        node.mtime = mtime
        node.version = version
        node.childCreations = childCreations
        node.aversion = aversion
        return NodeEntry(
            node: node, childCount: childCount, nameLength: ascii ? nameLength : node.name.utf8.count,
            nameHasSlash: slash, size: reader.offset)
    }
}

/// Big-endian integers and byte runs from raw memory; the caller checks that they are there (`need`).
private struct BigEndianReader {
    let raw: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(raw: UnsafeRawBufferPointer) {
        self.raw = raw
    }

    var remaining: Int { raw.count - offset }

    func need(_ count: Int, _ what: String) throws(ProtocolError) {
        guard remaining >= count else {
            throw ProtocolError(.truncated, "\(what) needs \(count) bytes, \(remaining) left")
        }
    }

    mutating func int32() -> Int32 {
        defer { offset += 4 }
        return Int32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }

    mutating func int64() -> Int64 {
        defer { offset += 8 }
        return Int64(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    mutating func bytes(_ count: Int) -> UnsafeRawBufferPointer {
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])
    }
}

/// The CRC-32 of a buffer, computed on a thread of Dispatch's pool.
private final class BackgroundChecksum: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    /// Written by the pool's thread before `finished` is signalled, read after waiting for it.
    private var value: UInt32 = 0

    init(of bytes: ByteBuffer) {
        DispatchQueue.global().async {
            self.value = bytes.withUnsafeReadableBytes { CRC32.checksum($0) }
            self.finished.signal()
        }
    }

    func wait() -> UInt32 {
        finished.wait()
        return value
    }
}
