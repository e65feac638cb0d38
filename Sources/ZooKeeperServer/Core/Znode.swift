import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One znode, in one allocation: the fields every node needs, then its ephemeral owner (only when it has one), its
/// name's UTF-8 bytes and its data's bytes. A class so that the tree links nodes without copying, and so that a
/// node keeps its identity while it changes (undo records and the snapshot walk hold nodes).
///
/// Laid out for a small footprint (BENCHMARKS.md, "Memory per znode"): most nodes are created and never changed, so
/// their stat is czxid and ctime alone (mzxid = czxid, mtime = ctime, pzxid = czxid, versions 0). Whatever differs
/// from that — a setData's mzxid, mtime and version, a setACL's aversion, children with pzxid and child creations,
/// data larger than the room it was created with — lives in a `ZnodeExtras` made on the first such change. The
/// fixed fields take 28 bytes (`ZnodeFields`): czxid and ctime share their words with the name's length, the ACL
/// index and the flags, as real zxids and times leave the top 16 bits of 64 unused. A node of 100 bytes of data and
/// an 8-byte name is then a 152-byte request to malloc, which glibc serves with a 160-byte chunk (a request of
/// 153–168 bytes takes 176). Its stat is stored as Apache stores it (`StatPersisted`): `childCreations` counts
/// child creations, and the reported cversion is derived from it.
final class Znode: ManagedBuffer<ZnodeFields, UInt8> {
    /// Bytes to copy in, valid only for the duration of the call that they are passed to.
    typealias Bytes = UnsafeRawBufferPointer

    fileprivate static func make(
        nameBytes: Bytes, data: Bytes?, zxid: Int64, time: Int64, aclIndex: Int32, ephemeralOwner: Int64
    ) -> Znode {
        precondition(nameBytes.count <= ZnodeFields.nameLengthLimit, "a znode name of \(nameBytes.count) bytes")
        let ownerBytes = ephemeralOwner == 0 ? 0 : ZnodeFields.ownerSize
        let compact = ZnodeFields.fitsCompactly(zxid: zxid, time: time, nameLength: nameBytes.count)
        let wideBytes = compact ? 0 : ZnodeFields.wideSize
        var flags: Int64 = ephemeralOwner == 0 ? 0 : ZnodeFields.ownerFlag
        if !compact { flags |= ZnodeFields.wideFlag }
        let fields = ZnodeFields(
            extras: nil,
            czxidAndNameLength: compact ? zxid << 16 | Int64(nameBytes.count) : 0,
            ctimeACLAndFlags: (compact ? time << 16 : 0) | ZnodeFields.inlineACLBits(aclIndex) | flags,
            dataLength: data.map { Int32(truncatingIfNeeded: $0.count) } ?? -1)
        let prefix = ownerBytes + wideBytes
        // `create` allocates an instance of the class it is called on; the cast cannot fail.
        let node = unsafeDowncast(
            create(minimumCapacity: prefix + nameBytes.count + (data?.count ?? 0)) { _ in fields }, to: Znode.self)
        node.withUnsafeMutablePointerToElements { elements in
            let tail = UnsafeMutableRawPointer(elements)
            if ownerBytes > 0 { tail.storeBytes(of: ephemeralOwner, as: Int64.self) }
            if wideBytes > 0 {
                (tail + ownerBytes).storeBytes(of: zxid, as: Int64.self)
                (tail + ownerBytes + 8).storeBytes(of: time, as: Int64.self)
                (tail + ownerBytes + 16).storeBytes(of: Int64(nameBytes.count), as: Int64.self)
            }
            if let base = nameBytes.baseAddress {
                (tail + prefix).copyMemory(from: base, byteCount: nameBytes.count)
            }
            if let data, let base = data.baseAddress {
                (tail + prefix + nameBytes.count).copyMemory(from: base, byteCount: data.count)
            }
        }
        if !ZnodeFields.aclIndexFitsInline(aclIndex) { node.extras.aclIndex = aclIndex }
        return node
    }

