import NIOCore
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Applies the log records that are plain creates straight from their bytes, during recovery: a log that built
/// a tree is mostly creates, and decoding each into a `Transaction` (a path String, a data array, an ACL array)
/// and looking its parent up component by component cost most of a log-only recovery (profiled: 3 µs per
/// create, of which decoding 12 % and `applyBody`'s strings, lookups and watch events 41 %).
///
/// A create takes this path when it is the common case: an ASCII path outside `/zookeeper` (quota and config
/// nodes keep the general path, with its quota hooks), a parent that exists, and no node already at the path
/// (a log replayed over a fuzzy snapshot may meet one: the general path replaces it with its subtree). It then
/// has exactly `ServerCore.replay`'s effect on the tree, the ACL references and the per-namespace write
/// statistics, except the quota statistics, which recovery rebuilds once at the end
/// (`DataTree.rebuildQuotaStatistics`). Anything else returns false, and the caller applies the record the
/// general way after `invalidate()`.
///
/// Consecutive creates mostly share a parent and an ACL (a tree built level by level, sequential nodes under one
/// parent), so the last parent and the last ACL list are kept by their bytes. Both stay valid while only
/// creates that took this path follow (they only add nodes and ACL references); any other record invalidates
/// them, since it may delete the parent or release the list.
struct CreateReplayer {
    let core: ServerCore
    private var parentPath: [UInt8] = []
    private var parent: Znode?
    /// The parent's top-level component, the key of the per-namespace write statistics.
    private var namespace = ""
    private var aclBytes: [UInt8] = []
    private var aclIndex: Int32?
    /// The highest zxid applied here, handed to the core by `finish()`.
    private var lastZxid: Int64?
    private var now: Int64
    private var sinceClockRead = 0

    init(core: ServerCore) {
        self.core = core
        now = core.clock.monotonicMilliseconds()
    }

    /// Forgets the parent and ACL kept from earlier creates (another kind of record follows).
    mutating func invalidate() {
        parent = nil
        parentPath.removeAll(keepingCapacity: true)
        aclIndex = nil
    }

    /// Makes the core's last zxid cover every create applied here.
    mutating func finish() {
        guard let zxid = lastZxid else { return }
        lastZxid = nil
        // A transaction that changes nothing ("error": a failed write's zxid) moves the core's last zxid.
        core.replay(Transaction(zxid: zxid, time: 0, sessionID: 0, body: .error(.ok)))
    }

    /// Applies `payload` (a whole log record's payload, checksum verified) if it is a create of the common case;
    /// returns false, having changed nothing, otherwise.
    mutating func apply(_ payload: ByteBuffer) -> Bool {
        payload.withUnsafeReadableBytes { bytes in apply(bytes) }
    }

