import Foundation
import Testing
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// zkcli against Apache's zkCli.sh (Debian's 3.8.0, no JLine), both on the same real Apache ZooKeeper: the
/// same script, the same stdout, stderr and exit codes after normalising what must differ between two runs
/// (zxids, times, session ids, the test root).
///
/// Where zkcli deliberately does better, the difference is named here, and each one is checked on its own:
///  1. No start-up banner (`Connecting to`, `Welcome to ZooKeeper!`, `JLine support is disabled`) in scripts.
///  2. No `WATCHER::` blocks of type None (connection changes) in scripts and one-shot commands: they are not
///     results. Node events that a command asked for are printed as zkCli prints them.
///  3. `get` and `set` accept `-b` / `-x` (zkCli 3.8.5+/3.9.3+), so their usage strings are the 3.8.5+ ones
///     (with the option table); Debian's 3.8.0 prints `get [-s] [-w] path` and `set [-s] [-v version] path data`.
///  4. The exit code of a script is non-zero when any command failed (zkCli: only the last command counts),
///     and `--stop-on-error` stops at the first failure.
///  5. Malformed numbers (`redo abc`, `set/delete/setAcl -v abc`) and bad base64 get a message and the usage
///     line, exit 1; zkCli dies with a Java stack trace (and leaves its session open).
///  6. `help` prints the usage listing on stdout (exit 0); `exit` quits; `ls2` and `rmr` work as deprecated
///     aliases with 3.5's notes. zkCli 3.8: `Command not found` (127).
///  7. A blank (whitespace-only) line does nothing; zkCli runs it as the command " " (usage, 127).
///  8. `version` names this implementation.
///  9. `Not connected` (after `close`) exits 1 (zkCli 0), and built-ins (`history`, `printwatches`, `redo`,
///     `connect`, `help`) do not print it.
/// 10. A failed `redo` target, `sync`, `deleteall` batch, `setquota` validation, `setAcl -R` node, or a
///     rejected `addauth` exit 1 (zkCli 0 for these).
/// 11. At the end of a script (EOF) and after a one-shot command the session is closed, so ephemeral nodes go
///     at once (zkCli leaves them until the session times out).
/// 12. A bad path or an ACL with no valid entry is followed by the command's usage (as missing arguments are);
///     zkCli prints the message alone.
@Suite(.serialized)
struct DifferentialTests {
    /// Every command, option and error that Debian's zkCli 3.8.0 and zkcli share. `$R` is the test root.
    static let script = """
        create $R
        create $R/a hello
        create $R/q "hello world"
        create $R/w3 a"b
        create $R/n ""
        create $R/nul
        create $R/sp 'single quoted'
        get $R/a
        get $R/q
        get $R/w3
        get $R/n
        get $R/nul
        get $R/sp
        get -s $R/a
        get -sw $R/q
        get
        get -z $R/a
        get /nonexist
        get relative
        get $R/
        get --long $R/a
        get $R/a watch
        ls $R
        ls -s $R
        ls -R $R
        ls -R -s $R/a
        ls -w $R
        ls $R watch
        ls
        ls -? $R
        ls /nonexist
        ls -R /nonexist
        stat $R/a
        stat /nonexist
        stat -w $R/nul
        stat $R/sp watch
        stat
        set $R/a world
        set -s $R/a world2
        set -v 1 $R/a x
        set $R/a
        set /nonexist x
        set -v -1 $R/a minusone
        set $R/a -1
        set -v
        create -s $R/seq
        create -s $R/seq
        create -s $R/
        create -e $R/eph
        create -e -s $R/eseq
        create -c $R/cont
        create -t 100000 $R/ttl
        create -t abc $R/ttl2
        create -t 5 -e $R/ttl3
        create -t 5 -c $R/ttl4
        create -c -s $R/c2
        create -t 0 $R/ttl5
        create -t -5 $R/ttl6
        create $R/a
        create /nonexist/x
        create relative
        create $R/eph/child
        create
        create -t
        create -x $R/x
        create $R/acl1 data world:anyone:cdrwa
        create $R/acl2 data bad
        create $R/acl3 data world:anyone:rwz
        create $R/acl4 data digest:user1:+owfoSBn/am19roBPzR1/MfCblE=:cdrwa
        create $R/acl5 data world:anyone:cdrwa,bad,ip:127.0.0.1:r
        getAcl $R/acl1
        getAcl $R/acl4
        getAcl $R/acl5
        getAcl -s $R/acl1
        getAcl /nonexist
        getAcl
        setAcl $R/acl1 world:anyone:r
        getAcl $R/acl1
        setAcl -s $R/acl1 world:anyone:rw
        setAcl -v 5 $R/acl1 world:anyone:rw
        setAcl $R/acl1 bad
        setAcl $R/acl1
        setAcl -R $R/q world:anyone:cdrwa
        getAcl $R/acl3
        getEphemerals $R/eph
        getEphemerals /nonexist
        getAllChildrenNumber $R
        getAllChildrenNumber
        getAllChildrenNumber /nonexist
        sync $R
        sync /nonexist
        sync
        sync rel
        whoami
        addauth digest user1:12345
        whoami
        getAcl $R/acl4
        addauth
        addWatch $R/a
        addWatch -m PERSISTENT $R/q
        addWatch -m persistent $R/sp
        addWatch -m bogus $R/q
        addWatch
        addWatch $R/a $R/b
        set $R/a again
        set $R/sp again
        removewatches $R/nonexistent
        removewatches $R/sp
        removewatches
        config
        config -c
        setquota -n 10 $R
        listquota $R
        setquota -b 100 $R
        listquota $R
        setquota -N 20 $R
        listquota $R
        setquota -n 5 $R/a
        setquota -n 5 -b 5 $R
        setquota -n 0 $R
        setquota -b -1 $R
        setquota -n abc $R
        setquota -n 5 /zookeeper/quota/x
        setquota -n 5 /nonexist
        setquota
        delquota -n $R
        listquota $R
        delquota $R
        listquota $R
        delquota $R
        listquota /nonexist
        reconfig -add server.5=127.0.0.1:1:2;3
        reconfig
        reconfig -v zz -add x
        reconfig -file /x -add y
        delete $R/n
        delete $R/nonexist
        delete -v 5 $R/q
        delete $R/w3 3
        delete
        delete $R
        delete relative
        deleteall -b abc $R/q
        deleteall
        deleteall /nonexist
        deleteall relative
        history
        redo 1
        redo 999
        redo -1
        redo
        printwatches
        printwatches off
        printwatches
        printwatches on
        version extra
        nosuchcommand
        ls $R
        deleteall $R
        ls $R
        close
        ls /
        quit
        """

