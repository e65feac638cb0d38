import NIOCore
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperServer

/// The compact znode layout: a payload holding name, owner and data; children in a table keyed by their names.
@Suite struct ZnodeTests {
    private func node(_ name: String, data: [UInt8]? = [], owner: Int64 = 0) -> Znode {
        Znode(name: name, zxid: 1, time: 2, data: data, aclIndex: 0, ephemeralOwner: owner)
    }

    @Test func payloadKeepsNameDataAndOwnerApart() {
        let ephemeral = node("é-node", data: [1, 2, 3], owner: 0x1234_5678_9abc)
        #expect(ephemeral.name == "é-node")
        #expect(ephemeral.data == [1, 2, 3])
        #expect(ephemeral.dataLength == 3)
        #expect(ephemeral.ephemeralOwner == 0x1234_5678_9abc)
        #expect(ephemeral.kind == .session(0x1234_5678_9abc))
        let persistent = node("p", data: nil)
        #expect(persistent.data == nil)
        #expect(persistent.stat.dataLength == 0)
        #expect(persistent.ephemeralOwner == 0)
        #expect(node("e", data: []).data == [])
        let container = node("c", owner: EphemeralKind.containerMarker)
        #expect(container.kind == .container)
        #expect(container.stat.ephemeralOwner == 0)
    }

    @Test func replacingDataKeepsTheNameAndOwner() {
        let znode = node("name", data: [9], owner: 42)
        znode.data = Array(repeating: 7, count: 1000)
        #expect(znode.name == "name")
        #expect(znode.ephemeralOwner == 42)
        #expect(znode.data == Array(repeating: 7, count: 1000))
        znode.data = nil
        #expect(znode.data == nil)
        #expect(znode.name == "name")
    }

