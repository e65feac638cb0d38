import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// import's faults: `--atomic` applies all or nothing (a malformed line, a failing operation, a file too big
/// for one multi); an import interrupted by Ctrl-C or by a lost connection says exactly what it applied.
@Suite(.serialized)
struct ImportFaultsTests {
    static let acl = #"[{"scheme":"world","id":"anyone","perms":"cdrwa"}]"#

    /// An export file of `/r` with the given znode lines (paths below `/r`, data already base64).
    func exportFile(_ directory: String, _ name: String, _ znodes: [(path: String, data: String)]) throws -> String {
        let file = directory + "/" + name
        var text = #"{"format":"zkcli-export","version":1,"root":"/r"}"# + "\n"
        for znode in znodes {
            text += #"{"path":"/r\#(znode.path)","data":"\#(znode.data)","acl":\#(Self.acl),"mode":"persistent"}"#
            text += "\n"
        }
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    @Test(arguments: TestServerKind.allCases) func atomicAppliesAllOrNothing(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let copy = SharedTestServers.uniqueRoot("atomic")
        let directory = try TestEnvironment.temporaryDirectory("zkcli-atomic")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", copy]) }
        func exists(_ path: String) throws -> Bool {
            try Programs.zkcli(server: server, ["stat", path]).exitCode == 0
        }

        // A malformed line: nothing applied, not even the lines before it.
        let good = try exportFile(directory, "good.jsonl", [("", "eA=="), ("/a", "eQ=="), ("/a/b", "eg==")])
        let broken = directory + "/broken.jsonl"
        try (String(contentsOfFile: good, encoding: .utf8) + #"{"path":"/r/c","data":"# + "\n")
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let malformed = try Programs.zkcli(server: server, ["import", "--atomic", broken, copy])
        #expect(malformed.exitCode == 1)
        #expect(malformed.error.hasPrefix("import: stopped at line 5 of \(broken): not JSON ("), "\(malformed.error)")
        #expect(malformed.error.hasSuffix("); nothing applied\n"), "\(malformed.error)")
        #expect(try !exists(copy))

        // An operation the server refuses (a parent that is not in the file): nothing applied.
        let orphan = try exportFile(directory, "orphan.jsonl", [("", "eA=="), ("/a", "eQ=="), ("/x/y", "eg==")])
        let refused = try Programs.zkcli(server: server, ["import", "--atomic", orphan, copy])
        #expect(refused.exitCode == 1)
        #expect(refused.error.hasPrefix("import: "), "\(refused.error)")
        #expect(refused.error.contains("\(copy)/x/y"), "\(refused.error)")
        #expect(refused.error.hasSuffix("; nothing applied\n"), "\(refused.error)")
        #expect(try !exists(copy))

        // More than jute.maxbuffer: said in one line, nothing applied.
        let half = Data(repeating: 0x61, count: 600_000).base64EncodedString()
        let big = try exportFile(directory, "big.jsonl", [("", "eA=="), ("/a", half), ("/b", half)])
        let tooBig = try Programs.zkcli(server: server, ["import", "--atomic", big, copy])
        #expect(tooBig.exitCode == 1)
        #expect(
            tooBig.error
                == "import: \(big) does not fit in one multi (more than jute.maxbuffer, 1048575 bytes, by line 4); "
                + "nothing applied. Import it without --atomic\n")
        #expect(try !exists(copy))

        // --overwrite cannot be atomic (a multi has no setACL).
        let overwrite = try Programs.zkcli(server: server, ["import", "--atomic", "--overwrite", good, copy])
        #expect(overwrite.exitCode == 1)
        #expect(overwrite.error.hasPrefix("import: --atomic cannot --overwrite"))
        #expect(overwrite.error.split(separator: "\n").count == 1)

        // A file that fits: one multi.
        let applied = try Programs.zkcli(server: server, ["import", "--atomic", good, copy])
        #expect(applied.exitCode == 0, "\(applied.error)")
        #expect(applied.error == "Imported 3 znodes into \(copy) in one multi (created 3, overwritten 0, skipped 0)\n")
        #expect(try Programs.zkcli(server: server, ["get", copy + "/a/b"]).output == "z\n")
        // What exists: refused (nothing applied), or skipped.
        let again = try Programs.zkcli(server: server, ["import", "--atomic", good, copy])
        #expect(again.exitCode == 1)
        #expect(again.error == "import: Node already exists: \(copy); nothing applied\n")
        let skipping = try Programs.zkcli(server: server, ["import", "--atomic", "--skip-existing", good, copy])
        #expect(skipping.exitCode == 0)
        #expect(
            skipping.error == "Imported 3 znodes into \(copy) in one multi (created 0, overwritten 0, skipped 3)\n")
    }