    /// A run's output with what must differ between two runs normalised away.
    struct Normalised: Equatable, CustomStringConvertible {
        var output: String
        var error: String
        /// Node events (`WatchedEvent ...` lines), sorted: zkCli prints them from another thread, so their
        /// place among the results varies from run to run.
        var events: [String]

        var description: String { "stdout:\n\(output)\nstderr:\n\(error)\nevents:\n\(events.joined(separator: "\n"))" }
    }

    static func normalise(_ run: ProgramRun, root: String, apache: Bool) -> Normalised {
        var lines = run.output.replacingOccurrences(of: root, with: "/R").components(separatedBy: "\n")
        if apache {
            // Exception 1: the banner.
            let banner = ["Welcome to ZooKeeper!", "JLine support is disabled"]
            lines.removeAll { $0.hasPrefix("Connecting to ") || banner.contains($0) }
        }
        var events: [String] = []
        var kept: [String] = []
        var index = 0
        while index < lines.count {
            if index + 3 < lines.count, lines[index].isEmpty, lines[index + 1] == "WATCHER::",
                lines[index + 2].isEmpty, lines[index + 3].hasPrefix("WatchedEvent ")
            {
                // Exception 2: connection changes are not printed by zkcli in scripts.
                if !lines[index + 3].contains(" type:None ") { events.append(lines[index + 3]) }
                index += 4
                continue
            }
            kept.append(normaliseStatLine(lines[index]))
            index += 1
        }
        var error = run.error.replacingOccurrences(of: root, with: "/R")
        if apache {
            // Exception 3: the 3.8.5+ usage of get and set (the listing's lines first, which contain the others).
            error = error.replacingOccurrences(of: "\tget [-s] [-w] path\n", with: "\tget [-s] [-w] [-b] [-x] path\n")
            error = error.replacingOccurrences(
                of: "\tset [-s] [-v version] path data\n", with: "\tset path data [-s] [-v version] [-b]\n")
            error = error.replacingOccurrences(
                of: "get [-s] [-w] path\n",
                with:
                    "get [-s] [-w] [-b] [-x] path\n -b   Output data in base64 format\n -s   Print znode stats additionally\n -w   Watch for changes on the znode\n -x   Output data in hexdump format\n\n"
            )
            error = error.replacingOccurrences(
                of: "set [-s] [-v version] path data\n",
                with:
                    "set path data [-s] [-v version] [-b]\n -b         Supply data in base64 format\n -s         Print znode stats additionally\n -v <arg>   Set with an expected version\n\n"
            )
        }
        var errorLines = error.components(separatedBy: "\n").filter { !$0.hasPrefix("SLF4J: ") }
        if !apache { errorLines = withoutUsageAfterMalformedInput(errorLines) }
        return Normalised(
            output: kept.joined(separator: "\n"), error: errorLines.joined(separator: "\n"), events: events.sorted())
    }