    fileprivate static func make(
        name: some StringProtocol, data: Bytes?, zxid: Int64, time: Int64, aclIndex: Int32, ephemeralOwner: Int64
    ) -> Znode {
        var name = String(name)
        return name.withUTF8 {
            make(
                nameBytes: Bytes($0), data: data, zxid: zxid, time: time, aclIndex: aclIndex,
                ephemeralOwner: ephemeralOwner)
        }
    }

    // MARK: Stat fields

    /// The packed words, read through the header's pointer: a read of `header` is an access to the class's stored
    /// property, with a runtime exclusivity check, and these are read on every lookup and stat.
    private var flagsWord: Int64 { withUnsafeMutablePointerToHeader { $0.pointee.ctimeACLAndFlags } }

    /// czxid and ctime, from the packed words or the wide form.
    private var creation: (czxid: Int64, ctime: Int64) {
        let (flags, czxidWord) = withUnsafeMutablePointerToHeader {
            ($0.pointee.ctimeACLAndFlags, $0.pointee.czxidAndNameLength)
        }
        if flags & ZnodeFields.wideFlag == 0 { return (czxidWord >> 16, flags >> 16) }
        return (wideField(at: 0), wideField(at: 8))
    }

    /// Where the name lies in the tail: after the owner and the wide form's fields, when the node has them. Read
    /// through the header's pointer, with no exclusivity check, so that a loop of these is a run of independent
    /// loads (see `ChildTable.names`).
    fileprivate var nameRange: (offset: Int, length: Int) {
        let (flags, czxidWord) = withUnsafeMutablePointerToHeader {
            ($0.pointee.ctimeACLAndFlags, $0.pointee.czxidAndNameLength)
        }
        let owner = flags & ZnodeFields.ownerFlag == 0 ? 0 : ZnodeFields.ownerSize
        if flags & ZnodeFields.wideFlag == 0 {
            return (owner, Int(czxidWord & ZnodeFields.inlineNameLengthMask))
        }
        return (owner + ZnodeFields.wideSize, Int(wideField(at: 16)))
    }

    /// The wide form's field at `offset` (0: czxid, 8: ctime, 16: name length).
    private func wideField(at offset: Int) -> Int64 {
        let start = ownerBytes + offset
        return withUnsafeMutablePointerToElements { UnsafeRawPointer($0 + start).loadUnaligned(as: Int64.self) }
    }

    var czxid: Int64 { creation.czxid }
    var ctime: Int64 { creation.ctime }

    var aclIndex: Int32 {
        get {
            let inline = flagsWord >> ZnodeFields.aclShift & ZnodeFields.aclMask
            return inline == ZnodeFields.aclMask ? (header.extras?.aclIndex ?? 0) : Int32(inline)
        }
        set {
            if !ZnodeFields.aclIndexFitsInline(newValue) { extras.aclIndex = newValue }
            header.ctimeACLAndFlags =
                header.ctimeACLAndFlags & ~(ZnodeFields.aclMask << ZnodeFields.aclShift)
                | ZnodeFields.inlineACLBits(newValue)
        }
    }

    var mzxid: Int64 {
        get { header.extras?.mzxid ?? czxid }
        set { if header.extras != nil || newValue != czxid { extras.mzxid = newValue } }
    }

    var mtime: Int64 {
        get { header.extras?.mtime ?? ctime }
        set { if header.extras != nil || newValue != ctime { extras.mtime = newValue } }
    }

    var pzxid: Int64 {
        get { header.extras?.pzxid ?? czxid }
        set { if header.extras != nil || newValue != czxid { extras.pzxid = newValue } }
    }

    var version: Int32 {
        get { header.extras?.version ?? 0 }
        set { if header.extras != nil || newValue != 0 { extras.version = newValue } }
    }

    /// Child creations so far; also the next sequence number. Reported cversion = 2·this − numChildren.
    var childCreations: Int32 {
        get { header.extras?.childCreations ?? 0 }
        set { if header.extras != nil || newValue != 0 { extras.childCreations = newValue } }
    }

    var aversion: Int32 {
        get { header.extras?.aversion ?? 0 }
        set { if header.extras != nil || newValue != 0 { extras.aversion = newValue } }
    }

