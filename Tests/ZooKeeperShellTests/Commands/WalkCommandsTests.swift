import Foundation
import Testing
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// tree, find, du, cd and pwd through the zkcli executable, against Apache ZooKeeper and zkserver, and the
/// znodes they walk compared with what Apache's zkCli.sh lists.
@Suite(.serialized)
struct WalkCommandsTests {
    /// `root` with a, a/x, a/y (2 bytes), b, b/seq0000000000, b/z; a holds 5 bytes.
    func makeTree(_ server: String, _ root: String) throws {
        let script = """
            create \(root)
            create \(root)/a 12345
            create \(root)/a/x
            create \(root)/a/y yy
            create \(root)/b
            create -s \(root)/b/seq
            create \(root)/b/z
            """
        #expect(try Programs.zkcli(server: server, input: script + "\n").exitCode == 0)
    }

    func jq(_ filter: String, _ input: String) throws -> String {
        let run = try Programs.run("/usr/bin/jq", ["-r", filter], input: input)
        #expect(run.exitCode == 0, "jq \(filter): \(run.error)")
        return run.output
    }

    @Test(arguments: TestServerKind.allCases) func treeDrawsTheSubtree(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("tree")
        try makeTree(server, root)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }
        let tree = try Programs.zkcli(server: server, ["tree", root])
        #expect(tree.exitCode == 0)
        #expect(tree.error == "")
        #expect(
            tree.output == """
                \(root)
                ├── a
                │   ├── x
                │   └── y
                └── b
                    ├── seq0000000000
                    └── z

                """)
        let sized = try Programs.zkcli(server: server, ["tree", "-s", "-d", "1", root])
        #expect(sized.output == "\(root) (0 B, 2 children)\n├── a (5 B, 2 children)\n└── b (0 B, 2 children)\n")
        let json = try Programs.zkcli(server: server, ["-o", "json", "tree", root])
        #expect(
            try jq(#"[.path, .depth, .dataLength, .numChildren] | @tsv"#, json.output) == """
                \(root)\t0\t0\t2
                \(root)/a\t1\t5\t2
                \(root)/a/x\t2\t0\t0
                \(root)/a/y\t2\t2\t0
                \(root)/b\t1\t0\t2
                \(root)/b/seq0000000000\t2\t0\t0
                \(root)/b/z\t2\t0\t0

                """)
        // The same znodes as Apache's zkCli.sh lists with ls -R (its order differs: children first).
        if kind == .apache {
            let apache = try Programs.apacheCli(server: server, ["ls", "-R", root])
            let listed = Set(apache.output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(root) })
            let walked = Set(try jq(".path", json.output).split(separator: "\n").map(String.init))
            #expect(listed.count == 7)
            #expect(listed == walked)
        }
        let missing = try Programs.zkcli(server: server, ["tree", root + "/nope"])
        #expect(missing.exitCode == 1)
        #expect(missing.error == "Node does not exist: \(root)/nope\n")
    }

    @Test(arguments: TestServerKind.allCases) func findMatchesEveryTestGiven(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("find")
        try makeTree(server, root)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }
        func find(_ arguments: [String]) throws -> [String] {
            let run = try Programs.zkcli(server: server, ["find", root] + arguments)
            #expect(run.exitCode == 0, "\(arguments): \(run.error)")
            return run.output.split(separator: "\n").map(String.init)
        }
        #expect(try find(["-name", "?"]) == ["\(root)/a", "\(root)/a/x", "\(root)/a/y", "\(root)/b", "\(root)/b/z"])
        #expect(try find(["-name", "s*"]) == ["\(root)/b/seq0000000000"])
        // (The test root's own name may end in ten digits.)
        #expect(try find(["-type", "sequential"]).filter { $0 != root } == ["\(root)/b/seq0000000000"])
        #expect(try find(["-size", "+1"]) == ["\(root)/a", "\(root)/a/y"])
        #expect(try find(["-size", "+2", "-d", "1"]) == ["\(root)/a"])
        #expect(try find(["-regex", ".*/b/.*"]) == ["\(root)/b/seq0000000000", "\(root)/b/z"])
        #expect(try find(["-newer", "1h", "-name", "z"]) == ["\(root)/b/z"])
        #expect(try find(["-older", "1h"]).isEmpty)
        #expect(try find(["-owner", "0x0", "-d", "0"]) == [root])
        // Ephemerals, with their session's id, in one session.
        let session = try Programs.zkcli(
            server: server,
            input: "create -e \(root)/a/eph\nfind \(root) -type ephemeral\nfind -o json \(root) -name eph\n")
        let lines = session.output.split(separator: "\n").map(String.init)
        #expect(lines.first == "\(root)/a/eph")
        #expect(try jq(".stat.ephemeralOwner != 0", lines.last ?? "") == "true\n")
        // Bad tests are usage errors.
        let bad = try Programs.zkcli(server: server, ["find", root, "-type", "container"])
        #expect(bad.exitCode == 1)
        #expect(bad.error.hasPrefix("-type must be one of persistent|ephemeral|sequential\nfind path "))
        #expect(try Programs.zkcli(server: server, ["find", root, "-newer", "soon"]).exitCode == 1)
    }

    @Test(arguments: TestServerKind.allCases) func grepSearchesTheData(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("grep")
        try makeTree(server, root)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }
        #expect(
            try Programs.zkcli(server: server, ["set", root + "/b/z", "first line\nSecond Line\nthird"]).exitCode == 0)
        #expect(
            try Programs.zkcli(server: server, ["grep", "line", root + "/b/z"]).output == "\(root)/b/z:first line\n")
        // Only the path itself without -r.
        #expect(try Programs.zkcli(server: server, ["grep", "line", root]).output == "")
        let recursive = try Programs.zkcli(server: server, ["grep", "-r", "-i", "line|^y", root])
        #expect(
            recursive.output == "\(root)/a/y:yy\n\(root)/b/z:first line\n\(root)/b/z:Second Line\n")
        #expect(try Programs.zkcli(server: server, ["grep", "-rl", "[0-9]", root]).output == "\(root)/a\n")
        let json = try Programs.zkcli(server: server, ["grep", "-o", "json", "-r", "Second", root])
        #expect(try jq("[.path, .lines[0]] | @tsv", json.output) == "\(root)/b/z\tSecond Line\n")
        let bad = try Programs.zkcli(server: server, ["grep", "(", root])
        #expect(bad.exitCode == 1)
        #expect(bad.error.hasPrefix("grep: not a regular expression: (\n"))
    }

    @Test(arguments: TestServerKind.allCases) func duMeasuresSubtreesLargestFirst(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("du")
        try makeTree(server, root)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }
        let du = try Programs.zkcli(server: server, ["du", root])
        #expect(du.output == "7\t7\t\(root)\n7\t3\t\(root)/a\n0\t3\t\(root)/b\n")
        let deeper = try Programs.zkcli(server: server, ["du", "-d", "2", "-h", root])
        #expect(deeper.output.split(separator: "\n").first == "7\t7\t\(root)")
        #expect(deeper.output.split(separator: "\n").count == 7)
        let json = try Programs.zkcli(server: server, ["du", "-o", "json", root])
        #expect(try jq("[.bytes, .znodes, .path] | @tsv", json.output) == du.output)
    }

    @Test(arguments: TestServerKind.allCases) func cdMakesPathsRelative(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("cd")
        try makeTree(server, root)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }
        let script = """
            get a
            pwd
            cd \(root)
            pwd
            get a
            cd a
            ls .
            ls ..
            get ../a
            stat -o json y
            cd nope
            pwd
            cd
            pwd
            """
        let run = try Programs.zkcli(server: server, input: script + "\n")
        #expect(run.exitCode == 1)
        // Before cd, paths are absolute only, as in zkCli.
        #expect(run.error.hasPrefix("Path must start with / character\nget [-s] [-w] [-b] [-x] path\n"))
        #expect(run.error.hasSuffix("Node does not exist: \(root)/a/nope\n"))
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 9, "\(run.output)")
        guard lines.count == 9 else { return }
        #expect(Array(lines[0...5]) == ["/", root, "12345", "[x, y]", "[a, b]", "12345"])
        #expect(try jq(".path", lines[6]) == "\(root)/a/y\n")
        #expect(Array(lines[7...8]) == ["\(root)/a", "/"])
    }

    /// The prompt shows the directory once `cd` has been used (zkCli's prompt until then).
    @Test func thePromptShowsTheDirectory() async throws {
        var configuration = ShellConfiguration()
        configuration.server = try SharedTestServers.connectString(.zkserver)
        let shell = try Shell(configuration: configuration, output: CapturedOutput())
        try await shell.waitUntilConnected(timeout: .seconds(10))
        #expect(shell.prompt == "[zk: \(configuration.server)(CONNECTED) 0] ")
        #expect(await shell.execute(line: "cd /zookeeper") == 0)
        #expect(shell.prompt == "[zk: \(configuration.server)(CONNECTED) 1 /zookeeper] ")
        #expect(await shell.execute(line: "cd ..") == 0)
        #expect(shell.prompt == "[zk: \(configuration.server)(CONNECTED) 2 /] ")
        await shell.close()
    }

    /// A znode that cannot be read is reported and the walk goes on; the command fails at the end.
    @Test(arguments: TestServerKind.allCases) func unreadableZnodesAreReportedAndSkipped(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("noauth")
        try makeTree(server, root)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }
        #expect(try Programs.zkcli(server: server, ["setAcl", root + "/a", "world:anyone:cdwa"]).exitCode == 0)
        defer { _ = try? Programs.zkcli(server: server, ["setAcl", root + "/a", "world:anyone:cdrwa"]) }
        let tree = try Programs.zkcli(server: server, ["tree", root])
        #expect(tree.exitCode == 1)
        // a is not drawn (its children cannot be listed); b is still the last child.
        #expect(tree.output == "\(root)\n└── b\n    ├── seq0000000000\n    └── z\n")
        #expect(tree.error == "Insufficient permission : \(root)/a\n1 znode could not be read\n")
        let json = try Programs.zkcli(server: server, ["-o", "json", "find", root])
        #expect(json.exitCode == 1)
        #expect(try jq("[.error, .code, .path] | @tsv", json.error).hasPrefix("NOAUTH\t-102\t\(root)/a\n"))
    }

    @Test(arguments: TestServerKind.allCases) func deleteallSendsItsBatchesAheadLeavesFirst(kind: TestServerKind) throws
    {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("deleteall")
        // 1 + 12 + 12 x 6 = 85 znodes: 29 batches of 3, several in flight at once.
        var script = "create \(root)\n"
        for a in 0..<12 {
            script += "create \(root)/a\(a)\n"
            for b in 0..<6 { script += "create \(root)/a\(a)/b\(b) x\n" }
        }
        #expect(try Programs.zkcli(server: server, input: script).exitCode == 0)
        let deleted = try Programs.zkcli(server: server, ["deleteall", root, "-b", "3"])
        #expect(deleted.exitCode == 0, "\(deleted.error)")
        #expect(deleted.output.isEmpty && deleted.error.isEmpty)
        #expect(try Programs.zkcli(server: server, ["stat", root]).error == "Node does not exist: \(root)\n")

        // A child that cannot be deleted (its parent denies DELETE): its batch fails, and so does every batch
        // after it that holds one of its ancestors; they stay.
        #expect(
            try Programs.zkcli(
                server: server,
                input:
                    "create \(root)\ncreate \(root)/a\ncreate \(root)/a/x\ncreate \(root)/b\nsetAcl \(root)/a world:anyone:crwa\n"
            ).exitCode == 0)
        defer {
            _ = try? Programs.zkcli(server: server, ["setAcl", root + "/a", "world:anyone:cdrwa"])
            _ = try? Programs.zkcli(server: server, ["deleteall", root])
        }
        let refused = try Programs.zkcli(server: server, ["deleteall", root, "-b", "1"])
        #expect(refused.exitCode == 1)
        #expect(refused.error == "Failed to delete some node(s) in the subtree!\n")
        #expect(try Programs.zkcli(server: server, ["ls", "-R", root]).output == "\(root)\n\(root)/a\n\(root)/a/x\n")
    }
}
