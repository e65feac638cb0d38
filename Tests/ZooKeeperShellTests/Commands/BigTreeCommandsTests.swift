import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// cp -r and diff -r through the zkcli executable on trees larger than one multi of `cp` and one window of the
/// walk, against Apache ZooKeeper and zkserver.
@Suite(.serialized)
struct BigTreeCommandsTests {
    /// Below `root`: `c`, `c-1` and `c.2` (names that sort around `/`), each with 700 leaves `l-N` holding `vN`:
    /// 2,104 znodes. Returns their paths below `root`, `""` for the root.
    @discardableResult
    func makeTree(_ client: ZooKeeperClient, _ root: String) async throws -> [String] {
        var below = [""]
        try await client.create(root)
        for parent in ["c", "c-1", "c.2"] {
            try await client.create("\(root)/\(parent)")
            below.append("/\(parent)")
            for start in stride(from: 0, to: 700, by: 350) {
                _ = try await client.multi(
                    (start..<start + 350).map { .create("\(root)/\(parent)/l-\($0)", data: Array("v\($0)".utf8)) })
                below += (start..<start + 350).map { "/\(parent)/l-\($0)" }
            }
        }
        return below
    }

    func other(_ kind: TestServerKind) -> TestServerKind {
        switch kind {
        case .apache: .zkserver
        case .zkserver: .apache
        }
    }

    @Test(arguments: TestServerKind.allCases) func cpCopiesATreeOfManyMultisToAnotherCluster(kind: TestServerKind)
        async throws
    {
        let server = try SharedTestServers.connectString(kind)
        let target = try SharedTestServers.connectString(other(kind))
        let client = try ZooKeeperClient(connectString: server)
        let targetClient = try ZooKeeperClient(connectString: target)
        let root = SharedTestServers.uniqueRoot("bigcp")
        let copy = SharedTestServers.uniqueRoot("bigcopy")
        let merged = SharedTestServers.uniqueRoot("bigmerged")
        try await makeTree(client, root)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }
        defer { _ = try? Programs.zkcli(server: target, ["deleteall", copy]) }
        defer { _ = try? Programs.zkcli(server: target, ["deleteall", merged]) }

        let cp = try Programs.zkcli(server: server, ["cp", "-r", root, "zk://\(target)\(copy)"])
        #expect(cp.exitCode == 0)
        #expect(cp.output == "")
        #expect(cp.error == "Copied 2104 znodes to \(copy) (created 2104, overwritten 0, skipped 0)\n")
        let same = try Programs.zkcli(server: server, ["diff", "-r", root, "zk://\(target)\(copy)"])
        #expect(same.exitCode == 0)
        #expect(same.output == "")
        #expect(try await targetClient.getData("\(copy)/c.2/l-699").data == Array("v699".utf8))
        #expect(try await targetClient.getChildren("\(copy)/c-1").count == 700)

        // Into a tree that holds some of the znodes already: a multi that meets one is applied without it, which
        // goes alone (overwritten with -f), and the copy goes on in multis.
        try await targetClient.create(merged)
        try await targetClient.create("\(merged)/c-1")
        try await targetClient.create("\(merged)/c-1/l-300", data: Array("old".utf8))
        let forced = try Programs.zkcli(server: server, ["cp", "-r", "-f", root, "zk://\(target)\(merged)"])
        #expect(forced.exitCode == 0)
        #expect(forced.error == "Copied 2104 znodes to \(merged) (created 2101, overwritten 3, skipped 0)\n")
        #expect(try await targetClient.getData("\(merged)/c-1/l-300").data == Array("v300".utf8))
        #expect(try Programs.zkcli(server: server, ["diff", "-r", root, "zk://\(target)\(merged)"]).exitCode == 0)
        await client.close()
        await targetClient.close()
    }

    @Test(arguments: TestServerKind.allCases) func diffFindsDifferencesAtTheEdgesOfItsWindows(kind: TestServerKind)
        async throws
    {
        let server = try SharedTestServers.connectString(kind)
        let client = try ZooKeeperClient(connectString: server)
        let left = SharedTestServers.uniqueRoot("diffleft")
        let right = SharedTestServers.uniqueRoot("diffright")
        let paths = ShellFormat.javaSorted(try await makeTree(client, left))
        try await makeTree(client, right)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", left]) }
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", right]) }
        // The walk reads data and ACL (3 requests a znode): a window holds 256 znodes. Differences on either side
        // of its edges, at the first and last leaves, and where the children of `c-1` and `c` meet.
        let leaves = paths.filter { $0.contains("/l-") }
        var expected: [String: String] = [:]
        for index in [0, 254, 255, 256, 257, 511, 512, 767, 768, leaves.count - 1] {
            try await client.setData(right + leaves[index], data: Array("changed".utf8))
            expected[leaves[index]] = "~ \(leaves[index]) data"
        }
        for index in [258, 1000] {
            try await client.delete(right + leaves[index])
            expected[leaves[index]] = "- \(leaves[index])"
        }
        try await client.setACL(
            right + leaves[600], acl: [ACL(permissions: .all, id: Id(scheme: "ip", id: "127.0.0.1"))])
        expected[leaves[600]] = "~ \(leaves[600]) acl"
        for added in ["/c-1/l-3-", "/c.2/m", "/d"] {
            try await client.create(right + added)
            expected[added] = "+ \(added)"
        }
        let diff = try Programs.zkcli(server: server, ["diff", "-r", left, right])
        #expect(diff.exitCode == 1)
        #expect(diff.error == "\(expected.count) differences\n")
        let lines = ShellFormat.javaSorted(Array(expected.keys)).map { expected[$0]! + "\n" }.joined()
        #expect(diff.output == lines)
        // The other way round: removed and added swap.
        let reverse = try Programs.zkcli(server: server, ["diff", "-r", right, left])
        let swapped = lines.split(separator: "\n").map { line in
            line.hasPrefix("- ") ? "+" + line.dropFirst() : line.hasPrefix("+ ") ? "-" + line.dropFirst() : line
        }
        #expect(reverse.output == swapped.map { $0 + "\n" }.joined())
        await client.close()
    }
    @Test(arguments: TestServerKind.allCases) func diffReportsWhatItCannotReadAndComparesTheRest(kind: TestServerKind)
        throws
    {
        let server = try SharedTestServers.connectString(kind)
        let left = SharedTestServers.uniqueRoot("noauthleft")
        let right = SharedTestServers.uniqueRoot("noauthright")
        let setUp = """
            create \(left)
            create \(left)/a x
            create \(left)/b
            create \(left)/b/c
            create \(left)/d
            setAcl \(left)/b world:anyone:cdwa
            create \(right)
            create \(right)/a y
            create \(right)/b
            create \(right)/b/c
            create \(right)/b/e
            """
        #expect(try Programs.zkcli(server: server, input: setUp + "\n").exitCode == 0)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", left]) }
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", right]) }
        defer { _ = try? Programs.zkcli(server: server, ["setAcl", left + "/b", "world:anyone:cdrwa"]) }
        // /b cannot be read on the left: it is reported, nothing at or under it is compared, the rest is.
        let diff = try Programs.zkcli(server: server, ["diff", "-r", left, right])
        #expect(diff.exitCode == 1)
        #expect(diff.output == "~ /a data\n- /d\n")
        #expect(diff.error == "Insufficient permission : \(left)/b\n1 znode could not be read\n")
    }
}