    /// An import through a relay, stopped part-way by Ctrl-C (the task cancelled) or by the link cut: the report
    /// names exactly what the server has, and `--skip-existing` completes it.
    @Test(arguments: [false, true]) func anInterruptedImportSaysWhatItApplied(cutsTheLink: Bool) async throws {
        let server = try SharedTestServers.connectString(.apache)
        let copy = SharedTestServers.uniqueRoot(cutsTheLink ? "cutimport" : "stopimport")
        let directory = try TestEnvironment.temporaryDirectory("zkcli-interrupted")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let children = (0..<300).map { String(format: "/n%03d", $0) }
        let file = try exportFile(directory, "tree.jsonl", [("", "")] + children.map { ($0, "eA==") })

        let relay = try DelayRelay(toFirstServerOf: server, delay: 0.002)
        var configuration = ShellConfiguration()
        configuration.server = relay.address
        configuration.outputFormat = .json
        let output = RecordedOutput()
        let shell = try Shell(configuration: configuration, output: output)
        let client = try ZooKeeperClient(connectString: server)
        let created = try await client.watch(copy, mode: .persistentRecursive)
        let importing = Task { await shell.execute(line: "import \(file) \(copy)") }
        var seen = 0
        for await event in created where event.type == .nodeCreated {
            seen += 1
            if seen == 20 { break }
        }
        if cutsTheLink { relay.stop() } else { importing.cancel() }
        let exitCode = await importing.value
        #expect(exitCode == (cutsTheLink ? 1 : 130))

        let errors = output.lines.filter { $0.hasPrefix("stderr: ") }.map { String($0.dropFirst(8)) }
        #expect(errors.count == 1, "\(errors)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data((errors.first ?? "").utf8)) as? [String: Any])
        let onServer = try await client.getChildren(copy).sorted().map { copy + "/" + $0 }
        let appliedPaths = try #require(report["appliedPaths"] as? [String])
        let applied = try #require(report["applied"] as? Int)
        let unanswered = try #require(report["unansweredPaths"] as? [String])
        #expect(report["total"] as? Int == 301)
        #expect(applied == appliedPaths.count)
        // 20 creates seen on the server; after a cut, the answer to the last create or multi may be lost with the
        // link.
        #expect(applied + unanswered.count >= 20 && applied < 301, "\(report)")
        #expect(report["lastApplied"] as? String == appliedPaths.last)
        let message = try #require(report["message"] as? String)
        #expect(message.contains(": applied \(applied) of 301 znodes, the last applied was \(appliedPaths.last ?? "")"))
        #expect(message.hasSuffix("; resume with --skip-existing"))
        if cutsTheLink {
            #expect(report["error"] as? String == "CONNECTIONLOSS")
            // The znodes sent without an answer (one create, or a multi: all or none) may or may not be there;
            // everything else is exactly the report.
            #expect(onServer.filter { !unanswered.contains($0) } == Array(appliedPaths.dropFirst()))
        } else {
            #expect(unanswered.isEmpty)
            #expect(report["error"] as? String == "INTERRUPTED")
            #expect(message.hasPrefix("import: interrupted at line "))
            #expect(onServer == Array(appliedPaths.dropFirst()))
        }
        #expect(appliedPaths.first == copy)

        // Resumed with --skip-existing (straight to the server): the whole file is there.
        let resumed = try Programs.zkcli(server: server, ["import", "--skip-existing", file, copy])
        #expect(resumed.exitCode == 0, "\(resumed.error)")
        #expect(try await client.getChildren(copy).sorted() == children.map { String($0.dropFirst()) })
        _ = try Programs.zkcli(server: server, ["deleteall", copy])
        await shell.close()
        await client.close()
        relay.stop()
    }

