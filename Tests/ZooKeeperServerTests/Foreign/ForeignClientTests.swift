import Foundation
import Testing
import ZooKeeperServer
import ZooKeeperTestSupport

/// Real clients that were written against Apache ZooKeeper, run against zkserver, with their results asserted.
@Suite(.serialized) struct ForeignClientTests {
    @Test(.timeLimit(.minutes(2))) func kazooExercisesModesVersionsWatchesMultiAndACLs() async throws {
        try requireTool(
            check: ["/usr/bin/env", "python3", "-c", "import kazoo"],
            install: "pip install kazoo (and python3 from apt-get install python3)")
        try await withZKServer { server in
            let directory = try TestEnvironment.temporaryDirectory("kazoo")
            let script = directory + "/kazoo_check.py"
            try kazooScript.write(toFile: script, atomically: true, encoding: .utf8)
            let result = try runTool(
                "/usr/bin/env", ["python3", script, server.connectString, "/kazoo"], timeout: 90)
            #expect(result.status == 0, "kazoo failed:\n\(result.output)")
            let checks = result.output.split(separator: "\n").filter { $0.hasPrefix("OK ") || $0.hasPrefix("FAIL ") }
            #expect(checks.count == 22, "\(result.output)")
            #expect(!result.output.contains("FAIL "))
            #expect(result.output.contains("DONE"))
        }
    }

    @Test(.timeLimit(.minutes(3))) func apacheZkCliRunsTheCommonCommands() async throws {
        let zkCliPath = ApacheZooKeeperInstallation.zkCli
        guard FileManager.default.isExecutableFile(atPath: zkCliPath) else {
            throw HarnessError("\(zkCliPath) is missing; install it with: apt-get install zookeeper zookeeper-bin")
        }
        try await withZKServer { server in
            let logDirectory = try TestEnvironment.temporaryDirectory("zkcli-log")
            func zkCli(_ arguments: String...) throws -> ToolResult {
                try runTool(
                    zkCliPath, ["-server", server.connectString] + arguments,
                    environment: ["ZOO_LOG_DIR": logDirectory],
                    timeout: 60)
            }
            var result = try zkCli("create", "/cli", "hello")
            #expect(result.output.contains("Created /cli"), "\(result.output)")
            result = try zkCli("get", "/cli")
            #expect(result.lines.contains("hello"), "\(result.output)")
            result = try zkCli("set", "/cli", "world")
            #expect(result.status == 0)
            result = try zkCli("stat", "/cli")
            #expect(result.lines.contains("dataVersion = 1"), "\(result.output)")
            #expect(result.lines.contains("dataLength = 5"), "\(result.output)")
            #expect(result.lines.contains("ephemeralOwner = 0x0"), "\(result.output)")
            result = try zkCli("create", "-s", "/cli/seq-", "x")
            #expect(result.output.contains("Created /cli/seq-0000000000"), "\(result.output)")
            result = try zkCli("ls", "/cli")
            #expect(result.lines.contains("[seq-0000000000]"), "\(result.output)")
            result = try zkCli("ls", "/")
            #expect(result.output.contains("cli") && result.output.contains("zookeeper"), "\(result.output)")
            result = try zkCli("getAcl", "/cli")
            #expect(result.lines.contains("'world,'anyone"), "\(result.output)")
            result = try zkCli("delete", "/cli")
            #expect(result.output.contains("Node not empty: /cli"), "\(result.output)")
            #expect(result.status != 0)
            result = try zkCli("get", "/missing")
            #expect(result.output.contains("Node does not exist: /missing"), "\(result.output)")
            result = try zkCli("deleteall", "/cli")
            #expect(result.status == 0)
            result = try zkCli("stat", "/cli")
            #expect(result.output.contains("Node does not exist: /cli"), "\(result.output)")
        }
    }