    /// Exception 12: drops the usage block that zkcli prints after a path or ACL error.
    static func withoutUsageAfterMalformedInput(_ lines: [String]) -> [String] {
        let usages = Dictionary(
            CommandRegistry.specs.map { ("\($0.name) \($0.syntax)", $0.optionTable != nil) },
            uniquingKeysWith: { first, _ in first })
        func isMalformedInput(_ line: String) -> Bool {
            line.hasPrefix("Path must ") || line.hasPrefix("Path length must") || line.hasPrefix("Invalid path string ")
                || line == "Acl is not valid : null"
        }
        var result: [String] = []
        var index = 0
        while index < lines.count {
            result.append(lines[index])
            if isMalformedInput(lines[index]), index + 1 < lines.count, let hasTable = usages[lines[index + 1]] {
                index += 2
                if hasTable {
                    while index < lines.count, lines[index].hasPrefix(" -") { index += 1 }
                    index += 1  // the blank line after the table
                }
                continue
            }
            index += 1
        }
        return result
    }

    /// With ZKCLI_DIFF_DUMP=<directory>, writes both normalised runs there for `diff`.
    static func dump(_ expected: Normalised, _ actual: Normalised, name: String) {
        guard let directory = ProcessInfo.processInfo.environment["ZKCLI_DIFF_DUMP"] else { return }
        try? expected.description.write(toFile: "\(directory)/\(name).zkcli.sh", atomically: true, encoding: .utf8)
        try? actual.description.write(toFile: "\(directory)/\(name).zkcli", atomically: true, encoding: .utf8)
    }

    static func normaliseStatLine(_ line: String) -> String {
        for prefix in ["cZxid = ", "mZxid = ", "pZxid = ", "ctime = ", "mtime = ", "ephemeralOwner = "]
        where line.hasPrefix(prefix) {
            if prefix == "ephemeralOwner = " && line == "ephemeralOwner = 0x0" { return line }
            return prefix + "*"
        }
        return line
    }

    static func root(_ name: String) -> String {
        SharedTestServers.uniqueRoot(name)
    }

    @Test func pipedScriptMatchesZkCli() throws {
        let server = try SharedTestServers.connectString(.apache)
        let apacheRoot = Self.root("diffzk")
        let ourRoot = Self.root("diffours")
        let apache = try Programs.apacheCli(
            server: server, input: Self.script.replacingOccurrences(of: "$R", with: apacheRoot) + "\n")
        let ours = try Programs.zkcli(
            server: server, input: Self.script.replacingOccurrences(of: "$R", with: ourRoot) + "\n")
        let expected = Self.normalise(apache, root: apacheRoot, apache: true)
        let actual = Self.normalise(ours, root: ourRoot, apache: false)
        Self.dump(expected, actual, name: "script")
        #expect(actual.output == expected.output)
        #expect(actual.error == expected.error)
        #expect(actual.events == expected.events)
        #expect(!expected.events.isEmpty, "the script fires watches; both shells must print them")
        // Exception 4: zkCli exits with the last line's code (quit after success: 0); zkcli reports failures.
        #expect(apache.exitCode == 0)
        #expect(ours.exitCode == 1)
        // Exception 1 and 2, seen from the other side.
        #expect(!ours.output.contains("Connecting to"))
        #expect(!ours.output.contains("type:None"))
        #expect(apache.output.contains("Welcome to ZooKeeper!"))
    }

    /// One-shot commands: the same stdout, stderr and exit code.
    static let oneShotCases: [([String], Int32)] = [
        (["ls", "$R"], Int32(0)),
        (["ls", "-s", "$R"], 0),
        (["get", "/nonexist"], 1),
        (["stat", "/nonexist"], 1),
        (["nosuchcommand", "x"], 127),
        (["ls", "-x", "/"], 1),
        (["create", "$R/one", "x"], 0),
        (["set", "-v", "7", "$R", "y"], 1),
        (["delete", "relative"], 1),
        (["getAcl", "$R"], 0),
        (["create", "$R/acl", "x", "nonsense"], 1),
    ]