    /// The node's extras, made (with the values a node has without them) on first use.
    private var extras: ZnodeExtras {
        if let extras = header.extras { return extras }
        let made = ZnodeExtras(czxid: czxid, ctime: ctime)
        header.extras = made
        return made
    }

    /// The stat clients see.
    var stat: Stat {
        let extras = header.extras
        let (czxid, ctime) = creation
        let childCount = Int32(truncatingIfNeeded: extras?.children.count ?? 0)
        return Stat(
            czxid: czxid, mzxid: extras?.mzxid ?? czxid, ctime: ctime, mtime: extras?.mtime ?? ctime,
            version: extras?.version ?? 0, cversion: (extras?.childCreations ?? 0) &* 2 &- childCount,
            aversion: extras?.aversion ?? 0, ephemeralOwner: kind.clientVisibleOwner,
            dataLength: max(0, header.dataLength), numChildren: childCount, pzxid: extras?.pzxid ?? czxid)
    }

    // MARK: Name, owner, data

    private var ownerBytes: Int { flagsWord & ZnodeFields.ownerFlag == 0 ? 0 : ZnodeFields.ownerSize }
    private var dataIsInExtras: Bool { flagsWord & ZnodeFields.dataInExtrasFlag != 0 }

    /// The last component of the node's path ("" for the root).
    var name: String { name(in: nameRange) }

    /// Raw owner: a session id for ephemerals, `EphemeralKind` markers for containers and TTL nodes, 0 otherwise.
    var ephemeralOwner: Int64 {
        guard ownerBytes > 0 else { return 0 }
        return withUnsafeMutablePointerToElements { UnsafeRawPointer($0).loadUnaligned(as: Int64.self) }
    }

    var kind: EphemeralKind { EphemeralKind(rawOwner: ephemeralOwner) }

    /// The name's UTF-8 bytes, without making a String.
    func withNameBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let (offset, length) = nameRange
        return try withUnsafeMutablePointerToElements { elements in
            try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(elements) + offset, count: length))
        }
    }

    /// The data's length (0 for none), without copying it.
    var dataLength: Int { max(0, Int(header.dataLength)) }

    /// The data's bytes (nil: no data), without copying them.
    func withDataBytes<Result>(_ body: (UnsafeRawBufferPointer?) throws -> Result) rethrows -> Result {
        let length = Int(header.dataLength)
        guard length >= 0 else { return try body(nil) }
        if dataIsInExtras, let spilled = header.extras?.spilledData {
            return try spilled.withUnsafeBytes { try body($0) }
        }
        let name = nameRange
        let offset = name.offset + name.length
        return try withUnsafeMutablePointerToElements { elements in
            try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(elements) + offset, count: length))
        }
    }

    /// The data, copied out (an array kept in the extras is shared instead). A new value is written in place
    /// when it fits in the room the node has after its name, and kept in the extras otherwise.
    var data: [UInt8]? {
        get {
            if dataIsInExtras, let spilled = header.extras?.spilledData { return spilled }
            return withDataBytes { $0.map { Array($0) } }
        }
        set {
            guard let newValue else {
                dropSpilledData()
                header.dataLength = -1
                return
            }
            let name = nameRange
            let offset = name.offset + name.length
            if newValue.count <= capacity - offset {
                dropSpilledData()
                newValue.withUnsafeBytes { bytes in
                    guard let base = bytes.baseAddress else { return }
                    withUnsafeMutablePointerToElements { elements in
                        (UnsafeMutableRawPointer(elements) + offset).copyMemory(from: base, byteCount: bytes.count)
                    }
                }
            } else {
                extras.spilledData = newValue
                header.ctimeACLAndFlags |= ZnodeFields.dataInExtrasFlag
            }
            header.dataLength = Int32(truncatingIfNeeded: newValue.count)
        }
    }

    private func dropSpilledData() {
        guard dataIsInExtras else { return }
        header.ctimeACLAndFlags &= ~ZnodeFields.dataInExtrasFlag
        header.extras?.spilledData = nil
    }
    // MARK: Children

    /// Children by name, in a table of node references (the names are the children's own).
    var children: ChildTable { header.extras?.children ?? ChildTable() }

    var childCount: Int { header.extras?.children.count ?? 0 }

    /// The children's names, in the table's order (a hash order, as Apache's `HashSet` gives them).
    var childNames: [String] { children.names() }

    /// The name, lying at `range` of the tail (as `nameRange` gives it).
    fileprivate func name(in range: (offset: Int, length: Int)) -> String {
        withUnsafeMutablePointerToElements { elements in
            String(
                decoding: UnsafeRawBufferPointer(start: UnsafeRawPointer(elements) + range.offset, count: range.length),
                as: UTF8.self)
        }
    }

    func child(named name: some StringProtocol) -> Znode? { header.extras?.children.find(name) }

    /// Links `child` under this node; returns the child it replaces, if one had that name.
    @discardableResult
    func insertChild(_ child: Znode) -> Znode? { extras.children.insert(child) }

    /// Unlinks and returns the child called `name`, if there is one.
    @discardableResult
    func removeChild(named name: some StringProtocol) -> Znode? { header.extras?.children.remove(name) }

    func reserveChildren(_ count: Int) { extras.children.reserve(count) }

    fileprivate func nameEquals(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let (offset, length) = nameRange
        guard length == bytes.count else { return false }
        return withUnsafeMutablePointerToElements { elements in
            Znode.compare(UnsafeRawBufferPointer(start: UnsafeRawPointer(elements) + offset, count: length), bytes) == 0
        }
    }

    fileprivate var nameHash: Int { withNameBytes(ChildTable.hash) }

    /// Byte-wise order of two names: negative, 0 or positive as `a` sorts before, with or after `b`.
    static func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = min(a.count, b.count)
        if common > 0, let left = a.baseAddress, let right = b.baseAddress {
            let order = memcmp(left, right, common)
            if order != 0 { return Int(order) }
        }
        return a.count - b.count
    }
}

