import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One znode. A class so that the tree links nodes without copying; its stat is stored as Apache stores it
/// (`StatPersisted`): `childCreations` counts child creations, and the reported cversion is derived from it.
///
/// Laid out for a small footprint (BENCHMARKS.md, "Memory per znode"): the fields that change in place sit in
/// the object (88 bytes), the name, the data and the ephemeral owner — which change only all at once, by a new
/// `ZnodePayload` — in one exactly sized allocation, and the children in a `ChildTable` of references (8 bytes a
/// slot, the name being held once, by the child).
final class Znode {
    var czxid: Int64
    var mzxid: Int64
    var pzxid: Int64
    var ctime: Int64
    var mtime: Int64
    var version: Int32
    /// Child creations so far; also the next sequence number. Reported cversion = 2·this − numChildren.
    var childCreations: Int32
    var aversion: Int32
    var aclIndex: Int32
    private var payload: ZnodePayload
    /// Children by name, in a table of node references (8 bytes a slot; the names are the children's own).
    private(set) var children = ChildTable()

    convenience init(
        name: some StringProtocol, zxid: Int64, time: Int64, data: [UInt8]?, aclIndex: Int32,
        ephemeralOwner: Int64
    ) {
        let payload =
            if let data {
                data.withUnsafeBytes { ZnodePayload.make(name: name, data: $0, ephemeralOwner: ephemeralOwner) }
            } else {
                ZnodePayload.make(name: name, data: nil, ephemeralOwner: ephemeralOwner)
            }
        self.init(payload: payload, zxid: zxid, time: time, aclIndex: aclIndex)
    }

    /// A node whose data is copied from `dataBytes` (nil: no data), e.g. straight out of a snapshot's buffer.
    convenience init(
        name: some StringProtocol, zxid: Int64, time: Int64, dataBytes: ZnodePayload.Bytes?, aclIndex: Int32,
        ephemeralOwner: Int64
    ) {
        self.init(
            payload: ZnodePayload.make(name: name, data: dataBytes, ephemeralOwner: ephemeralOwner), zxid: zxid,
            time: time, aclIndex: aclIndex)
    }

    private init(payload: ZnodePayload, zxid: Int64, time: Int64, aclIndex: Int32) {
        czxid = zxid
        mzxid = zxid
        pzxid = zxid
        ctime = time
        mtime = time
        version = 0
        childCreations = 0
        aversion = 0
        self.aclIndex = aclIndex
        self.payload = payload
    }

    /// The last component of the node's path ("" for the root).
    var name: String { payload.name }

    /// Raw owner: a session id for ephemerals, `EphemeralKind` markers for containers and TTL nodes, 0 otherwise.
    var ephemeralOwner: Int64 { payload.ephemeralOwner }

    var data: [UInt8]? {
        get { payload.data }
        set { payload = payload.replacingData(newValue) }
    }

    /// The name's UTF-8 bytes, without making a String.
    func withNameBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try payload.withName(body)
    }

    /// The data's bytes (nil: no data), without copying them.
    func withDataBytes<Result>(_ body: (UnsafeRawBufferPointer?) throws -> Result) rethrows -> Result {
        try payload.withData(body)
    }

    /// The data's length (0 for none), without copying it.
    var dataLength: Int { max(0, Int(payload.dataLength)) }

    var childCount: Int { children.count }

    var kind: EphemeralKind { EphemeralKind(rawOwner: ephemeralOwner) }

    /// The stat clients see.
    var stat: Stat {
        Stat(
            czxid: czxid, mzxid: mzxid, ctime: ctime, mtime: mtime, version: version,
            cversion: childCreations &* 2 &- Int32(truncatingIfNeeded: childCount), aversion: aversion,
            ephemeralOwner: kind.clientVisibleOwner, dataLength: Int32(truncatingIfNeeded: dataLength),
            numChildren: Int32(truncatingIfNeeded: childCount), pzxid: pzxid)
    }

    // MARK: Children

    /// The children's names, in the table's order (a hash order, as Apache's `HashSet` gives them).
    var childNames: [String] { children.map(\.name) }

    func child(named name: some StringProtocol) -> Znode? { children.find(name) }

    /// Links `child` under this node; returns the child it replaces, if one had that name.
    @discardableResult
    func insertChild(_ child: Znode) -> Znode? { children.insert(child) }

    /// Unlinks and returns the child called `name`, if there is one.
    @discardableResult
    func removeChild(named name: some StringProtocol) -> Znode? { children.remove(name) }

    func reserveChildren(_ count: Int) { children.reserve(count) }

    fileprivate func nameEquals(_ bytes: UnsafeRawBufferPointer) -> Bool {
        payload.withName { ZnodePayload.compare($0, bytes) == 0 }
    }

    fileprivate var nameHash: Int { payload.withName(ChildTable.hash) }
}

