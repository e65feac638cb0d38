import Foundation
import Testing
import ZooKeeperTestSupport

/// `-o json` against real servers: every line parsed by python3's `json` (with the schema of zkcli(1)'s JSON
/// OUTPUT checked there) and read back with `jq`, and the values compared with zkCli's text for the same nodes.
@Suite(.serialized)
struct JSONOutputTests {
    /// Checks each line of stdin against the schema; prints `ok <kind>` per line, or the problem.
    static let schemaChecker = #"""
        import base64, datetime, json, re, sys
        STAT = ["cZxid", "ctime", "ctimeMs", "mZxid", "mtime", "mtimeMs", "pZxid", "cversion", "dataVersion",
                "aclVersion", "ephemeralOwner", "ephemeralOwnerHex", "dataLength", "numChildren"]
        def check_stat(stat):
            assert list(stat) == STAT, list(stat)
            for key in STAT:
                if key in ("ctime", "mtime", "ephemeralOwnerHex"):
                    assert isinstance(stat[key], str), key
                else:
                    assert isinstance(stat[key], int) and not isinstance(stat[key], bool), key
            for key in ("ctime", "mtime"):
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stat[key]), stat[key]
                when = datetime.datetime.fromtimestamp(stat[key + "Ms"] / 1000, datetime.timezone.utc)
                assert when.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (stat[key + "Ms"] % 1000) == stat[key]
            assert int(stat["ephemeralOwnerHex"], 16) == stat["ephemeralOwner"] % (1 << 64)
        for line in sys.stdin:
            value = json.loads(line)
            assert isinstance(value, dict)
            if "stat" in value: check_stat(value["stat"])
            if "error" in value:
                assert list(value) == ["error", "code", "path", "message"], list(value)
                kind = "error"
            elif "children" in value:
                assert all(isinstance(child, str) for child in value["children"])
                kind = "children"
            elif "data" in value:
                assert value["encoding"] in ("utf-8", "base64", "hex", None)
                if value["encoding"] == "base64": base64.b64decode(value["data"], validate=True)
                kind = "data-" + str(value["encoding"])
            elif "acl" in value:
                assert all(set(e) == {"scheme", "id", "perms", "permissions"} for e in value["acl"])
                kind = "acl"
            else:
                kind = "+".join(value)
            print("ok", kind)
        """#

    func python(_ lines: String) throws -> [String] {
        let run = try Programs.run("/usr/bin/python3", ["-c", Self.schemaChecker], input: lines)
        #expect(run.error == "", "python3: \(run.error)")
        return run.output.split(separator: "\n").map(String.init)
    }

    func jq(_ filter: String, _ input: String) throws -> String {
        let run = try Programs.run("/usr/bin/jq", ["-r", filter], input: input)
        #expect(run.exitCode == 0, "jq \(filter): \(run.error)")
        return run.output.trimmingCharacters(in: .newlines)
    }

    @Test(arguments: TestServerKind.allCases) func everyCommandThatPrintsData(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let root = SharedTestServers.uniqueRoot("json")
        let setUp = """
            create \(root) hello
            create \(root)/b
            create \(root)/bin
            set -b \(root)/bin /wD+
            create \(root)/nul
            """
        #expect(try Programs.zkcli(server: server, input: setUp + "\n").exitCode == 0)
        #expect(try Programs.zkcli(server: server, ["create", root + "/quoted", "say \"hi\""]).exitCode == 0)
        defer { _ = try? Programs.zkcli(server: server, ["deleteall", root]) }

        // The program's option: every result as JSON, in order, one per line.
        let script = """
            ls -s \(root)
            ls -R \(root)
            get -s \(root)
            get \(root)/bin
            get -x \(root)/bin
            get \(root)/nul
            stat \(root)
            getAcl -s \(root)
            getEphemerals \(root)
            getAllChildrenNumber \(root)
            whoami
            listquota \(root)
            version
            get \(root)/missing
            """
        let run = try Programs.zkcli(server: server, ["-o", "json"], input: script + "\n")
        #expect(run.exitCode == 1)
        #expect(
            try python(run.output) == [
                "ok children", "ok path", "ok path", "ok path", "ok path", "ok path", "ok data-utf-8", "ok data-base64",
                "ok data-hex", "ok data-None", "ok path+stat", "ok acl", "ok path+ephemerals", "ok path+count",
                "ok identities", "ok path+limits+usage", "ok version",
            ])
        #expect(try python(run.error) == ["ok error"])
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(try jq(".children | join(\",\")", lines[0]) == "b,bin,nul,quoted")
        #expect(try jq(".stat.numChildren", lines[0]) == "4")
        #expect(
            try jq(".path", lines[1...5].joined(separator: "\n")).components(separatedBy: "\n")
                == ["\(root)", "\(root)/b", "\(root)/bin", "\(root)/nul", "\(root)/quoted"])
        #expect(
            try jq("[.data, .encoding, .stat.dataLength, .stat.dataVersion] | @tsv", lines[6]) == "hello\tutf-8\t5\t0")
        #expect(try jq(".data", lines[7]) == "/wD+")
        #expect(try jq(".data", lines[8]) == "ff00fe")
        #expect(try jq(".data == null and .encoding == null", lines[9]) == "true")
        #expect(
            try jq(".acl[0] | [.scheme, .id, .perms, .permissions] | @tsv", lines[11]) == "world\tanyone\tcdrwa\t31")
        #expect(try jq(".count", lines[13]) == "4")
        #expect(try jq(".identities[0].scheme", lines[14]) == "ip")
        #expect(try jq(".limits == null", lines[15]) == "true")
        #expect(try jq("[.error, .code, .path] | @tsv", run.error) == "NONODE\t-101\t\(root)/missing")

        // The same stat as zkCli's text shows it.
        let text = try Programs.zkcli(server: server, ["stat", root]).output
        let json = try Programs.zkcli(server: server, ["-o", "json", "stat", root]).output
        for (textName, jsonName) in [("cZxid", "cZxid"), ("mZxid", "mZxid"), ("pZxid", "pZxid")] {
            let hex = text.split(separator: "\n").first { $0.hasPrefix(textName + " = 0x") }!.dropFirst(
                textName.count + 5)
            #expect(try jq(".stat.\(jsonName)", json) == String(Int64(hex, radix: 16)!))
        }
        // A command's own -o, in both spellings, in a text session.
        let own = try Programs.zkcli(
            server: server, input: "get --output=json \(root)\nget \(root)\nget -o json \(root)/quoted\n")
        #expect(
            own.output.hasSuffix(
                "\nhello\n{\"path\":\"\(root)/quoted\",\"data\":\"say \\\"hi\\\"\",\"encoding\":\"utf-8\"}\n"))
        #expect(try jq(".data", own.output.split(separator: "\n")[2].description) == "say \"hi\"")
    }

    @Test func watchEventsAreJSONLines() throws {
        let server = try SharedTestServers.connectString(.zkserver)
        let root = SharedTestServers.uniqueRoot("jsonwatch")
        // The change comes from the same script's session, so the event precedes the next result.
        let run = try Programs.zkcli(
            server: server, ["-o", "json"], input: "create \(root) one\nget -w \(root)\nset \(root) two\nquit\n")
        defer { _ = try? Programs.zkcli(server: server, ["delete", root]) }
        let lines = run.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(run.output)")
        #expect(try python(run.output) == ["ok data-utf-8", "ok event+state+path+zxid"])
        #expect(try jq("[.event, .state, .path] | @tsv", lines[1]) == "NodeDataChanged\tSyncConnected\t\(root)")
    }

    @Test func failuresOfTheShellItself() throws {
        let server = try SharedTestServers.connectString(.zkserver)
        let run = try Programs.zkcli(server: server, ["-o", "json"], input: "frobnicate\nget\nls -o yaml /\n")
        #expect(run.exitCode == 1)
        let errors = run.error.split(separator: "\n").map(String.init)
        #expect(errors.count == 3, "\(run.error)")
        #expect(try python(run.error) == ["ok error", "ok error", "ok error"])
        #expect(try jq("[.error, (.code | tostring)] | @tsv", errors[0]) == "COMMANDNOTFOUND\tnull")
        #expect(try jq(".error", errors[1]) == "BADCOMMAND")
        #expect(try jq(".message", errors[1]).hasPrefix("get [-s] [-w] [-b] [-x] path"))
        #expect(try jq(".message", errors[2]).hasPrefix("-o: unknown output format 'yaml'"))
        // A bad value of the program's option is a usage error of zkcli.
        let bad = try Programs.run(try Programs.zkcli, ["-o", "yaml", "ls", "/"])
        #expect(bad.exitCode == 64)
        #expect(bad.error.hasPrefix("Error: "))
    }
}