/// What every znode holds in its own allocation, before its owner, name and data: 28 bytes.
///
/// czxid and ctime are kept in the top 48 bits of a word each (sign-extended), which holds any zxid of an epoch
/// below 2^15 and any time in milliseconds within 4,000 years of 1970; the low 16 bits hold the name's length, and
/// the ACL index with the flags. A node whose czxid, ctime or name length does not fit takes the wide form: the
/// three are kept whole after the owner (`wideFlag`, 24 bytes) and those fields hold 0. An ACL index that does
/// not fit in its 13 bits is kept in the extras (the bits then hold `aclMask`).
struct ZnodeFields {
    /// The fields that differ from a fresh node's (nil: none do).
    var extras: ZnodeExtras?
    /// czxid << 16 | the name's byte count.
    var czxidAndNameLength: Int64
    /// ctime << 16 | the ACL index << 3 | flags: an ephemeral owner precedes the name; the wide form; the data is
    /// kept in the extras (it outgrew the room after the name).
    var ctimeACLAndFlags: Int64
    /// -1: no data (a null buffer, which clients see as such).
    var dataLength: Int32

    static let ownerFlag: Int64 = 1 << 0
    static let wideFlag: Int64 = 1 << 1
    static let dataInExtrasFlag: Int64 = 1 << 2
    static let aclShift: Int64 = 3
    /// The ACL index's bits, all set when the index is kept in the extras.
    static let aclMask: Int64 = (1 << 13) - 1
    static let inlineNameLengthMask: Int64 = (1 << 16) - 1
    /// The longest name a node takes.
    static let nameLengthLimit = (1 << 30) - 1
    static let ownerSize = MemoryLayout<Int64>.size
    /// czxid, ctime and the name's length, whole.
    static let wideSize = 3 * MemoryLayout<Int64>.size

    /// Whether a value survives being kept in the top 48 bits of a word.
    static func fitsIn48Bits(_ value: Int64) -> Bool { (value << 16) >> 16 == value }

    static func fitsCompactly(zxid: Int64, time: Int64, nameLength: Int) -> Bool {
        fitsIn48Bits(zxid) && fitsIn48Bits(time) && nameLength <= inlineNameLengthMask
    }