    private mutating func apply(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var reader = RawReader(bytes)
        guard let zxid = reader.int64(), let time = reader.int64(), reader.skip(8),
            reader.int32() == TransactionCodec.Tag.create.rawValue,
            let path = reader.lengthPrefixed(), path.count >= 2, path[0] == UInt8(ascii: "/"),
            let dataLength = reader.int32(), dataLength >= -1
        else { return false }
        let data = dataLength < 0 ? nil : reader.take(count: Int(dataLength))
        guard dataLength < 0 || data != nil else { return false }
        let aclStart = reader.offset
        guard let aclCount = reader.int32(), aclCount >= 0 else { return false }
        for _ in 0..<aclCount {
            guard reader.skip(4), reader.lengthPrefixed() != nil, reader.lengthPrefixed() != nil else { return false }
        }
        let acl = UnsafeRawBufferPointer(rebasing: bytes[aclStart..<reader.offset])
        guard let owner = reader.int64(), let parentChildCreations = reader.int32(), reader.isAtEnd else {
            return false
        }

        // The path: ASCII (so that its UTF-16 length, which the statistics count, is its byte count), not under
        // /zookeeper, with a non-empty last component.
        var lastSlash = 0
        for index in path.indices {
            let byte = path[index]
            if byte >= 0x80 { return false }
            if byte == UInt8(ascii: "/") { lastSlash = index }
        }
        guard lastSlash < path.count - 1 else { return false }
        let parentBytes = UnsafeRawBufferPointer(rebasing: path[0..<max(lastSlash, 1)])
        let nameBytes = UnsafeRawBufferPointer(rebasing: path[(lastSlash + 1)...])

        guard let parent = lookUpParent(parentBytes) else { return false }
        let name = String(decoding: nameBytes, as: UTF8.self)
        guard parent.child(named: name) == nil else { return false }

        let aclIndex: Int32
        if let known = self.aclIndex, Self.equal(acl, aclBytes) {
            core.tree.aclCache.retain(existing: known)
            aclIndex = known
        } else {
            var buffer = ByteBuffer(bytes: acl)
            guard let list = try? buffer.readJuteVector(of: ACL.self, minimumElementSize: ACL.minimumEncodedSize)
            else { return false }
            aclIndex = core.tree.aclCache.retain(list)
            aclBytes = Array(acl)
            self.aclIndex = aclIndex
        }

        let node = Znode(
            name: name, zxid: zxid, time: time, dataBytes: data, aclIndex: aclIndex, ephemeralOwner: owner)
        parent.insertChild(node)
        parent.childCreations = parentChildCreations
        parent.pzxid = max(parent.pzxid, zxid)
        core.tree.countRestored(node, pathLength: path.count) { String(decoding: path, as: UTF8.self) }

        sinceClockRead += 1
        if sinceClockRead == 1 << 16 {
            sinceClockRead = 0
            now = core.clock.monotonicMilliseconds()
        }
        core.activity.writesPerNamespace[
            namespace, default: QuantileSummary(capacity: CoreActivity.namespaceCapacity)
        ].observe(Int64(path.count + (data?.count ?? 0)), at: now)
        lastZxid = zxid
        return true
    }

    /// Byte-wise equality (the generic `elementsEqual` cost 4 % of a replay).
    private static func equal(_ bytes: UnsafeRawBufferPointer, _ array: [UInt8]) -> Bool {
        guard bytes.count == array.count else { return false }
        guard let base = bytes.baseAddress, !array.isEmpty else { return true }
        return array.withUnsafeBytes { memcmp(base, $0.baseAddress!, bytes.count) == 0 }
    }

    /// The node at `path` (a parent path), from the last create's parent when it is the same; nil when there is
    /// none, or it is the root (whose children are each a namespace of their own) or under /zookeeper.
    private mutating func lookUpParent(_ path: UnsafeRawBufferPointer) -> Znode? {
        if let parent, Self.equal(path, parentPath) { return parent }
        guard path.count > 1 else { return nil }
        var end = 1
        while end < path.count && path[end] != UInt8(ascii: "/") { end += 1 }
        let namespace = String(decoding: UnsafeRawBufferPointer(rebasing: path[1..<end]), as: UTF8.self)
        guard namespace != "zookeeper", let found = core.tree.node(at: String(decoding: path, as: UTF8.self)) else {
            return nil
        }
        parent = found
        parentPath.removeAll(keepingCapacity: true)
        parentPath.append(contentsOf: path)
        self.namespace = namespace
        return found
    }
}

/// Big-endian jute fields out of raw bytes, with nil instead of a read past the end.
private struct RawReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func skip(_ count: Int) -> Bool {
        guard bytes.count - offset >= count else { return false }
        offset += count
        return true
    }

    mutating func int32() -> Int32? {
        guard bytes.count - offset >= 4 else { return nil }
        defer { offset += 4 }
        return Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }

    mutating func int64() -> Int64? {
        guard bytes.count - offset >= 8 else { return nil }
        defer { offset += 8 }
        return Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    /// A length-prefixed string or buffer that is not null.
    mutating func lengthPrefixed() -> UnsafeRawBufferPointer? {
        guard let length = int32(), length >= 0 else { return nil }
        return take(count: Int(length))
    }

    mutating func take(count: Int) -> UnsafeRawBufferPointer? {
        guard bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }
}
