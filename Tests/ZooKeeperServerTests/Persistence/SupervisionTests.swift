import Foundation
import NIOConcurrencyHelpers
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// zkserver as operators run it: under a supervisor that restarts it whenever it dies. Under a pipelined
/// multi-session writer it is SIGKILLed again and again; after every restart each acknowledged write must be
/// there, the supervisor must have restarted it exactly once per kill, and a session that lives through all of
/// it must keep its id and its ephemeral znode.
@Suite(.serialized) struct SupervisionTests {
    /// How zkserver gets restarted.
    enum Supervisor: String, CaseIterable, CustomTestStringConvertible {
        /// daemontools' `supervise DIR`, running `DIR/run` (it waits a second between quick restarts).
        case daemontools
        /// A restart loop as systemd's `Restart=always` with `RestartSec=100ms` does it.
        case restartLoop

        var testDescription: String { rawValue }
    }

    /// 20 kills per supervisor in the suite; ZK_SUPERVISE_CYCLES=100 for the campaign noted in BENCHMARKS.md.
    static var cycles: Int { Int(ProcessInfo.processInfo.environment["ZK_SUPERVISE_CYCLES"] ?? "") ?? 20 }

    /// A supervisor started in its own process group, and where it says the current zkserver is.
    final class Supervised: @unchecked Sendable {
        let supervisor: ManagedProcess
        let kind: Supervisor
        let directory: String

        init(_ kind: Supervisor, directory: String, configFile: String) throws {
            self.kind = kind
            self.directory = directory
            let zkserver = try ZKServerProcess.executable()
            let log = directory + "/server.log"
            switch kind {
            case .daemontools:
                let service = directory + "/service"
                try FileManager.default.createDirectory(atPath: service, withIntermediateDirectories: true)
                try "#!/bin/sh\nexec '\(zkserver)' '\(configFile)' 2>>'\(log)'\n"
                    .write(toFile: service + "/run", atomically: true, encoding: .utf8)
                chmod(service + "/run", 0o755)
                supervisor = try ManagedProcess(
                    executable: try Self.tool("supervise", package: "daemontools"), arguments: [service],
                    workingDirectory: directory, logFile: directory + "/supervisor.log", processGroup: true)
            case .restartLoop:
                let script = """
                    restarts=0
                    while :; do
                        '\(zkserver)' '\(configFile)' 2>>'\(log)' &
                        echo $! > '\(directory)/pid.tmp' && mv '\(directory)/pid.tmp' '\(directory)/pid'
                        wait $!
                        restarts=$((restarts + 1))
                        echo $restarts > '\(directory)/restarts'
                        sleep 0.1
                    done
                    """
                supervisor = try ManagedProcess(
                    executable: "/bin/sh", arguments: ["-c", script], workingDirectory: directory,
                    logFile: directory + "/supervisor.log", processGroup: true)
            }
        }

        static func tool(_ name: String, package: String) throws -> String {
            let path = "/usr/bin/" + name
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw HarnessError("\(name) is not installed; install it with: sudo apt-get install -y \(package)")
            }
            return path
        }

        /// The pid of the zkserver the supervisor runs now, if it runs one.
        func serverPID() throws -> pid_t? {
            switch kind {
            case .daemontools:
                // `DIR: up (pid 1234) 3 seconds`
                let status = try Programs.run(try Self.tool("svstat", package: "daemontools"), [directory + "/service"])
                guard let range = status.output.range(of: "(pid ") else { return nil }
                return pid_t(status.output[range.upperBound...].prefix { $0.isNumber })
            case .restartLoop:
                guard let text = try? String(contentsOfFile: directory + "/pid", encoding: .utf8) else { return nil }
                return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }

        /// Waits (bounded) for a zkserver other than `previous` that answers on `port`.
        func waitForServer(other previous: pid_t?, port: Int) throws -> pid_t {
            var current: pid_t?
            let up = TestEnvironment.waitUntil(timeout: 30) {
                guard let pid = try? serverPID(), pid != previous, kill(pid, 0) == 0 else { return false }
                current = pid
                return TestEnvironment.fourLetterWord("srvr", port: port, timeout: 2)?.contains("Mode:") == true
            }
            guard up, let current else { throw HarnessError("no zkserver came up under \(kind)") }
            return current
        }

        func stop() {
            supervisor.stop(signal: SIGKILL, timeout: 10)
        }
    }

