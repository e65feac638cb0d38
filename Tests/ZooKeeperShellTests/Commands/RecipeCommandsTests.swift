import Foundation
import Testing
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `lock`, `locks`, `leader` and `counter` as separate zkcli processes, as cron jobs and operators run them, with
/// kazoo (Python's recipes) on the same paths.
@Suite(.serialized)
struct RecipeCommandsTests {
    /// A zkcli process running in the background, its output in files.
    final class Background {
        let process: ChildProcess
        let output: String
        init(_ server: String, _ arguments: [String], in directory: String, name: String) throws {
            output = directory + "/" + name
            process = try ChildProcess(
                try Programs.zkcli, ["-server", server, "-timeout", "4000"] + arguments, output: .file(output + ".out"),
                error: .file(output + ".err"))
        }
        /// Its status, once it has exited within `timeout` seconds.
        func status(within timeout: Double = 60) -> Int32? {
            process.wait(timeout: timeout) ? process.exitCode : nil
        }
        var errors: String { (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? "" }
    }

    func lines(_ file: String) -> [String] {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Each JSON object of `zkcli -o json` output, one per line.
    func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:]
        }
    }

    /// A shell command that records its start in `log`, waits for `release` to exist, and records its end.
    func recordingCommand(log: String, release: String) -> [String] {
        [
            "sh", "-c",
            "echo start $$ >> '\(log)'; while [ ! -e '\(release)' ]; do sleep 0.05; done; echo end $$ >> '\(log)'",
        ]
    }

    func kazoo(_ server: String, _ body: String) throws -> String {
        let script =
            "from kazoo.client import KazooClient\nimport struct\nzk = KazooClient(hosts='\(server)')\nzk.start()\n"
            + body + "\nzk.stop()\n"
        let run = try Programs.run("/usr/bin/env", ["python3", "-c", script])
        #expect(run.exitCode == 0, "kazoo: \(run.error)")
        return run.output
    }

    /// The cron case: two `zkcli lock` started at once on one path; one runs, the other waits (`locks` shows a
    /// holder and a waiter), and their commands never overlap.
    @Test(arguments: TestServerKind.allCases) func twoLocksStartedAtOnceNeverOverlap(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("cron") + "/job"
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let release = directory + "/release"
        let command = recordingCommand(log: log, release: release)
        let first = try Background(server, ["lock", path, "--"] + command, in: directory, name: "first")
        let second = try Background(server, ["lock", path, "--"] + command, in: directory, name: "second")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 1 }, "neither command started")
        // One holds, one waits for it.
        #expect(
            TestEnvironment.waitUntil(timeout: 30) {
                (try? objects(Programs.zkcli(server: server, ["-o", "json", "locks", path]).output).count) == 2
            })
        let contenders = try objects(try Programs.zkcli(server: server, ["-o", "json", "locks", path]).output)
        #expect(contenders.map { $0["holds"] as? Bool } == [true, false])
        #expect(contenders.allSatisfy { $0["kind"] as? String == "curatorLock" })
        #expect(contenders.allSatisfy { ($0["sessionHex"] as? String)?.hasPrefix("0x") == true })
        #expect(lines(log).count == 1, "the second command started while the first held the lock")
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        #expect(first.status() == 0, "\(first.errors)")
        #expect(second.status() == 0, "\(second.errors)")
        let recorded = lines(log)
        #expect(recorded.count == 4)
        let pids = recorded.map { $0.split(separator: " ").last.map(String.init) ?? "" }
        #expect(recorded.map { $0.split(separator: " ").first.map(String.init) } == ["start", "end", "start", "end"])
        #expect(pids[0] == pids[1] && pids[2] == pids[3] && pids[0] != pids[2])
        // Both gone: the lock is free.
        #expect(try Programs.zkcli(server: server, ["locks", path]).output == "")
    }

    /// The command's status is zkcli's; a timeout has its own.
    @Test(arguments: TestServerKind.allCases) func statusesOfTheCommandAndOfATimeout(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("lockstatus")
        #expect(try Programs.zkcli(server: server, ["lock", path, "--", "sh", "-c", "exit 7"]).exitCode == 7)
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let release = directory + "/release"
        let holder = try Background(
            server, ["lock", path, "--"] + recordingCommand(log: log, release: release), in: directory, name: "holder")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 1 })
        let late = try Programs.zkcli(server: server, ["-o", "json", "lock", "-t", "0.5", path, "--", "true"])
        #expect(late.exitCode == 75)
        #expect(try objects(late.error).first?["error"] as? String == "TIMEDOUT")
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        #expect(holder.status() == 0, "\(holder.errors)")
        let missing = try Programs.zkcli(server: server, ["lock", path, "--", "/nonexistent/program"])
        #expect(missing.exitCode == 127)
        #expect(missing.error.contains("No such file or directory"))
    }

    /// A lock taken away while the command runs (its node deleted by another client, as a session expiry deletes
    /// it) stops the command with SIGTERM and ends zkcli with status 76.
    @Test(arguments: TestServerKind.allCases) func aLostLockStopsTheCommand(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("lost")
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let command = [
            "sh", "-c",
            "trap 'echo TERM >> \(log); exit 5' TERM; echo start >> \(log); while true; do sleep 0.05; done",
        ]
        let holder = try Background(server, ["lock", path, "--"] + command, in: directory, name: "holder")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log) == ["start"] })
        #expect(try Programs.zkcli(server: server, ["deleteall", path]).exitCode == 0)
        #expect(holder.status() == 76, "\(holder.errors)")
        #expect(lines(log) == ["start", "TERM"])
        #expect(holder.errors.contains("Lost the lock on \(path)"))
    }

    /// The session's server frozen (SIGSTOP) past the session timeout: zkcli takes the lock as lost (another process
    /// may hold it by now), stops the command, which ignores SIGTERM, with SIGKILL after the grace period.
    @Test func aFrozenServerPastTheSessionTimeoutStopsTheCommand() throws {
        let apache = try ApacheZooKeeperStandalone()
        defer { apache.stop() }
        let path = "/frozen"
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let command = [
            "sh", "-c", "trap 'echo TERM >> \(log)' TERM; echo start >> \(log); while true; do sleep 0.05; done",
        ]
        let holder = try Background(
            apache.address, ["lock", "--grace", "0.5", path, "--"] + command, in: directory, name: "holder")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log) == ["start"] })
        apache.server.send(SIGSTOP)
        let status = holder.status(within: 60)
        apache.server.send(SIGCONT)
        #expect(status == 76, "\(holder.errors)")
        #expect(lines(log).first == "start" && lines(log).contains("TERM"))
        // The client never expires the session itself (no server says so while frozen): zkcli gives the lock up
        // once disconnected for the whole session timeout.
        #expect(holder.errors.hasPrefix("Lost the lock on \(path) (disconnected for the whole session timeout)"))
        #expect(holder.errors.contains("status 137"))
    }

    /// `lock --kazoo` and kazoo's `Lock` exclude each other, and `locks` and kazoo's `contenders()` see each other.
    @Test(arguments: TestServerKind.allCases) func kazooLockInterop(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("kazoo")
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let release = directory + "/release"
        let holder = try Background(
            server, ["lock", "--kazoo", path, "--"] + recordingCommand(log: log, release: release), in: directory,
            name: "holder")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 1 })
        let seen = try kazoo(
            server,
            "lock = zk.Lock('\(path)', 'python')\nprint(lock.acquire(blocking=False))\nprint(len(lock.contenders()))")
        #expect(seen == "False\n1\n")
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        #expect(holder.status() == 0, "\(holder.errors)")

        // kazoo holds; zkcli waits in vain, and lists kazoo's node with kazoo's identifier.
        let kazooHolds = try kazoo(
            server,
            """
            import subprocess, sys, json
            lock = zk.Lock('\(path)', 'python-holder')
            lock.acquire()
            listing = subprocess.run(['\(try Programs.zkcli)', '-server', '\(server)', '-o', 'json', 'locks', '\(path)'], capture_output=True, text=True).stdout
            blocked = subprocess.run(['\(try Programs.zkcli)', '-server', '\(server)', 'lock', '--kazoo', '-t', '0.5', '\(path)', '--', 'true']).returncode
            lock.release()
            print(listing.strip())
            print(blocked)
            """)
        let parts = kazooHolds.split(separator: "\n").map(String.init)
        #expect(parts.count == 2)
        let listed = try objects(parts.first ?? "")
        #expect(listed.first?["kind"] as? String == "kazooLock")
        #expect(listed.first?["owner"] as? String == "python-holder")
        #expect(listed.first?["holds"] as? Bool == true)
        #expect(parts.last == "75")
    }

    /// `leader` shows the participant that leads, and `leader -- command` runs only while leading; the next
    /// participant takes over when the first one's command ends.
    @Test(arguments: TestServerKind.allCases) func leaderRunsOnlyWhileLeading(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("leader")
        let directory = try TestEnvironment.temporaryDirectory("leader")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let noLeader = try Programs.zkcli(server: server, ["leader", path])
        #expect(noLeader.exitCode == 1 && noLeader.error == "No leader for \(path)\n")
        let one = try Background(
            server, ["leader", "--id", "one", path, "--"] + recordingCommand(log: log, release: directory + "/one"),
            in: directory, name: "one")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 1 })
        let two = try Background(
            server, ["leader", "--id", "two", path, "--"] + recordingCommand(log: log, release: directory + "/two"),
            in: directory, name: "two")
        #expect(
            TestEnvironment.waitUntil(timeout: 30) {
                (try? Programs.zkcli(server: server, ["locks", path]).output.split(separator: "\n").count) == 2
            })
        let shown = try objects(try Programs.zkcli(server: server, ["-o", "json", "leader", path]).output)
        #expect(shown.first?["owner"] as? String == "one" && shown.first?["kind"] as? String == "curatorLatch")
        let listing = try Programs.zkcli(server: server, ["holders", path]).output
        #expect(listing.hasPrefix("leads ") && listing.contains(" owner one ") && listing.contains("\nfollows "))
        #expect(lines(log).count == 1)
        _ = FileManager.default.createFile(atPath: directory + "/one", contents: nil)
        #expect(one.status() == 0, "\(one.errors)")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 3 })
        #expect(try Programs.zkcli(server: server, ["leader", "--wait", path]).output.contains(" owner two "))
        _ = FileManager.default.createFile(atPath: directory + "/two", contents: nil)
        #expect(two.status() == 0, "\(two.errors)")
    }

    /// Curator's `InterProcessMutex` and `zkcli lock` exclude each other, and `locks` lists Curator's node.
    @Test(arguments: TestServerKind.allCases) func curatorMutexInterop(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("curator") + "/mutex"
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/curator"
        let release = directory + "/release"
        let curator = try CuratorPeer.start(["hold", server, path, release], output: output)
        defer {
            _ = FileManager.default.createFile(atPath: release, contents: nil)
            curator.wait(timeout: 30)
        }
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(output).contains("HELD") }, "\(lines(output + ".err"))")
        let listed = try objects(try Programs.zkcli(server: server, ["-o", "json", "locks", path]).output)
        #expect(listed.count == 1)
        #expect(listed.first?["kind"] as? String == "curatorLock" && listed.first?["holds"] as? Bool == true)
        #expect(try Programs.zkcli(server: server, ["lock", "-t", "0.5", path, "--", "true"]).exitCode == 75)
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(output).contains("RELEASED") })

        // zkcli holds: Curator cannot acquire, then can once the command has ended.
        let log = directory + "/log"
        let ours = directory + "/ours"
        let holder = try Background(
            server, ["lock", path, "--"] + recordingCommand(log: log, release: ours), in: directory, name: "holder")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 1 })
        func curatorTries() throws -> [String] {
            let file = directory + "/try-\(UInt32.random(in: 0...UInt32.max))"
            let attempt = try CuratorPeer.start(["tryacquire", server, path], output: file)
            attempt.wait(timeout: 60)
            return lines(file)
        }
        #expect(try curatorTries() == ["BLOCKED"])
        _ = FileManager.default.createFile(atPath: ours, contents: nil)
        #expect(holder.status() == 0, "\(holder.errors)")
        #expect(try curatorTries() == ["ACQUIRED"])
    }

    /// `leader` shows a Curator `LeaderLatch` leader, and `leader -- command` follows it, taking over (and running
    /// its command) once the Curator process is killed and its session expires.
    @Test(arguments: TestServerKind.allCases) func curatorLeaderLatchInterop(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("curator") + "/latch"
        let directory = try TestEnvironment.temporaryDirectory("leader")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let output = directory + "/curator"
        let curator = try CuratorPeer.start(["latch", server, path, "curator-1", "4000"], output: output)
        defer {
            kill(curator.pid, SIGKILL)
            curator.wait(timeout: 10)
        }
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(output).contains("LEADER curator-1") })
        let shown = try objects(try Programs.zkcli(server: server, ["-o", "json", "leader", path]).output)
        #expect(shown.first?["owner"] as? String == "curator-1")
        #expect(shown.first?["kind"] as? String == "curatorLatch")
        let log = directory + "/log"
        let follower = try Background(
            server, ["leader", "--id", "zkcli", path, "--"] + recordingCommand(log: log, release: directory + "/r"),
            in: directory, name: "follower")
        #expect(
            TestEnvironment.waitUntil(timeout: 30) {
                (try? Programs.zkcli(server: server, ["locks", path]).output.split(separator: "\n").count) == 2
            })
        #expect(lines(log).isEmpty, "the command ran while Curator led")
        kill(curator.pid, SIGKILL)
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 1 }, "\(follower.errors)")
        #expect(try Programs.zkcli(server: server, ["leader", path]).output.contains(" owner zkcli "))
        _ = FileManager.default.createFile(atPath: directory + "/r", contents: nil)
        #expect(follower.status() == 0, "\(follower.errors)")
    }

    /// SIGTERM to zkcli reaches the command while it runs (its status is then zkcli's); before the lock is
    /// acquired it makes zkcli give up waiting, remove its node and exit with 128 + 15.
    @Test(arguments: TestServerKind.allCases) func signalsAreForwarded(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("signals")
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let command = [
            "sh", "-c",
            "trap 'echo TERM >> \(log); exit 9' TERM; echo start >> \(log); while true; do sleep 0.05; done",
        ]
        let holder = try Background(server, ["lock", path, "--"] + command, in: directory, name: "holder")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log) == ["start"] })
        let waiter = try Background(server, ["lock", path, "--", "true"], in: directory, name: "waiter")
        #expect(
            TestEnvironment.waitUntil(timeout: 30) {
                (try? Programs.zkcli(server: server, ["locks", path]).output.split(separator: "\n").count) == 2
            })
        kill(waiter.process.pid, SIGTERM)
        #expect(waiter.status() == 143, "\(waiter.errors)")
        // Its node went with it, not with its session's expiry.
        #expect(try Programs.zkcli(server: server, ["locks", path]).output.split(separator: "\n").count == 1)
        kill(holder.process.pid, SIGTERM)
        #expect(holder.status() == 9, "\(holder.errors)")
        #expect(lines(log) == ["start", "TERM"])
        #expect(try Programs.zkcli(server: server, ["locks", path]).output == "")
    }

    /// `lock --shared` takes the read side of Curator's read-write lock: two readers run at once.
    @Test(arguments: TestServerKind.allCases) func sharedLocksRunTogether(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("shared")
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let release = directory + "/release"
        let command = recordingCommand(log: log, release: release)
        let readers = try (0..<2).map {
            try Background(server, ["lock", "--shared", path, "--"] + command, in: directory, name: "reader\($0)")
        }
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 2 }, "the readers did not run together")
        let listed = try objects(try Programs.zkcli(server: server, ["-o", "json", "locks", path]).output)
        #expect(listed.map { $0["kind"] as? String } == ["curatorRead", "curatorRead"])
        #expect(listed.allSatisfy { $0["holds"] as? Bool == true })
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        for reader in readers { #expect(reader.status() == 0, "\(reader.errors)") }
    }

    /// `lock --kazoo --shared` takes kazoo's `ReadLock`: a kazoo `WriteLock` keeps it out (status 75), a kazoo
    /// `ReadLock` shares it, and while it runs a kazoo writer cannot take the lock.
    @Test(arguments: TestServerKind.allCases) func kazooReadLockInterop(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("kazoo-rw")
        let zkcli = try Programs.zkcli
        let seen = try kazoo(
            server,
            """
            import subprocess
            def shared_lock(timeout):
                return subprocess.run(['\(zkcli)', '-server', '\(server)', 'lock', '--kazoo', '--shared', '-t', timeout, '\(path)', '--', 'true']).returncode
            writer = zk.WriteLock('\(path)', 'python-writer')
            writer.acquire()
            print(shared_lock('0.5'))
            writer.release()
            reader = zk.ReadLock('\(path)', 'python-reader')
            reader.acquire()
            print(shared_lock('30'))
            reader.release()
            """)
        #expect(seen == "75\n0\n")

        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let release = directory + "/release"
        let reader = try Background(
            server, ["lock", "--kazoo", "--shared", path, "--"] + recordingCommand(log: log, release: release),
            in: directory, name: "reader")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 1 })
        let listed = try objects(try Programs.zkcli(server: server, ["-o", "json", "locks", path]).output)
        #expect(listed.map { $0["kind"] as? String } == ["kazooRead"])
        #expect(try kazoo(server, "print(zk.WriteLock('\(path)', 'w').acquire(blocking=False))") == "False\n")
        _ = FileManager.default.createFile(atPath: release, contents: nil)
        #expect(reader.status() == 0, "\(reader.errors)")
    }

    /// `lock --leases 2` holds one lease of Curator's semaphore: two commands run at once, a third waits until
    /// one ends.
    @Test(arguments: TestServerKind.allCases) func leasesLetNCommandsRunAtOnce(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("leases")
        let directory = try TestEnvironment.temporaryDirectory("lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let releases = (0..<3).map { directory + "/release\($0)" }
        let holders = try (0..<2).map {
            try Background(
                server, ["lock", "--leases", "2", path, "--"] + recordingCommand(log: log, release: releases[$0]),
                in: directory, name: "holder\($0)")
        }
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 2 }, "two leases were not held at once")
        let third = try Background(
            server, ["lock", "--leases", "2", path, "--"] + recordingCommand(log: log, release: releases[2]),
            in: directory, name: "third")
        #expect(
            TestEnvironment.waitUntil(timeout: 60) {
                let listed = try? Programs.zkcli(server: server, ["ls", path + "/leases"]).output
                return listed?.split(separator: ",").count == 3
            })
        #expect(lines(log).count == 2, "the third ran while two leases were held")
        let listed = try objects(try Programs.zkcli(server: server, ["-o", "json", "locks", path + "/leases"]).output)
        #expect(listed.map { $0["kind"] as? String } == ["curatorLease", "curatorLease", "curatorLease"])
        _ = FileManager.default.createFile(atPath: releases[0], contents: nil)
        #expect(holders[0].status() == 0, "\(holders[0].errors)")
        #expect(TestEnvironment.waitUntil(timeout: 60) { lines(log).count == 4 }, "\(lines(log))")
        for release in releases { _ = FileManager.default.createFile(atPath: release, contents: nil) }
        #expect(holders[1].status() == 0, "\(holders[1].errors)")
        #expect(third.status() == 0, "\(third.errors)")
        let bad = try Programs.zkcli(server: server, ["lock", "--leases", "0", path, "--", "true"])
        #expect(bad.exitCode != 0)
        #expect(bad.error.contains("--leases: '0' is not a positive number"), "\(bad.error)")
    }

    /// `barrier -n 2 path enter -- command`: neither member's command runs before both have entered.
    @Test(arguments: TestServerKind.allCases) func doubleBarrierMembersEnterTogether(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("barrier")
        let directory = try TestEnvironment.temporaryDirectory("barrier")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = directory + "/log"
        let command = ["sh", "-c", "echo in >> \(log)"]
        let first = try Background(
            server, ["-o", "json", "barrier", "-n", "2", path, "enter", "--"] + command, in: directory, name: "first")
        #expect(
            TestEnvironment.waitUntil(timeout: 30) {
                (try? Programs.zkcli(server: server, ["ls", path]).output.split(separator: ",").count) == 1
            })
        #expect(lines(log).isEmpty, "a member went through alone")
        let second = try Programs.zkcli(server: server, ["barrier", "-n", "2", path, "enter", "--"] + command)
        #expect(second.exitCode == 0 && second.output == "\(path) entered\n\(path) left\n", "\(second.error)")
        #expect(first.status() == 0, "\(first.errors)")
        #expect(lines(log) == ["in", "in"])
        let firstOutput = try objects(try String(contentsOfFile: first.output + ".out", encoding: .utf8))
        #expect(firstOutput.map { $0["barrier"] as? String } == ["entered", "left"])
    }

    /// `counter` reads and writes Curator's SharedCount layout (a 4-byte big-endian int), checked with kazoo.
    @Test(arguments: TestServerKind.allCases) func counterInteroperates(kind: TestServerKind) throws {
        let server = try SharedTestServers.connectString(kind)
        let path = SharedTestServers.uniqueRoot("counter") + "/count"
        #expect(try Programs.zkcli(server: server, ["counter", path, "add", "5"]).output == "5\n")
        #expect(try Programs.zkcli(server: server, ["counter", path, "add", "--", "-2"]).output == "3\n")
        #expect(try kazoo(server, "print(struct.unpack('>i', zk.get('\(path)')[0])[0])") == "3\n")
        _ = try kazoo(server, "zk.set('\(path)', struct.pack('>i', -42))")
        let read = try objects(try Programs.zkcli(server: server, ["counter", "-o", "json", path]).output)
        #expect(read.first?["count"] as? Int == -42)
        #expect(read.first?["version"] as? Int == 3)
        #expect(try Programs.zkcli(server: server, ["counter", path, "set", "7"]).output == "7\n")
        #expect(try kazoo(server, "print(zk.get('\(path)')[0].hex())") == "00000007\n")
        let bad = try Programs.zkcli(server: server, ["counter", path, "add", "x"])
        #expect(bad.exitCode == 1 && bad.error.hasPrefix("'x' is not a 32-bit integer"))
    }
}