    static func aclIndexFitsInline(_ index: Int32) -> Bool { index >= 0 && Int64(index) < aclMask }

    /// The ACL index's bits of `ctimeACLAndFlags`: the index, or `aclMask` when the extras keep it.
    static func inlineACLBits(_ index: Int32) -> Int64 {
        (aclIndexFitsInline(index) ? Int64(index) : aclMask) << aclShift
    }
}

/// The parts of a znode that most nodes never need: made on a node's first setData, setACL or child, data that
/// outgrows the room after its name, or an ACL index too large for the fixed fields.
final class ZnodeExtras {
    var mzxid: Int64
    var mtime: Int64
    var pzxid: Int64
    var version: Int32 = 0
    var childCreations: Int32 = 0
    var aversion: Int32 = 0
    /// The ACL index, when it does not fit in the node's fixed fields (`ZnodeFields.aclMask`).
    var aclIndex: Int32 = 0
    var children = ChildTable()
    /// The data, when it does not fit after the name (`ZnodeFields.dataInExtrasFlag`).
    var spilledData: [UInt8]?

    init(czxid: Int64, ctime: Int64) {
        mzxid = czxid
        mtime = ctime
        pzxid = czxid
    }
}

/// The construction of a znode, as initialisers (a `ManagedBuffer` is made by its class's `create`).
protocol ZnodeConstruction {}

extension Znode: ZnodeConstruction {}

extension ZnodeConstruction where Self == Znode {
    init(
        name: some StringProtocol, zxid: Int64, time: Int64, data: [UInt8]?, aclIndex: Int32, ephemeralOwner: Int64
    ) {
        self =
            if let data {
                data.withUnsafeBytes {
                    Znode.make(
                        name: name, data: $0, zxid: zxid, time: time, aclIndex: aclIndex,
                        ephemeralOwner: ephemeralOwner)
                }
            } else {
                Znode.make(
                    name: name, data: nil, zxid: zxid, time: time, aclIndex: aclIndex, ephemeralOwner: ephemeralOwner)
            }
    }

    /// A node whose data is copied from `dataBytes` (nil: no data), e.g. straight out of a snapshot's buffer.
    init(
        name: some StringProtocol, zxid: Int64, time: Int64, dataBytes: Znode.Bytes?, aclIndex: Int32,
        ephemeralOwner: Int64
    ) {
        self = Znode.make(
            name: name, data: dataBytes, zxid: zxid, time: time, aclIndex: aclIndex, ephemeralOwner: ephemeralOwner)
    }

    /// A node whose name (valid UTF-8) and data are copied from bytes, e.g. straight out of a snapshot's buffer.
    init(
        nameBytes: Znode.Bytes, zxid: Int64, time: Int64, dataBytes: Znode.Bytes?, aclIndex: Int32,
        ephemeralOwner: Int64
    ) {
        self = Znode.make(
            nameBytes: nameBytes, data: dataBytes, zxid: zxid, time: time, aclIndex: aclIndex,
            ephemeralOwner: ephemeralOwner)
    }
}

/// Kept for the snapshot reader, which names the bytes it hands to `Znode(name:zxid:time:dataBytes:...)` so.
enum ZnodePayload {
    typealias Bytes = Znode.Bytes
}