    /// Data written in place, grown past the node's room (kept beside it), then shrunk back, with the name and owner
    /// intact and the length reported at each step.
    @Test func dataGrowsPastItsRoomAndShrinksBack() {
        let znode = node("grow", data: Array(repeating: 1, count: 100), owner: 0x77)
        var expected: [[UInt8]?] = [
            Array(repeating: 2, count: 100), Array(repeating: 3, count: 10), [], Array(repeating: 4, count: 5000),
            Array(repeating: 5, count: 6000), Array(repeating: 6, count: 90), nil, Array(repeating: 7, count: 101),
        ]
        expected += [Array(repeating: 8, count: 3), nil]
        for value in expected {
            znode.data = value
            #expect(znode.data == value)
            #expect(znode.dataLength == value?.count ?? 0)
            #expect(znode.stat.dataLength == Int32(value?.count ?? 0))
            znode.withDataBytes { bytes in #expect(bytes.map { Array($0) } == value) }
            #expect(znode.name == "grow")
            #expect(znode.ephemeralOwner == 0x77)
        }
    }

    /// A fresh node's stat is its czxid and ctime alone; each field set later reads back, whichever is set first.
    @Test func statFieldsReadBackWhateverIsSet() {
        let fresh = Znode(
            name: "s", zxid: 0x5_0000_0001, time: 1_700_000_000_123, data: [1], aclIndex: 3, ephemeralOwner: 0)
        #expect(
            fresh.stat
                == Stat(
                    czxid: 0x5_0000_0001, mzxid: 0x5_0000_0001, ctime: 1_700_000_000_123, mtime: 1_700_000_000_123,
                    version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0, dataLength: 1, numChildren: 0,
                    pzxid: 0x5_0000_0001))
        #expect(fresh.aclIndex == 3)
        let changed = node("t")
        changed.aversion = -1
        changed.pzxid = 9
        changed.childCreations = 4
        changed.insertChild(node("c"))
        changed.version = 2
        changed.mtime = 8
        changed.mzxid = 7
        changed.aclIndex = 5
        #expect(
            changed.stat
                == Stat(
                    czxid: 1, mzxid: 7, ctime: 2, mtime: 8, version: 2, cversion: 4 * 2 - 1, aversion: -1,
                    ephemeralOwner: 0, dataLength: 0, numChildren: 1, pzxid: 9))
        #expect(changed.aclIndex == 5)
        // Values equal to a fresh node's read back too, before and after anything else is set.
        let same = node("u")
        same.mzxid = 1
        same.version = 0
        #expect(same.stat.mzxid == 1 && same.stat.version == 0)
        same.mzxid = 3
        same.mzxid = 1
        #expect(same.stat.mzxid == 1 && same.stat.pzxid == 1 && same.stat.mtime == 2)
    }

    /// The fixed fields are 28 bytes: a node of 100 bytes of data and an 8-byte name (a 16-byte object header
    /// before them) is a 152-byte request to malloc, the largest that glibc serves with a 160-byte chunk.
    @Test func theFixedFieldsLeaveATypicalNodeIn152Bytes() {
        #expect(MemoryLayout<ZnodeFields>.size == 28)
        #expect(16 + MemoryLayout<ZnodeFields>.size + 8 + 100 == 152)
    }

    /// czxid and ctime at the edges of the 48 bits they are kept in, and names at the edge of the 16 bits their
    /// length is kept in: every field reads back, before and after the data grows past the node's room.
    @Test func czxidCtimeAndNameLengthBeyondTheirCompactBitsReadBack() {
        let edges: [(zxid: Int64, time: Int64, nameLength: Int)] = [
            (Int64(1) << 47 - 1, Int64(1) << 47 - 1, 65_535), (Int64(1) << 47, 0, 1),
            (-(Int64(1) << 47), -(Int64(1) << 47), 0), (0, Int64(1) << 47, 3), (.max, .min, 8), (5, 6, 65_536),
            (-1, 1_700_000_000_000, 70_000),
        ]
        for (zxid, time, nameLength) in edges { expectFieldsReadBack(zxid: zxid, time: time, nameLength: nameLength) }
    }

    private func expectFieldsReadBack(zxid: Int64, time: Int64, nameLength: Int) {
        let name = String((0..<nameLength).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
        for owner: Int64 in [0, 0x77] {
            for initial: [UInt8]? in [nil, [], Array(repeating: 1, count: 100)] {
                let znode = Znode(name: name, zxid: zxid, time: time, data: initial, aclIndex: 2, ephemeralOwner: owner)
                func expectFields(data: [UInt8]?) {
                    #expect(znode.czxid == zxid && znode.ctime == time)
                    #expect(znode.stat.czxid == zxid && znode.stat.ctime == time)
                    #expect(znode.stat.mzxid == zxid && znode.stat.mtime == time && znode.stat.pzxid == zxid)
                    #expect(znode.name == name)
                    #expect(znode.ephemeralOwner == owner)
                    #expect(znode.aclIndex == 2)
                    #expect(znode.data == data)
                    #expect(znode.stat.dataLength == Int32(data?.count ?? 0))
                }
                expectFields(data: initial)
                for size in [0, 99, 100, 101, 160, 5000, 1] {
                    znode.data = Array(repeating: UInt8(size % 251), count: size)
                    expectFields(data: Array(repeating: UInt8(size % 251), count: size))
                }
                znode.mzxid = 9
                #expect(znode.czxid == zxid && znode.stat.mzxid == 9 && znode.name == name)
            }
        }
    }

    /// Data of every length around the room a node was made with, for names of several lengths, with and without
    /// an owner: what fits is written in place, one byte more is kept beside the node, and all reads back.
    @Test func dataAtTheEdgeOfTheRoomAfterTheName() {
        for nameLength in [0, 1, 7, 8, 9, 16, 255] {
            let name = String(repeating: "n", count: nameLength)
            for owner: Int64 in [0, 0x1234_5678] {
                for created in [0, 100, 101, 104, 108, 112] {
                    let znode = Znode(
                        name: name, zxid: 3, time: 4, data: Array(repeating: 0xAB, count: created), aclIndex: 0,
                        ephemeralOwner: owner)
                    for size in (created - 4)...(created + 24) where size >= 0 {
                        let value = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
                        znode.data = value
                        #expect(znode.data == value)
                        #expect(znode.dataLength == size)
                        znode.withDataBytes { #expect($0.map { Array($0) } == value) }
                        #expect(znode.name == name)
                        #expect(znode.ephemeralOwner == owner)
                        #expect(znode.czxid == 3 && znode.ctime == 4)
                    }
                }
            }
        }
    }

    /// An ACL index too large for its 13 bits is kept in the extras; the stat of a node that has extras only for
    /// that is still a fresh node's, and the index moves between the two places as it changes.
    @Test func aclIndexesBeyondTheInlineBitsReadBack() {
        for index: Int32 in [0, 8190, 8191, 8192, 70_000, .max] {
            let znode = Znode(name: "a", zxid: 11, time: 12, data: [1], aclIndex: index, ephemeralOwner: 5)
            #expect(znode.aclIndex == index)
            #expect(
                znode.stat
                    == Stat(
                        czxid: 11, mzxid: 11, ctime: 12, mtime: 12, version: 0, cversion: 0, aversion: 0,
                        ephemeralOwner: 5, dataLength: 1, numChildren: 0, pzxid: 11))
            for next: Int32 in [1, 9000, 8190, 8191, 3, .max, 0] {
                znode.aclIndex = next
                #expect(znode.aclIndex == next)
                #expect(znode.ephemeralOwner == 5 && znode.data == [1] && znode.czxid == 11 && znode.ctime == 12)
            }
        }
    }

    /// Names are read in groups (`ChildTable.names`): ephemeral children (whose names follow their owner) and
    /// persistent ones mixed, in counts that end a group early or exactly, and names of every length class.
    @Test func childNamesAreReadWholeForEphemeralAndPersistentChildren() {
        for count in [0, 1, 15, 16, 17, 100] {
            let parent = node("")
            let names = (0..<count).map { index in
                index % 3 == 0 ? "é\(index)" : String(repeating: "n", count: index % 40) + "\(index)"
            }
            for (index, name) in names.enumerated() {
                parent.insertChild(node(name, data: [UInt8(index % 256)], owner: index % 2 == 0 ? Int64(index + 1) : 0))
            }
            #expect(parent.childNames.count == count)
            #expect(Set(parent.childNames) == Set(names))
        }
    }

    @Test func everyChildIsFoundByItsNameWhateverTheInsertionOrder() {
        let parent = node("")
        var random = SeededGenerator(seed: 11)
        let names = (0..<500).map { "n\($0)" } + ["Z", "a", "ä", "a-0000000001", "a-0000000010", "~", "日本"]
        for name in names.shuffled(using: &random) { #expect(parent.insertChild(node(name)) == nil) }
        #expect(parent.childCount == names.count)
        #expect(parent.childNames.count == names.count)
        #expect(Set(parent.childNames) == Set(names))
        for name in names { #expect(parent.child(named: name)?.name == name) }
        #expect(parent.child(named: "n500") == nil)
        #expect(parent.child(named: "") == nil)
        #expect(parent.child(named: "n1/x".prefix(2)) === parent.child(named: "n1"))
    }

    @Test func insertingAnExistingNameReplacesThatChild() {
        let parent = node("")
        let first = node("x", data: [1])
        let second = node("x", data: [2])
        parent.insertChild(node("a"))
        parent.insertChild(first)
        #expect(parent.insertChild(second) === first)
        #expect(parent.childCount == 2)
        #expect(parent.child(named: "x") === second)
    }

    @Test func removingChildrenKeepsTheRestFindable() {
        let parent = node("")
        let names = (100..<1100).map { "c\($0)" }
        for name in names { parent.insertChild(node(name)) }
        for name in names where name.hasSuffix("3") || name.hasSuffix("7") {
            #expect(parent.removeChild(named: name)?.name == name)
            #expect(parent.removeChild(named: name) == nil)
        }
        let kept = names.filter { !$0.hasSuffix("3") && !$0.hasSuffix("7") }
        #expect(Set(parent.childNames) == Set(kept))
        #expect(parent.childNames.count == kept.count)
        for name in kept { #expect(parent.child(named: name) != nil) }
        for name in kept { parent.removeChild(named: name) }
        #expect(parent.childCount == 0)
        #expect(parent.stat.numChildren == 0)
    }

    @Test func treeMutationsKeepCountsAndSequenceNumbers() {
        let harness = CoreHarness()
        let client = harness.client()
        _ = harness.create(client, "/q")
        var created: [String] = []
        for index in 0..<30 {
            let mode: CreateMode = index % 3 == 0 ? .persistent : .persistentSequential
            let path = harness.create(client, index % 3 == 0 ? "/q/p\(29 - index)" : "/q/s-", mode: mode)
            created.append(path!)
        }
        #expect(created[1] == "/q/s-0000000001")
        #expect(created[29] == "/q/s-0000000029")
        _ = harness.call(client, .delete(PathVersionRequest(path: "/q/s-0000000001", version: -1)))
        #expect(harness.create(client, "/q/s-", mode: .persistentSequential) == "/q/s-0000000030")
        let (_, body) = harness.call(client, .getChildren2(PathWatchRequest(path: "/q", watch: false)))
        guard case .childrenAndStat(let children, let stat) = body else {
            Issue.record("no children: \(body)")
            return
        }
        #expect(children.count == 30)
        #expect(
            Set(children)
                == Set(created.map { String($0.dropFirst(3)) }).subtracting(["s-0000000001"]).union(["s-0000000030"]))
        #expect(stat.numChildren == 30)
        #expect(stat.cversion == 31 * 2 - 30)
        #expect(harness.core.tree.nodeCount == 4 + 1 + 30)
    }

    /// A snapshot lists children in any order; they load, and a name twice under one parent is refused.
    @Test func snapshotChildrenLoadInAnyOrderAndDuplicatesAreRefused() throws {
        func snapshot(children: [String]) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeInteger(SnapshotFile.magic)
            buffer.writeInteger(SnapshotFile.formatVersion)
            buffer.writeInteger(Int64(9))
            buffer.writeInteger(Int64(0))
            buffer.writeInteger(SnapshotFile.Tag.acl.rawValue)
            buffer.writeJuteInt(0)
            buffer.writeJuteVector(ACL.openUnsafe)
            func writeNode(_ name: String, children: Int, owner: Int64 = 0) {
                buffer.writeInteger(SnapshotFile.Tag.node.rawValue)
                buffer.writeJuteString(name)
                buffer.writeJuteBuffer(Array(name.utf8))
                buffer.writeJuteInt(0)
                for value: Int64 in [1, 2, 3, 4, 5] { buffer.writeJuteLong(value) }
                for value: Int32 in [0, Int32(children), 0] { buffer.writeJuteInt(value) }
                buffer.writeJuteLong(owner)
                buffer.writeJuteInt(Int32(children))
            }
            writeNode("", children: children.count)
            for name in children { writeNode(name, children: name == "b" ? 1 : 0) }
            if children.contains("b") { writeNode("deep", children: 0, owner: 77) }
            buffer.writeInteger(SnapshotFile.Tag.end.rawValue)
            buffer.writeJuteLong(Int64(1 + children.count + (children.contains("b") ? 1 : 0)))
            buffer.writeJuteLong(0)
            buffer.writeJuteLong(9)
            let crc = buffer.withUnsafeReadableBytes { CRC32.checksum($0) }
            var trailer = SnapshotWalker.trailer(crc: crc)
            buffer.writeBuffer(&trailer)
            return buffer
        }
        let contents = try SnapshotFile.read(snapshot(children: ["c", "zookeeper", "a", "b"]), path: "old")
        let root = contents.tree.root
        #expect(Set(root.childNames) == ["a", "b", "c", "zookeeper"])
        #expect(root.childCount == 4)
        #expect(contents.tree.node(at: "/b/deep")?.data == Array("deep".utf8))
        #expect(contents.tree.ephemerals[77] == ["/b/deep"])
        #expect(contents.tree.nodeCount == 6)
        #expect(
            contents.tree.approximateDataSize
                == 1 + ["/a", "/b", "/c", "/zookeeper", "/b/deep"].reduce(0) { $0 + $1.utf8.count }
                + ["a", "b", "c", "zookeeper", "deep"].reduce(0) { $0 + $1.utf8.count })
        #expect(throws: PersistenceError.self) {
            _ = try SnapshotFile.read(snapshot(children: ["c", "a", "c"]), path: "twice")
        }
        #expect(throws: PersistenceError.self) {
            _ = try SnapshotFile.read(snapshot(children: ["a", "a"]), path: "twice in order")
        }
    }
}
