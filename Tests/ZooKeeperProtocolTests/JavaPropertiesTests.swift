import Foundation
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

@Suite struct JavaPropertiesTests {
    /// The forms operators write, and the corners of `Properties.load`: blank and `:` separators, continuation
    /// lines, escapes, Windows paths, comments that end in a backslash, CRLF and CR line ends.
    static let sample = [
        "# zoo.cfg as people write it\r\n",
        "tickTime=2000\r\n",
        "clientPort 2181\n",
        "dataDir: /var/lib/zookeeper  \n",
        "   initLimit   =   5\n",
        "! an old-style comment \\\n",
        "syncLimit=2\n",
        "zookeeper.security.auth_to_local=RULE:[1:$1@$0](.*@EXAMPLE\\\\.COM)s/@.*// \\\n",
        "    DEFAULT\n",
        "windows=C:\\\\zk\\\\data\n",
        "lost=C:\\zk\n",
        "key\\ with\\=odd\\:chars = value\\twith\\u00e9 escapes \\\n",
        "\n",
        "lonely\r",
        "e\u{301}=combining\n",
        "emoji=\\uD83D\\uDE00\n",
        "empty=\n",
        "last=ends in a backslash\\",
    ].joined()

    @Test func readsTheFormsOperatorsWrite() throws {
        let entries = try JavaProperties.entries(in: Self.sample)
        let byKey = Dictionary(entries.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        #expect(byKey["tickTime"] == "2000")
        #expect(byKey["clientPort"] == "2181")
        #expect(byKey["dataDir"] == "/var/lib/zookeeper  ")
        #expect(byKey["initLimit"] == "5")
        #expect(byKey["syncLimit"] == "2")
        #expect(byKey["zookeeper.security.auth_to_local"] == "RULE:[1:$1@$0](.*@EXAMPLE\\.COM)s/@.*// DEFAULT")
        #expect(byKey["windows"] == "C:\\zk\\data")
        #expect(byKey["lost"] == "C:zk")
        #expect(byKey["key with=odd:chars"] == "value\twith\u{e9} escapes ")
        #expect(byKey["lonely"] == "")
        #expect(byKey["e\u{301}"] == "combining")
        #expect(byKey["emoji"] == "\u{1F600}")
        // A lone UTF-16 surrogate, which Java keeps, has no Unicode scalar: it reads as the replacement character.
        #expect(try JavaProperties.dictionary(in: "lone=\\uDE00") == ["lone": "\u{FFFD}"])
        #expect(byKey["empty"] == "")
        #expect(byKey["last"] == "ends in a backslash")
        #expect(entries.first { $0.key == "lonely" }?.hasSeparator == false)
        #expect(entries.first { $0.key == "auth_to_local" } == nil)
        #expect(entries.first { $0.key == "zookeeper.security.auth_to_local" }?.line == 8)
        #expect(entries.first { $0.key == "windows" }?.line == 10)
    }

    @Test func aMalformedUnicodeEscapeNamesItsLine() {
        #expect(throws: JavaProperties.Failure(line: 2)) {
            try JavaProperties.entries(in: "a=1\nb=\\u12g4\n")
        }
        #expect(throws: JavaProperties.Failure(line: 1)) { try JavaProperties.entries(in: "b=\\u12") }
    }

    /// The same file read by Java's own `Properties.load`, which is what Apache ZooKeeper reads zoo.cfg and the
    /// client configuration with.
    @Test
    func readsAsJavaPropertiesLoadReads() throws {
        let directory = try TestEnvironment.temporaryDirectory("java-properties")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/sample.properties"
        try Self.sample.write(toFile: file, atomically: true, encoding: .utf8)
        let program = directory + "/Dump.java"
        try """
        import java.io.*;
        import java.nio.charset.StandardCharsets;
        import java.util.*;
        public class Dump {
            public static void main(String[] args) throws Exception {
                Properties p = new Properties();
                try (Reader r = new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8)) { p.load(r); }
                for (String k : new TreeSet<>(p.stringPropertyNames())) {
                    System.out.println(hex(k) + " " + hex(p.getProperty(k)));
                }
            }
            static String hex(String s) {
                StringBuilder b = new StringBuilder("x");
                s.codePoints().forEach(c -> b.append(Integer.toHexString(c)).append('.'));
                return b.toString();
            }
        }
        """.write(toFile: program, atomically: true, encoding: .utf8)
        let java = try Programs.run("/usr/bin/env", ["java", program, file], timeout: 120)
        #expect(java.exitCode == 0, "\(java.error)")

        func hex(_ text: String) -> String {
            "x" + text.unicodeScalars.map { String($0.value, radix: 16) + "." }.joined()
        }
        let ours = try JavaProperties.dictionary(in: Self.sample)
        let expected = ours.keys.sorted { Array($0.utf16).lexicographicallyPrecedes(Array($1.utf16)) }
            .map { "\(hex($0)) \(hex(ours[$0]!))" }
        #expect(java.output.split(separator: "\n").map(String.init) == expected)
    }
}