    @Test(.timeLimit(.minutes(20)), arguments: Supervisor.allCases)
    func everyAcknowledgedWriteSurvivesRepeatedKillsUnderASupervisor(supervisor kind: Supervisor) async throws {
        let directory = try TestEnvironment.temporaryDirectory("supervised-\(kind.rawValue)")
        let port = try TestEnvironment.freePort()
        let configFile = directory + "/zoo.cfg"
        try [
            "dataDir=\(directory)/data", "tickTime=2000", "snapCount=700", "clientPort=\(port)",
            "clientPortAddress=127.0.0.1", "4lw.commands.whitelist=*", "maxSessionTimeout=40000",
            "admin.enableServer=false",
        ].joined(separator: "\n").write(toFile: configFile, atomically: true, encoding: .utf8)
        let supervised = try Supervised(kind, directory: directory, configFile: configFile)
        defer { supervised.stop() }

        var pid = try supervised.waitForServer(other: nil, port: port)
        var pids: Set<pid_t> = [pid]
        // A session that must live through every restart: its timeout outlasts a restart with recovery.
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(30)
        let survivor = try await ZooKeeperClient.connect(
            "127.0.0.1:\(port)", configuration: configuration, timeout: .seconds(20))
        let sessionID = survivor.sessionID
        _ = try await survivor.create("/survivor", data: Array("alive".utf8), mode: .ephemeral)

        let model = AcknowledgedWrites()
        var random = SeededGenerator(seed: 20_261_129)
        let cycles = Self.cycles
        for cycle in 0..<cycles {
            let problems = try await model.verifyAll(address: "127.0.0.1:\(port)", cycle: cycle)
            #expect(problems.isEmpty, "cycle \(cycle):\n\(problems.prefix(10).joined(separator: "\n"))")
            if !problems.isEmpty { break }
            let stop = NIOLockedValueBox(false)
            let clients = try await AcknowledgedWrites.connectWriters(address: "127.0.0.1:\(port)", sessions: 2)
            let writers = Task {
                await model.runWriters(clients: clients, workersPerSession: 16, cycle: cycle, seed: 77, stop: stop)
            }
            // The only wait of the test: the random moment of the kill.
            try await Task.sleep(nanoseconds: UInt64.random(in: 30...300, using: &random) * 1_000_000)
            kill(pid, SIGKILL)
            stop.withLockedValue { $0 = true }
            await writers.value
            pid = try supervised.waitForServer(other: pid, port: port)
            pids.insert(pid)
        }
        let problems = try await model.verifyAll(address: "127.0.0.1:\(port)", cycle: cycles)
        #expect(problems.isEmpty, "\(problems.prefix(10).joined(separator: "\n"))")
        #expect(model.acknowledgedCount > cycles * 10, "the writers made progress")

        // One restart per kill, as the supervisor itself counts them where it can.
        #expect(pids.count == cycles + 1)
        if kind == .restartLoop {
            let counted = try String(contentsOfFile: directory + "/restarts", encoding: .utf8)
            #expect(Int(counted.trimmingCharacters(in: .whitespacesAndNewlines)) == cycles)
        }

        // The long-lived session was resumed after every restart: same id, its ephemeral still there.
        try await survivor.waitUntilConnected(timeout: .seconds(20))
        #expect(survivor.sessionID == sessionID)
        let (data, stat) = try await survivor.getData("/survivor")
        #expect(data == Array("alive".utf8))
        #expect(stat.ephemeralOwner == sessionID)
        await survivor.close()
        print(
            "supervised by \(kind.rawValue): \(cycles) SIGKILLs, \(pids.count - 1) restarts, "
                + "\(model.acknowledgedCount) acknowledged writes checked, \(model.unresolvedAtKill) in flight at a kill"
        )
        try? FileManager.default.removeItem(atPath: directory)
    }
}
