import Testing
import ZooKeeperProtocol

@testable import ZooKeeperShell

#if canImport(Glibc)
    import Glibc
#endif

struct FormattingTests {
    @Test func statBlock() {
        let stat = Stat(
            czxid: 4, mzxid: 0xc, ctime: 0, mtime: 1_795_800_155_000, version: 2, cversion: -1, aversion: 0,
            ephemeralOwner: -1, dataLength: 6, numChildren: 0, pzxid: 4)
        #expect(
            ShellFormat.stat(stat, utc: true) == """
                cZxid = 0x4
                ctime = Thu Jan 01 00:00:00 UTC 1970
                mZxid = 0xc
                mtime = Fri Nov 27 17:22:35 UTC 2026
                pZxid = 0x4
                cversion = -1
                dataVersion = 2
                aclVersion = 0
                ephemeralOwner = 0xffffffffffffffff
                dataLength = 6
                numChildren = 0

                """)
    }

    @Test func localDatesUseTheLocalZoneName() {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        let zone = String(cString: parts.tm_zone)
        #expect(ShellFormat.javaDate(milliseconds: Int64(now) * 1000).contains(" \(zone) "))
    }

    @Test func javaDatesBeforeTheEpochRoundDown() {
        #expect(ShellFormat.javaDate(milliseconds: -1, utc: true) == "Wed Dec 31 23:59:59 UTC 1969")
    }

    @Test func hexDumpAsNetty() {
        #expect(
            ShellFormat.hexDump(Array("hello world, zookeeper!".utf8)) == """
                         +-------------------------------------------------+
                         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |
                +--------+-------------------------------------------------+----------------+
                |00000000| 68 65 6c 6c 6f 20 77 6f 72 6c 64 2c 20 7a 6f 6f |hello world, zoo|
                |00000010| 6b 65 65 70 65 72 21                            |keeper!         |
                +--------+-------------------------------------------------+----------------+
                """)
        #expect(ShellFormat.hexDump([]) == "")
        let binary = ShellFormat.hexDump([0, 0x1F, 0x7F, 0x80, 0x41])
        #expect(binary.contains("|00000000| 00 1f 7f 80 41                                  |....A           |"))
    }

    @Test func aclRendering() {
        let entries = [
            ACL(permissions: .all, id: .anyone),
            ACL(permissions: [.read, .admin], id: Id(scheme: "digest", id: "user1:+owfoSBn/am19roBPzR1/MfCblE=")),
            ACL(permissions: [], id: Id(scheme: "x", id: "a,b}%")),
        ]
        #expect(
            entries.map(ShellFormat.acl) == [
                "'world,'anyone\n: cdrwa", "'digest,'user1:+owfoSBn/am19roBPzR1/MfCblE=\n: ra", "'x,'a%2Cb%7D%25\n: ",
            ])
    }

    @Test func childrenSortedAsJava() {
        #expect(ShellFormat.list(ShellFormat.javaSorted(["b", "B", "a", "_"])) == "[B, _, a, b]")
        #expect(ShellFormat.list([]) == "[]")
        // Prefixes first, short strings and long ones (stored apart from the String) alike.
        let long = "a-name-longer-than-fifteen-bytes"
        #expect(
            ShellFormat.javaSorted(["leaf-10", long + "-2", "", "leaf-1", long, "leaf-100", "b", long + "-10"])
                == ["", long, long + "-10", long + "-2", "b", "leaf-1", "leaf-10", "leaf-100"])
        // UTF-16 order, as Java's compareTo: a character past U+FFFF (a surrogate pair, 0xD83D...) sorts before
        // U+FF21, which follows it in code point order; without one, the same order as code points.
        #expect(
            ShellFormat.javaSorted(["\u{FF21}", "\u{1F600}", "\u{E9}", "z", "Z"]) == [
                "Z", "z", "\u{E9}", "\u{1F600}", "\u{FF21}",
            ])
        #expect(
            ShellFormat.javaSorted(["\u{FF21}", "\u{E9}", "z", "e\u{301}", "Z", "\u{7F}"]).map {
                Array($0.unicodeScalars)
            } == ["Z", "e\u{301}", "z", "\u{7F}", "\u{E9}", "\u{FF21}"].map { Array($0.unicodeScalars) })
    }

    @Test func nullAndEmptyData() {
        #expect(ShellFormat.text(nil) == "null")
        #expect(ShellFormat.text([]) == "")
    }

    @Test func usageListingIsSortedAsZkCli() {
        let lines = Shell.usageListing.split(separator: "\n").dropFirst().map {
            $0.dropFirst().split(separator: " ")[0]
        }
        #expect(lines.map(String.init) == ShellFormat.javaSorted(lines.map(String.init)))
        #expect(lines.count == 28)
        #expect(Shell.usageListing.contains("\n\tclose \n"))
    }

    @Test func clientConfigString() {
        let config = "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\nserver.2=h:1:2;3\nversion=100000000"
        #expect(ConfigCommand.clientConfigString(config) == "100000000 0.0.0.0:2181,0.0.0.0:3")
        #expect(ConfigCommand.clientConfigString("") == " ")
    }

    @Test(arguments: [
        ("1", Int32(1)), ("0x10", 16), ("#10", 16), ("010", 8), ("-3", -3), ("+4", 4), ("0", 0),
    ])
    func redoNumbersDecodeAsJava(text: String, value: Int32) {
        #expect(Shell.javaDecode(text) == value)
    }

    @Test(arguments: ["abc", "", "0x", "--1", "08", "99999999999"])
    func redoRejectsNonNumbers(text: String) {
        #expect(Shell.javaDecode(text) == nil)
    }
}
