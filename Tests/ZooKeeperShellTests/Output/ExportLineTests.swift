import Testing
import ZooKeeper
import ZooKeeperProtocol

@testable import ZooKeeperShell

/// An export line written as bytes is the text the format has always had: the JSONValue of format version 1
/// (path, data in base64, ACL, mode, the stat as `-o json` prints it), for znodes with awkward paths, data, ACLs
/// and stats.
struct ExportLineTests {
    /// The line as the format defines it, through the shell's JSON writer.
    static func expected(_ node: PipelinedWalk.Node) -> String {
        JSONValue.object([
            ("path", .string(node.path)),
            ("data", .string(node.data.map { Base64.encode($0) })),
            (
                "acl",
                .array(
                    (node.acl ?? []).map {
                        .object([
                            ("scheme", .string($0.id.scheme)), ("id", .string($0.id.id)),
                            ("perms", .string("\($0.permissions)")),
                        ])
                    })
            ),
            ("mode", .string(node.stat.ephemeralOwner == 0 ? "persistent" : "ephemeral")),
            ("stat", CommandResult.json(node.stat)),
        ]).text
    }

    static func line(_ node: PipelinedWalk.Node) -> String {
        var bytes: [UInt8] = []
        ExportLine.append(node, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static func node(
        _ path: String, data: [UInt8]?, acl: [ACL]?, stat: Stat = Stat()
    ) -> PipelinedWalk.Node {
        PipelinedWalk.Node(path: path, depth: 1, stat: stat, children: [], data: data, acl: acl, lastAtLevel: [true])
    }

    static let nodes: [PipelinedWalk.Node] = [
        node(
            "/app/config", data: Array("v1".utf8), acl: ACL.openUnsafe,
            stat: Stat(
                czxid: 4_294_967_297, mzxid: 4_294_967_300, ctime: 1_764_514_800_123, mtime: 1_764_514_801_007,
                version: 3, cversion: 2, aversion: 1, dataLength: 2, numChildren: 100, pzxid: 4_294_967_400)),
        node("/null", data: nil, acl: nil),
        node("/empty", data: [], acl: []),
        // Lengths 1, 2 and 3 past a multiple of three: each padding of base64.
        node("/bin", data: [0x00, 0xFF, 0x80, 0x7F], acl: ACL.readUnsafe),
        node("/bin2", data: [0xFB, 0xEF, 0xBE, 0xFF, 0x00], acl: nil),
        node("/bin3", data: Array(0...255), acl: nil),
        // Quotes, backslashes, every control character, non-ASCII text, in paths and ACL ids.
        node(
            "/q\"uo\\te/\u{1}\u{8}\t\n\u{B}\u{C}\r\u{1F}\u{7F}/é ✓ 𝄞", data: Array("é".utf8),
            acl: [
                ACL(permissions: .all, id: Id(scheme: "digest", id: "al\"ice:+owfoSBn/am19roBPzR1/MfCblE=")),
                ACL(permissions: [.read, .admin], id: Id(scheme: "ip", id: "10.0.0.0/8")),
                ACL(permissions: [], id: Id(scheme: "world", id: "anyone")),
                ACL(permissions: [.write, .create, .delete], id: Id(scheme: "x509", id: "CN=a\\b")),
            ]),
        // An ephemeral of a session id past 2^63 (negative as an Int64), extreme versions and lengths.
        node(
            "/eph", data: [1], acl: ACL.openUnsafe,
            stat: Stat(
                czxid: -1, mzxid: Int64.max, ctime: 0, mtime: 999, version: Int32.min, cversion: -1,
                aversion: Int32.max, ephemeralOwner: Int64(bitPattern: 0x9000_0000_0000_0001), dataLength: -1,
                numChildren: 0, pzxid: Int64.min)),
        node("/eph2", data: nil, acl: nil, stat: Stat(ephemeralOwner: 0x0123_4567_89ab_cdef)),
    ]

    @Test(arguments: nodes.indices) func theLineIsTheFormatsText(index: Int) {
        let node = Self.nodes[index]
        #expect(Self.line(node) == Self.expected(node))
    }

    /// The times of the stat: leap days and centuries, the ends of days and years, the last of year 9999, and
    /// those outside 1970...9999 (before the epoch, after 9999) written as before.
    @Test func timesAreWrittenAsTheStatPrintsThem() {
        let day: Int64 = 86_400_000
        var times: [Int64] = [
            0, 1, 999, 1000, day - 1, day, 59 * day, 60 * day, 365 * day - 1, 365 * day,
            951_782_400_000, 951_868_799_999, 951_868_800_000,  // 2000-02-29 and 2000-03-01
            4_107_542_400_000, 4_107_628_800_000,  // 2100-02-28 and 2100-03-01 (not a leap year)
            1_764_514_800_123, 253_402_300_799_999, 253_402_300_800_000, -1, -day, -62_135_596_800_000,
        ]
        // A day a little over every 97 days for 700 years, at a different time of day each.
        var time: Int64 = 0
        while time < 22_000_000_000_000 {
            times.append(time)
            time += 97 * day + 3_600_007
        }
        for time in times {
            var bytes: [UInt8] = []
            ExportLine.appendISO8601(milliseconds: time, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == CommandResult.iso8601(milliseconds: time), "\(time)")
        }
    }
}