/// A hash table of child nodes keyed by the names they hold: open addressing with linear probing, at most 3/4
/// full, deletions by backward shift (no tombstones). Its capacity grows by half, not double (a hash's high bits
/// pick the home slot, so any capacity works), which keeps a slot array 1/2 to 3/4 full: 11–16 bytes a child.
/// Its slots are a Swift array, so a copy (the snapshot walk keeps one per parent it is in) stays as it was while
/// the node changes. Names hash with the process's seeded `Hasher`, as a Dictionary's keys would.
struct ChildTable: Sequence {
    private var slots: [Znode?] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: bytes)
        return hasher.finalize()
    }

    func find(_ name: some StringProtocol) -> Znode? {
        guard count > 0 else { return nil }
        return Self.withBytes(of: name) { bytes in
            let index = slotIndex(of: bytes)
            return index.map { slots[$0]! }
        }
    }

    /// Adds `node`, or puts it in the place of the node of the same name, which it returns.
    mutating func insert(_ node: Znode) -> Znode? {
        if (count + 1) * 4 > slots.count * 3 { resize(to: Swift.max(4, slots.count + slots.count / 2)) }
        let capacity = slots.count
        var index = Self.home(of: node.nameHash, capacity: capacity)
        while let existing = slots[index] {
            if existing.withNameBytes({ node.nameEquals($0) }) {
                slots[index] = node
                return existing
            }
            index += 1
            if index == capacity { index = 0 }
        }
        slots[index] = node
        count += 1
        return nil
    }

    mutating func remove(_ name: some StringProtocol) -> Znode? {
        guard count > 0 else { return nil }
        guard let found = Self.withBytes(of: name, { slotIndex(of: $0) }) else { return nil }
        let removed = slots[found]!
        count -= 1
        if count == 0 {
            slots = []
            return removed
        }
        // Backward shift: move up each following entry whose home slot is not between the hole and it.
        let capacity = slots.count
        var hole = found
        var next = hole + 1 == capacity ? 0 : hole + 1
        slots[hole] = nil
        while let candidate = slots[next] {
            let home = Self.home(of: candidate.nameHash, capacity: capacity)
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if !stays {
                slots[hole] = candidate
                slots[next] = nil
                hole = next
            }
            next = next + 1 == capacity ? 0 : next + 1
        }
        return removed
    }

    /// Room for `total` children without growing.
    mutating func reserve(_ total: Int) {
        let capacity = Swift.max(4, (total * 4 + 2) / 3)
        if capacity > slots.count { resize(to: capacity) }
    }

    /// The children's names, in table order. The children lie scattered over the heap, and reading their names
    /// one after another waits out a cache miss per child (two thirds of a getChildren of 100,000 children did):
    /// so each group of children has its name fields loaded first, in a loop of independent loads that the
    /// processor overlaps, and the names are then read from the cache.
    func names() -> [String] {
        var names: [String] = []
        names.reserveCapacity(count)
        let groupSize = 16
        slots.withUnsafeBufferPointer { slots in
            withUnsafeTemporaryAllocation(of: (offset: Int, length: Int).self, capacity: groupSize) { ranges in
                var start = 0
                while start < slots.count {
                    let end = Swift.min(start + groupSize, slots.count)
                    for index in start..<end { ranges[index - start] = slots[index]?.nameRange ?? (0, 0) }
                    for index in start..<end {
                        if let node = slots[index] { names.append(node.name(in: ranges[index - start])) }
                    }
                    start = end
                }
            }
        }
        return names
    }

    func makeIterator() -> some IteratorProtocol<Znode> {
        slots.lazy.compactMap { $0 }.makeIterator()
    }

    /// The slot a hash starts probing at: its high bits scaled to the capacity.
    private static func home(of hash: Int, capacity: Int) -> Int {
        Int(truncatingIfNeeded: UInt(bitPattern: hash).multipliedFullWidth(by: UInt(capacity)).high)
    }

    private func slotIndex(of bytes: UnsafeRawBufferPointer) -> Int? {
        let capacity = slots.count
        var index = Self.home(of: Self.hash(bytes), capacity: capacity)
        while let node = slots[index] {
            if node.nameEquals(bytes) { return index }
            index += 1
            if index == capacity { index = 0 }
        }
        return nil
    }

    private mutating func resize(to capacity: Int) {
        let old = slots
        slots = Array(repeating: nil, count: capacity)
        for case let node? in old {
            var index = Self.home(of: node.nameHash, capacity: capacity)
            while slots[index] != nil {
                index += 1
                if index == capacity { index = 0 }
            }
            slots[index] = node
        }
    }

    private static func withBytes<Result>(
        of name: some StringProtocol, _ body: (UnsafeRawBufferPointer) -> Result
    ) -> Result {
        if let result = name.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        let bytes = Array(name.utf8)
        return bytes.withUnsafeBytes(body)
    }
}
