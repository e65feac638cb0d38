import Foundation
import Testing
import ZooKeeperTestSupport

/// cp and mv through the zkcli executable: from Apache ZooKeeper to zkserver and within one cluster, checked
/// with diff and with reads of the copy.
@Suite(.serialized)
struct CopyCommandsTests {
    @Test func cpCopiesASubtreeToAnotherClusterWithItsAcls() throws {
        let apache = try SharedTestServers.connectString(.apache)
        let zkserver = try SharedTestServers.connectString(.zkserver)
        let root = SharedTestServers.uniqueRoot("cp")
        let copy = SharedTestServers.uniqueRoot("copy")
        let setUp = """
            create \(root) top
            create \(root)/a one world:anyone:cdrw
            create \(root)/a/b two
            create \(root)/n
            """
        #expect(try Programs.zkcli(server: apache, input: setUp + "\n").exitCode == 0)
        defer { _ = try? Programs.zkcli(server: apache, ["deleteall", root]) }
        defer { _ = try? Programs.zkcli(server: zkserver, ["deleteall", copy]) }
        let other = "zk://\(zkserver)\(copy)"
        let cp = try Programs.zkcli(server: apache, ["cp", "-r", "--acl", root, other])
        #expect(cp.exitCode == 0)
        #expect(cp.error == "Copied 4 znodes to \(copy) (created 4, overwritten 0, skipped 0)\n")
        #expect(try Programs.zkcli(server: apache, ["diff", "-r", root, other]).exitCode == 0)
        #expect(try Programs.zkcli(server: zkserver, ["get", copy + "/a/b"]).output == "two\n")
        #expect(try Programs.zkcli(server: zkserver, ["getAcl", copy + "/a"]).output == "'world,'anyone\n: cdrw\n")
        // Again: refused, as the copy exists; with -f it is overwritten. Without --acl the ACLs stay open.
        let again = try Programs.zkcli(server: apache, ["cp", "-r", root, other])
        #expect(again.exitCode == 1)
        #expect(again.error == "cp: Node already exists: \(copy); 0 znodes copied before it\n")
        #expect(try Programs.zkcli(server: apache, ["set", root + "/n", "new"]).exitCode == 0)
        let forced = try Programs.zkcli(server: apache, ["cp", "-r", "-f", root, other])
        #expect(forced.error == "Copied 4 znodes to \(copy) (created 0, overwritten 4, skipped 0)\n")
        #expect(try Programs.zkcli(server: zkserver, ["get", copy + "/n"]).output == "new\n")
        let open = try Programs.zkcli(server: apache, ["cp", root + "/a", "zk://\(zkserver)\(copy)/plain"])
        #expect(open.exitCode == 0)
        #expect(
            try Programs.zkcli(server: zkserver, ["getAcl", copy + "/plain"]).output == "'world,'anyone\n: cdrwa\n")
        // Into itself: refused before anything is written.
        let inside = try Programs.zkcli(server: apache, ["cp", "-r", root, root + "/a/inside"])
        #expect(inside.exitCode == 1)
        #expect(inside.error == "cp: cannot copy \(root) into itself (\(root)/a/inside)\n")
    }

    @Test(arguments: TestServerKind.allCases) func mvMovesASubtreeButNotEphemerals(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("mv")
        let moved = SharedTestServers.uniqueRoot("moved")
        #expect(try Programs.zkcli(server: server, input: "create \(root) x\ncreate \(root)/a y\n").exitCode == 0)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", moved]) }
        let dry = try Programs.zkcli(server: server, ["mv", "--dry-run", root, moved])
        #expect(dry.output == "create \(moved)\ncreate \(moved)/a\ndelete \(root)\n")
        #expect(try Programs.zkcli(server: server, ["stat", moved]).exitCode == 1)
        let mv = try Programs.zkcli(server: server, ["mv", root, moved])
        #expect(mv.exitCode == 0, "\(mv.error)")
        #expect(try Programs.zkcli(server: server, ["stat", root]).exitCode == 1)
        #expect(try Programs.zkcli(server: server, ["ls", "-R", moved]).output == "\(moved)\n\(moved)/a\n")
        // An ephemeral cannot be moved: the copy is made, the source stays.
        let session = try Programs.zkcli(server: server, input: "create -e \(moved)/e\nmv \(moved) \(root)\n")
        #expect(session.exitCode == 1)
        #expect(
            session.error.hasSuffix(
                "mv: ephemeral znodes belong to their sessions and cannot be moved; \(moved) is left in place\n"))
        #expect(try Programs.zkcli(server: server, ["ls", moved]).output == "[a]\n")
    }
}
