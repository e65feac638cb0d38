import Foundation
import Testing
import ZooKeeperProtocol
import ZooKeeperTestSupport

/// export and import through the zkcli executable: a subtree of Apache ZooKeeper copied into zkserver and
/// back, data and ACLs compared with kazoo, and the import's refusals.
@Suite(.serialized)
struct ExportImportTests {
    /// Each znode under `root` (kazoo, depth first): its path below the root, data in hex (or None) and ACL.
    func kazooListing(_ server: String, _ root: String) throws -> String {
        let script = """
            from kazoo.client import KazooClient
            zk = KazooClient(hosts='\(server)')
            zk.start()
            def walk(path):
                data, _ = zk.get(path)
                acl, _ = zk.get_acls(path)
                rendered = sorted('%s:%s:%d' % (a.id.scheme, a.id.id, a.perms) for a in acl)
                print(path[len('\(root)'):] or '/', None if data is None else data.hex(), rendered)
                for child in sorted(zk.get_children(path)):
                    walk(path + '/' + child)
            walk('\(root)')
            zk.stop()
            """
        let run = try Programs.run("/usr/bin/env", ["python3", "-c", script])
        #expect(run.exitCode == 0, "kazoo: \(run.error)")
        return run.output
    }

    @Test func aSubtreeTravelsFromApacheToZkserverAndBackUnchanged() throws {
        let apache = try SharedTestServers.connectString(.apache)
        let zkserver = try SharedTestServers.connectString(.zkserver)
        let root = SharedTestServers.uniqueRoot("export")
        let copy = SharedTestServers.uniqueRoot("import")
        let directory = try TestEnvironment.temporaryDirectory("zkcli-export")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let setUp = """
            create \(root) top
            create \(root)/empty ""
            create \(root)/null
            create \(root)/bin
            set -b \(root)/bin AP8Aw6k=
            create \(root)/bin/deeper "line one"
            create \(root)/locked secret world:anyone:r,digest:admin:x1nq8J5GOJVPY6zgBIF8gqtaRB8=:cdrwa
            create \(root)/u "é ✓"
            """
        #expect(try Programs.zkcli(server: apache, input: setUp + "\n").exitCode == 0)
        defer { _ = try? Programs.zkcli(server: apache, ["deleteall", root]) }
        let exported = directory + "/tree.jsonl"
        let export = try Programs.zkcli(server: apache, ["export", "-r", root, exported])
        #expect(export.exitCode == 0)
        #expect(export.error == "Exported 7 znodes to \(exported)\n")

        let imported = try Programs.zkcli(server: zkserver, ["import", exported, copy])
        #expect(imported.exitCode == 0, "\(imported.error)")
        #expect(imported.error == "Imported 7 znodes into \(copy) (created 7, overwritten 0, skipped 0)\n")
        defer { _ = try? Programs.zkcli(server: zkserver, ["deleteall", copy]) }
        // Data (null, empty, binary, UTF-8) and ACLs as kazoo reads them on both sides.
        let original = try kazooListing(apache, root)
        #expect(original.split(separator: "\n").count == 7)
        #expect(try kazooListing(zkserver, copy) == original)

        // Exported again from zkserver: the same lines but the paths and the stat.
        let again = directory + "/again.jsonl"
        #expect(try Programs.zkcli(server: zkserver, ["export", "-r", copy, again]).exitCode == 0)
        func withoutStat(_ file: String, _ from: String) throws -> [String] {
            try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map {
                String($0.split(separator: ",\"stat\":").first ?? "").replacingOccurrences(of: "\"\(from)", with: "\"R")
            }
        }
        #expect(try withoutStat(again, copy) == (try withoutStat(exported, root)))

        // diff across the two clusters: nothing, until the copy changes.
        let other = "zk://\(zkserver)\(copy)"
        let same = try Programs.zkcli(server: apache, ["diff", "-r", root, other])
        #expect(same.exitCode == 0 && same.output == "" && same.error == "", "\(same.error)")
        let changes = """
            set \(copy)/u changed
            setAcl \(copy)/bin world:anyone:cdrw
            create \(copy)/new
            delete \(copy)/empty
            """
        #expect(try Programs.zkcli(server: zkserver, input: changes + "\n").exitCode == 0)
        let differ = try Programs.zkcli(server: apache, ["diff", "-r", root, other])
        #expect(differ.exitCode == 1)
        #expect(differ.output == "~ /bin acl\n- /empty\n+ /new\n~ /u data\n")
        #expect(differ.error == "4 differences\n")
        let json = try Programs.zkcli(server: apache, ["diff", "-o", "json", "-r", other, root])
        #expect(
            json.output.split(separator: "\n").first == #"{"path":"/bin","change":"changed","data":false,"acl":true}"#)
        #expect(json.error == #"{"error":"DIFFERENT","code":null,"path":null,"message":"4 differences"}"# + "\n")
        // Without -r only the two znodes themselves.
        #expect(try Programs.zkcli(server: apache, ["diff", root, other]).exitCode == 0)

        // To stdout, and one znode without -r.
        let single = try Programs.zkcli(server: apache, ["export", root + "/null", "-"])
        let lines = single.output.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.last?.hasPrefix("{\"path\":\"\(root)/null\",\"data\":null,\"acl\":[") == true)
    }

    @Test(arguments: TestServerKind.allCases) func afterAddauthTheExportReadsWhatTheUserCanRead(kind: TestServerKind)
        throws
    {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("export-auth")
        let directory = try TestEnvironment.temporaryDirectory("zkcli-export")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 601 znodes, more than the walk's window (the export opens its extra sessions): readable by alice alone, but
        // n7, by bob alone.
        let alice = "digest:alice:" + Base64.encode(SHA1.hash(Array("alice:secret".utf8))) + ":cdrwa"
        let bob = "digest:bob:" + Base64.encode(SHA1.hash(Array("bob:other".utf8))) + ":cdrwa"
        let setUp =
            "create \(root)\n"
            + (0..<600).map { "create \(root)/n\($0) v\($0) \($0 == 7 ? bob : alice)\n" }.joined()
        #expect(try Programs.zkcli(server: server, input: setUp).exitCode == 0)
        defer {
            let both = "addauth digest alice:secret\naddauth digest bob:other\ndeleteall \(root)\n"
            _ = try? Programs.zkcli(server: server, input: both)
        }
        func export(_ file: String, environment: [String: String]) throws -> ProgramRun {
            try Programs.zkcli(
                server: server, input: "addauth digest alice:secret\nexport -r \(root) \(file)\n",
                environment: environment)
        }
        let spread = try export(directory + "/spread.jsonl", environment: [:])
        #expect(spread.exitCode == 1)
        #expect(
            spread.error
                == "Insufficient permission : \(root)/n7\nExported 600 znodes to \(directory)/spread.jsonl\n"
                + "1 znode could not be read\n")
        let lines = try String(contentsOfFile: directory + "/spread.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 601)
        #expect(lines.dropFirst(2).allSatisfy { $0.contains(#""acl":[{"scheme":"digest","id":"alice:"#) })
        // The same file as an export on the shell's session alone.
        let alone = try export(directory + "/alone.jsonl", environment: ["ZKCLI_READ_SESSIONS": "0"])
        #expect(alone.exitCode == 1)
        #expect(
            try String(contentsOfFile: directory + "/alone.jsonl", encoding: .utf8)
                == (try String(contentsOfFile: directory + "/spread.jsonl", encoding: .utf8)))
        let bad = try export(directory + "/bad.jsonl", environment: ["ZKCLI_READ_SESSIONS": "many"])
        #expect(bad.exitCode == 2)
        #expect(bad.error == "zkcli: ZKCLI_READ_SESSIONS must be a number from 0 to 16, not 'many'\n")
    }

    @Test(arguments: TestServerKind.allCases) func refusalsNameTheLineAndApplyNothingAfter(kind: TestServerKind) throws
    {
        let server = try SharedTestServers.connectString(kind)
        let copy = SharedTestServers.uniqueRoot("refused")
        let directory = try TestEnvironment.temporaryDirectory("zkcli-import")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/broken.jsonl"
        let acl = #"[{"scheme":"world","id":"anyone","perms":"cdrwa"}]"#
        try """
        {"format":"zkcli-export","version":1,"root":"/r"}
        {"path":"/r","data":null,"acl":\(acl),"mode":"persistent"}
        {"path":"/r/a","data":"eA==","acl":\(acl),"mode":"persistent"}
        {"path":"/r/b","data":
        {"path":"/r/c","data":null,"acl":\(acl),"mode":"persistent"}

        """.write(toFile: file, atomically: true, encoding: .utf8)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", copy]) }
        let broken = try Programs.zkcli(server: server, ["import", file, copy])
        #expect(broken.exitCode == 1)
        #expect(broken.error.hasPrefix("import: stopped at line 4 of \(file): not JSON ("))
        #expect(broken.error.hasSuffix("); 2 znodes applied before it, the last \(copy)/a\n"))
        #expect(try Programs.zkcli(server: server, ["ls", copy]).output == "[a]\n")

        // What exists is refused by default, kept with --skip-existing, replaced with --overwrite.
        let good = directory + "/good.jsonl"
        try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").prefix(3).map { $0 + "\n" }.joined()
            .replacingOccurrences(of: "eA==", with: "eQ==").write(toFile: good, atomically: true, encoding: .utf8)
        let again = try Programs.zkcli(server: server, ["import", good, copy])
        #expect(again.exitCode == 1)
        #expect(
            again.error
                == "import: stopped at line 2 of \(good): Node already exists: \(copy); 0 znodes applied before it\n")
        let dry = try Programs.zkcli(server: server, ["import", "--dry-run", "--overwrite", good, copy])
        #expect(dry.output == "overwrite \(copy)\noverwrite \(copy)/a\n")
        #expect(try Programs.zkcli(server: server, ["get", copy + "/a"]).output == "x\n")
        #expect(try Programs.zkcli(server: server, ["import", "--skip-existing", good, copy]).exitCode == 0)
        #expect(try Programs.zkcli(server: server, ["get", copy + "/a"]).output == "x\n")
        #expect(try Programs.zkcli(server: server, ["import", "--overwrite", good, copy]).exitCode == 0)
        #expect(try Programs.zkcli(server: server, ["get", copy + "/a"]).output == "y\n")
        let both = try Programs.zkcli(server: server, ["import", "--overwrite", "--skip-existing", good, copy])
        #expect(both.exitCode == 1)
        #expect(both.error.hasPrefix("org.apache.commons.cli.AlreadySelectedException"))
        // Not an export file.
        let notExport = try Programs.zkcli(server: server, ["import", "/etc/hostname", copy])
        #expect(notExport.exitCode == 1)
        #expect(notExport.error.hasPrefix("import: stopped at line 1 of /etc/hostname: "))
    }
}