    @Test(.timeLimit(.minutes(2))) func apacheCShellCliMT() async throws {
        let cliMT = ApacheZooKeeperInstallation.cliMT
        guard FileManager.default.isExecutableFile(atPath: cliMT) else {
            throw HarnessError("\(cliMT) is missing; install it with: apt-get install zookeeper-bin")
        }
        try await withZKServer { server in
            func cli(_ command: String) throws -> ToolResult {
                try runTool(cliMT, ["-h", server.connectString, "-c", command], timeout: 30)
            }
            var result = try cli("create /cmt")
            #expect(result.output.contains("[/cmt]: rc = 0"), "\(result.output)")
            #expect(result.output.contains("Got a new session id: 0x1"), "\(result.output)")
            result = try cli("set /cmt payload")
            #expect(result.output.contains("rc = 0"), "\(result.output)")
            result = try cli("get /cmt")
            #expect(result.output.contains("/cmt: rc = 0"), "\(result.output)")
            #expect(result.output.contains("value_len = 7"), "\(result.output)")
            result = try cli("create /cmt/child")
            result = try cli("ls /cmt")
            #expect(result.lines.contains("\tchild"), "\(result.output)")
            result = try cli("get /absent")
            #expect(result.output.contains("/absent: rc = -101"), "\(result.output)")
            result = try cli("delete /cmt")
            #expect(result.output.contains("rc = -111"), "\(result.output)")
        }
    }
}

/// Runs `body` against a fresh in-process zkserver and always shuts it down.
func withZKServer(_ body: (ZooKeeperServer) async throws -> Void) async throws {
    let server = try await ZooKeeperServer.start(
        ZooKeeperServerForTests.configuration(), logger: ZooKeeperServerForTests.quietLogger)
    do {
        try await body(server)
    } catch {
        await server.shutdown()
        throw error
    }
    await server.shutdown()
}

struct ToolResult {
    var status: Int32
    var output: String
    var lines: [Substring] { output.split(separator: "\n") }
}

/// Fails with the install command when a tool is missing (never skips).
func requireTool(check: [String], install: String) throws {
    let result = try runTool(check[0], Array(check.dropFirst()), timeout: 30)
    guard result.status == 0 else {
        throw HarnessError("\(check.joined(separator: " ")) failed; install with: \(install)\n\(result.output)")
    }
}

/// Runs a program to completion (killing it after `timeout` seconds), stdout and stderr together.
func runTool(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double
) throws -> ToolResult {
    let directory = try TestEnvironment.temporaryDirectory("tool")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let outputPath = directory + "/output"
    let process = try ChildProcess(
        executable, arguments, environment: environment, output: .file(outputPath), error: .standardOutput)
    let finished = process.waitForExit(timeout: timeout)
    if !finished {
        kill(process.pid, SIGTERM)
        process.wait(timeout: 5)
    }
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    if !finished { throw HarnessError("\(executable) \(arguments) did not finish within \(timeout) s:\n\(text)") }
    return ToolResult(status: process.exitCode ?? -1, output: text)
}