    /// An import goes in multis of consecutive znodes: a file of 301 znodes costs a tenth as many requests (the
    /// server's `cons` for the session), a refusal inside a multi stops at exactly its line with nothing after it
    /// applied, and --skip-existing and --overwrite pass over znodes that exist in the middle of one.
    @Test(arguments: TestServerKind.allCases) func importsInMultisAndStopsAtTheLineRefused(kind: TestServerKind)
        async throws
    {
        let server = try SharedTestServers.connectString(kind)
        let copy = SharedTestServers.uniqueRoot("batched")
        let directory = try TestEnvironment.temporaryDirectory("zkcli-batched")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", copy]) }
        let children = (0..<300).map { String(format: "/n%03d", $0) }
        let file = try exportFile(directory, "tree.jsonl", [("", "")] + children.map { ($0, "eA==") })

        var configuration = ShellConfiguration()
        configuration.server = server
        let output = RecordedOutput()
        let shell = try Shell(configuration: configuration, output: output)
        #expect(await shell.execute(line: "import \(file) \(copy)") == 0)
        #expect(output.lines == ["stderr: Imported 301 znodes into \(copy) (created 301, overwritten 0, skipped 0)"])
        let port = try #require(server.split(separator: ":").last.flatMap { Int($0) })
        let session = "sid=0x" + String(UInt64(bitPattern: shell.client.sessionID), radix: 16)
        let cons = TestEnvironment.fourLetterWord("cons", port: port) ?? ""
        let connection = try #require(cons.split(separator: "\n").first { $0.contains(session) }, "\(cons)")
        let received = try #require(
            connection.split(separator: ",").first { $0.hasPrefix("recved=") }.flatMap { Int($0.dropFirst(7)) })
        #expect(received <= 30, "\(connection)")
        await shell.close()
        #expect(try Programs.zkcli(server: server, ["getAllChildrenNumber", copy]).output == "300\n")
        #expect(try Programs.zkcli(server: server, ["deleteall", copy]).exitCode == 0)

        // /n000 again after /n149 (line 153): the server refuses it as existing.
        let twice = try exportFile(
            directory, "twice.jsonl",
            [("", "")] + children.prefix(150).map { ($0, "eA==") } + [("/n000", "eQ==")]
                + children.dropFirst(150).map { ($0, "eA==") })
        let refused = try Programs.zkcli(server: server, ["import", twice, copy])
        #expect(refused.exitCode == 1)
        #expect(
            refused.error
                == "import: stopped at line 153 of \(twice): Node already exists: \(copy)/n000; 151 znodes applied "
                + "before it, the last \(copy)/n149\n")
        let listed = try Programs.zkcli(server: server, ["ls", copy]).output
        #expect(listed == "[" + children.prefix(150).map { $0.dropFirst() }.joined(separator: ", ") + "]\n")
        #expect(try Programs.zkcli(server: server, ["get", copy + "/n000"]).output == "x\n")

        // Two of the rest exist, changed: kept with --skip-existing, replaced with --overwrite.
        #expect(
            try Programs.zkcli(server: server, input: "create \(copy)/n200 old\ncreate \(copy)/n201 old\n").exitCode
                == 0)
        let skipping = try Programs.zkcli(server: server, ["import", "--skip-existing", file, copy])
        #expect(skipping.exitCode == 0, "\(skipping.error)")
        #expect(skipping.error == "Imported 301 znodes into \(copy) (created 148, overwritten 0, skipped 153)\n")
        #expect(try Programs.zkcli(server: server, ["get", copy + "/n200"]).output == "old\n")
        #expect(try Programs.zkcli(server: server, ["getAllChildrenNumber", copy]).output == "300\n")
        let overwritten = try Programs.zkcli(server: server, ["import", "--overwrite", file, copy])
        #expect(overwritten.exitCode == 0, "\(overwritten.error)")
        #expect(overwritten.error == "Imported 301 znodes into \(copy) (created 0, overwritten 301, skipped 0)\n")
        #expect(try Programs.zkcli(server: server, ["get", copy + "/n201"]).output == "x\n")
    }
}