/// A hash table of child nodes keyed by the names they hold: open addressing with linear probing, at most 3/4
/// full, deletions by backward shift (no tombstones). Its slots are a Swift array, so a copy (the snapshot walk
/// keeps one per parent it is in) stays as it was while the node changes. Names hash with the process's seeded
/// `Hasher`, as a Dictionary's keys would.
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
        if (count + 1) * 4 > slots.count * 3 { resize(to: Swift.max(2, slots.count * 2)) }
        let mask = slots.count - 1
        var index = node.nameHash & mask
        while let existing = slots[index] {
            if node.payloadNameEquals(existing) {
                slots[index] = node
                return existing
            }
            index = (index + 1) & mask
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
        let mask = slots.count - 1
        var hole = found
        var next = (hole + 1) & mask
        slots[hole] = nil
        while let candidate = slots[next] {
            let home = candidate.nameHash & mask
            let stays = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next)
            if !stays {
                slots[hole] = candidate
                slots[next] = nil
                hole = next
            }
            next = (next + 1) & mask
        }
        return removed
    }

    /// Room for `total` children without growing.
    mutating func reserve(_ total: Int) {
        var capacity = 2
        while total * 4 > capacity * 3 { capacity *= 2 }
        if capacity > slots.count { resize(to: capacity) }
    }

    func makeIterator() -> some IteratorProtocol<Znode> {
        slots.lazy.compactMap { $0 }.makeIterator()
    }

    private func slotIndex(of bytes: UnsafeRawBufferPointer) -> Int? {
        let mask = slots.count - 1
        var index = Self.hash(bytes) & mask
        while let node = slots[index] {
            if node.nameEquals(bytes) { return index }
            index = (index + 1) & mask
        }
        return nil
    }

    private mutating func resize(to capacity: Int) {
        let old = slots
        slots = Array(repeating: nil, count: capacity)
        let mask = capacity - 1
        for case let node? in old {
            var index = node.nameHash & mask
            while slots[index] != nil { index = (index + 1) & mask }
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

extension Znode {
    fileprivate func payloadNameEquals(_ other: Znode) -> Bool {
        other.withNameBytes { nameEquals($0) }
    }
}

/// What a znode holds that changes only all at once: its name (fixed), its ephemeral owner (fixed) and its data
/// (replaced whole by a setData), in one allocation: a 16-byte object header, the lengths, then the owner
/// (only when it is not 0), the name's UTF-8 bytes and the data's bytes.
final class ZnodePayload: ManagedBuffer<ZnodePayload.Lengths, UInt8> {
    struct Lengths {
        /// The name's byte count; the top bit says that an ephemeral owner precedes the name.
        var nameField: UInt32
        /// -1: no data (a null buffer, which clients see as such).
        var dataLength: Int32
    }

    private static let ownerFlag: UInt32 = 1 << 31
    private static let ownerSize = MemoryLayout<Int64>.size

    /// Bytes to copy in, valid only for the duration of the call that they are passed to.
    typealias Bytes = UnsafeRawBufferPointer

    static func make(name: some StringProtocol, data: Bytes?, ephemeralOwner: Int64) -> ZnodePayload {
        var name = String(name)
        return name.withUTF8 { nameBytes in
            make(nameBytes: UnsafeRawBufferPointer(nameBytes), data: data, ephemeralOwner: ephemeralOwner)
        }
    }

    private static func make(nameBytes: Bytes, data: Bytes?, ephemeralOwner: Int64) -> ZnodePayload {
        let ownerBytes = ephemeralOwner == 0 ? 0 : ownerSize
        let capacity = ownerBytes + nameBytes.count + (data?.count ?? 0)
        let lengths = Lengths(
            nameField: UInt32(nameBytes.count) | (ephemeralOwner == 0 ? 0 : ownerFlag),
            dataLength: data.map { Int32(truncatingIfNeeded: $0.count) } ?? -1)
        // `create` allocates an instance of the class it is called on; the cast cannot fail.
        let payload = unsafeDowncast(create(minimumCapacity: capacity) { _ in lengths }, to: ZnodePayload.self)
        payload.withUnsafeMutablePointerToElements { elements in
            let tail = UnsafeMutableRawPointer(elements)
            if ownerBytes > 0 { tail.storeBytes(of: ephemeralOwner, as: Int64.self) }
            if let base = nameBytes.baseAddress {
                (tail + ownerBytes).copyMemory(from: base, byteCount: nameBytes.count)
            }
            if let base = data?.baseAddress, let count = data?.count {
                (tail + ownerBytes + nameBytes.count).copyMemory(from: base, byteCount: count)
            }
        }
        return payload
    }

    /// The same name and owner with other data.
    func replacingData(_ data: [UInt8]?) -> ZnodePayload {
        withName { name in
            guard let data else { return ZnodePayload.make(nameBytes: name, data: nil, ephemeralOwner: ephemeralOwner) }
            return data.withUnsafeBytes { ZnodePayload.make(nameBytes: name, data: $0, ephemeralOwner: ephemeralOwner) }
        }
    }

    private var ownerBytes: Int { header.nameField & Self.ownerFlag == 0 ? 0 : Self.ownerSize }
    private var nameLength: Int { Int(header.nameField & ~Self.ownerFlag) }
    var dataLength: Int32 { header.dataLength }

    var ephemeralOwner: Int64 {
        guard ownerBytes > 0 else { return 0 }
        return withUnsafeMutablePointerToElements { UnsafeRawPointer($0).load(as: Int64.self) }
    }

    func withName<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let offset = ownerBytes
        let length = nameLength
        return try withUnsafeMutablePointerToElements { elements in
            try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(elements) + offset, count: length))
        }
    }

    var name: String { withName { String(decoding: $0, as: UTF8.self) } }

    var data: [UInt8]? { withData { $0.map { Array($0) } } }

    func withData<Result>(_ body: (UnsafeRawBufferPointer?) throws -> Result) rethrows -> Result {
        let length = Int(header.dataLength)
        guard length >= 0 else { return try body(nil) }
        let offset = ownerBytes + nameLength
        return try withUnsafeMutablePointerToElements { elements in
            try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(elements) + offset, count: length))
        }
    }

    func compareName(with other: ZnodePayload) -> Int {
        withName { mine in other.withName { theirs in Self.compare(mine, theirs) } }
    }

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