/// Exercises what an application does with kazoo; prints `OK <check>` per check and `DONE` at the end.
private let kazooScript = #"""
    import sys, threading
    from kazoo.client import KazooClient
    from kazoo.exceptions import BadVersionError, NoAuthError, NodeExistsError, NoNodeError, NotEmptyError, RolledBackError
    from kazoo.security import make_digest_acl, make_acl

    hosts, root = sys.argv[1], sys.argv[2]
    def check(name, condition):
        if not condition:
            print("FAIL " + name); sys.exit(1)
        print("OK " + name)

    zk = KazooClient(hosts=hosts, timeout=10); zk.start(timeout=15)
    zk.create(root, b"root")
    check("persistent", zk.create(root + "/p", b"v") == root + "/p")
    eph = zk.create(root + "/e", b"", ephemeral=True)
    check("ephemeral owner", zk.exists(eph).ephemeralOwner == zk.client_id[0])
    s1 = zk.create(root + "/s-", b"", sequence=True)
    s2 = zk.create(root + "/s-", b"", sequence=True, ephemeral=True)
    check("sequential suffix", s1 == root + "/s-0000000002" and s2 == root + "/s-0000000003")
    path, cstat = zk.create(root + "/c", b"abc", include_data=True)
    check("create2 stat", path == root + "/c" and cstat.czxid == cstat.mzxid == cstat.pzxid and cstat.dataLength == 3)
    try:
        zk.create(root + "/e/child", b"")
        check("no children for ephemerals", False)
    except Exception as e:
        check("no children for ephemerals", type(e).__name__ == "NoChildrenForEphemeralsError")
    try:
        zk.create(root + "/p", b"")
        check("node exists", False)
    except NodeExistsError:
        check("node exists", True)
    stat = zk.set(root + "/p", b"v2", version=0)
    check("set version", stat.version == 1)
    try:
        zk.set(root + "/p", b"v3", version=0)
        check("bad version", False)
    except BadVersionError:
        check("bad version", True)
    data, stat = zk.get(root + "/p")
    check("get data", data == b"v2" and stat.version == 1 and stat.dataLength == 2)
    rstat = zk.exists(root)
    check("cversion and numChildren", rstat.numChildren == 5 and rstat.cversion == 5)
    fired = threading.Event(); events = []
    def watcher(event):
        events.append(event); fired.set()
    zk.get(root + "/p", watch=watcher)
    zk.set(root + "/p", b"v3")
    check("data watch", fired.wait(10) and events[0].type == "CHANGED" and events[0].path == root + "/p")
    fired.clear(); events.clear()
    zk.get_children(root, watch=watcher)
    zk.create(root + "/w", b"")
    check("child watch", fired.wait(10) and events[0].type == "CHILD" and events[0].path == root)
    fired.clear(); events.clear()
    zk.exists(root + "/later", watch=watcher)
    zk.create(root + "/later", b"")
    check("exists watch", fired.wait(10) and events[0].type == "CREATED")
    t = zk.transaction()
    t.create(root + "/t1", b"a")
    t.set_data(root + "/t1", b"b")
    t.check(root + "/p", 2)
    results = t.commit()
    check("transaction commit", results[0] == root + "/t1" and results[1].version == 1 and results[2] is True)
    t = zk.transaction()
    t.create(root + "/t2", b"a")
    t.delete(root + "/missing")
    t.set_data(root + "/p", b"x")
    results = t.commit()
    check("transaction rollback", isinstance(results[0], RolledBackError) and isinstance(results[1], NoNodeError)
          and type(results[2]).__name__ == "RuntimeInconsistency" and zk.exists(root + "/t2") is None)
    acl = make_digest_acl("alice", "secret", all=True)
    zk.create(root + "/secure", b"hidden", acl=[acl])
    other = KazooClient(hosts=hosts, timeout=10); other.start(timeout=15)
    try:
        other.get(root + "/secure")
        check("noauth without credentials", False)
    except NoAuthError:
        check("noauth without credentials", True)
    other.add_auth("digest", "alice:secret")
    check("read with digest auth", other.get(root + "/secure")[0] == b"hidden")
    acls, _ = other.get_acls(root + "/secure")
    check("getacl digest", acls[0].id.scheme == "digest" and acls[0].id.id == acl.id.id)
    zk.create(root + "/readonly", b"r", acl=[make_acl("world", "anyone", read=True)])
    acls, _ = zk.get_acls(root + "/readonly")
    check("world read acl", acls[0].perms == 1)
    try:
        zk.set(root + "/readonly", b"w")
        check("write denied", False)
    except NoAuthError:
        check("write denied", True)
    other.stop(); other.close()
    try:
        zk.delete(root)
        check("not empty", False)
    except NotEmptyError:
        check("not empty", True)
    zk.add_auth("digest", "alice:secret")
    zk.delete(root, recursive=True)
    check("recursive delete", zk.exists(root) is None)
    zk.stop(); zk.close()
    print("DONE")
    """#