    @Test(arguments: oneShotCases)
    func oneShotMatchesZkCli(arguments: [String], expectedCode: Int32) throws {
        let server = try SharedTestServers.connectString(.apache)
        let apacheRoot = Self.root("onezk")
        let ourRoot = Self.root("oneours")
        // Each root exists (with a child), so that listings have something to show.
        for root in [apacheRoot, ourRoot] {
            _ = try Programs.zkcli(server: server, input: "create \(root) data\ncreate \(root)/child\n")
        }
        let apache = try Programs.apacheCli(
            server: server, arguments.map { $0.replacingOccurrences(of: "$R", with: apacheRoot) })
        let ours = try Programs.zkcli(
            server: server, arguments.map { $0.replacingOccurrences(of: "$R", with: ourRoot) })
        let expected = Self.normalise(apache, root: apacheRoot, apache: true)
        let actual = Self.normalise(ours, root: ourRoot, apache: false)
        Self.dump(expected, actual, name: arguments.joined(separator: "_").replacingOccurrences(of: "/", with: ""))
        #expect(actual == expected)
        #expect(apache.exitCode == expectedCode)
        #expect(ours.exitCode == expectedCode)
    }

    /// Exception 5: where zkCli dies with a stack trace, zkcli explains and shows the usage.
    static let malformedCases: [([String], String)] = [
        (["redo", "abc"], "cmdno must be an int value: abc\nredo cmdno\n"),
        (["set", "-v", "abc", "$R", "x"], "-v argument must be an int value\nset path data [-s] [-v version] [-b]\n"),
        (["delete", "-v", "abc", "$R"], "-v argument must be an int value\ndelete [-v version] path\n"),
        (
            ["setAcl", "-v", "abc", "$R", "world:anyone:r"],
            "-v argument must be an int value\nsetAcl [-s] [-v version] [-R] path acl\n"
        ),
    ]

    @Test(arguments: malformedCases)
    func malformedNumbersGetAMessageNotAStackTrace(arguments: [String], message: String) throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = Self.root("crash")
        let words = arguments.map { $0.replacingOccurrences(of: "$R", with: root) }
        let apache = try Programs.apacheCli(server: server, words)
        #expect(apache.exitCode == 1)
        #expect(apache.error.contains("java.lang.NumberFormatException"))
        let ours = try Programs.zkcli(server: server, words)
        #expect(ours.exitCode == 1)
        #expect(ours.error.hasPrefix(message))
        #expect(ours.output.isEmpty)
        #expect(!ours.error.contains("Exception"))
    }

    /// Exceptions 6 and 7: help, exit, ls2, rmr and blank lines.
    @Test func additionsThatZkCliLacks() throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = Self.root("extra")
        let input = """
            create \(root)
            create \(root)/a
            help
              \t
            ls2 \(root)
            rmr \(root)
            history
            exit
            ls /
            """
        let apache = try Programs.apacheCli(
            server: server, input: input.replacingOccurrences(of: root, with: root + "z"))
        #expect(apache.error.contains("Command not found: Command not found help"))
        #expect(apache.error.contains("Command not found: Command not found ls2"))
        #expect(apache.error.contains("Command not found: Command not found rmr"))
        #expect(apache.error.contains("Command not found: Command not found exit"))

        let ours = try Programs.zkcli(server: server, input: input)
        #expect(ours.output.hasPrefix("ZooKeeper -server host:port -client-configuration properties-file cmd args\n"))
        #expect(ours.output.contains("\n[a]\ncZxid = 0x"))
        #expect(
            ours.error
                == "Created \(root)\nCreated \(root)/a\n'ls2' has been deprecated. Please use 'ls [-s] path' instead.\n"
                + "The command 'rmr' has been deprecated. Please use 'deleteall' instead.\n")
        // The blank line took no history slot; exit quit before `ls /`.
        #expect(
            ours.output.hasSuffix(
                "0 - create \(root)\n1 - create \(root)/a\n2 - help\n3 - ls2 \(root)\n4 - rmr \(root)\n5 - history\n"))
        #expect(ours.exitCode == 0)
    }

    /// Exception 8.
    @Test func versionNamesThisImplementation() throws {
        let server = try SharedTestServers.connectString(.apache)
        let ours = try Programs.zkcli(server: server, ["version"])
        #expect(ours.output.hasPrefix("ZooKeeper CLI version: swift-zookeeper "))
        #expect(ours.exitCode == 0)
        let apache = try Programs.apacheCli(server: server, ["version"])
        #expect(apache.output.contains("ZooKeeper CLI version: 3.8.0"))
    }
}
