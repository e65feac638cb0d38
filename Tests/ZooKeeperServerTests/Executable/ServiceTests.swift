import Foundation
import Testing
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// What an operator running zkserver as a service relies on: `--check-config`, line-per-message logs that a
/// collector parses, and SIGHUP not stopping the server.
@Suite struct ServiceTests {
    func checkConfig(_ lines: [String], extra: [String] = []) throws -> (ProgramRun, String) {
        let directory = try TestEnvironment.temporaryDirectory("zkserver-check")
        let file = directory + "/zoo.cfg"
        try lines.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return (try Programs.run(try ZKServerProcess.executable(), ["--check-config", file] + extra), file)
    }

    @Test func checkConfigAcceptsAGoodFileAndStartsNothing() throws {
        let directory = try TestEnvironment.temporaryDirectory("zkserver-check-data")
        let dataDirectory = directory + "/not-yet/data"
        let (run, file) = try checkConfig(["tickTime=2000", "dataDir=\(dataDirectory)", "clientPort=2999"])
        #expect(run.exitCode == 0, "\(run.error)")
        #expect(run.output == "\(file): OK (clientPort 2999, dataDir \(dataDirectory))\n")
        #expect(run.error == "")
        // Checking creates nothing: the data directory is made when the server starts.
        #expect(!FileManager.default.fileExists(atPath: directory + "/not-yet"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func checkConfigWarnsAboutUnknownKeysAndAppliesFlags() throws {
        let (run, file) = try checkConfig(
            ["tickTime=2000", "someFutureKey=1"], extra: ["--port", "3111", "--in-memory"])
        #expect(run.exitCode == 0)
        #expect(run.output == "\(file): OK (clientPort 3111, dataDir none: in memory)\n")
        #expect(run.error == "zkserver: unknown key 'someFutureKey' in the configuration is ignored\n")
    }

    @Test(arguments: [
        (["tickTime=fast"], "line 1: tickTime must be a whole number, got 'fast'"),
        (["clientPort=70000"], "line 1: clientPort must be at most 65535, got '70000'"),
        (["dataDir=/etc/hostname"], "dataDir /etc/hostname is not a directory"),
        (["dataDir=/proc/zkserver/data"], "dataDir /proc/zkserver/data does not exist and cannot be created in /proc"),
        (["server.1=a:2888:3888", "server.2=b:2888:3888"], "the configuration lists 2 servers"),
    ])
    func checkConfigRefusesWhatCannotWorkInOneLine(lines: [String], reason: String) throws {
        let (run, file) = try checkConfig(lines)
        #expect(run.exitCode == 64)
        #expect(run.output == "")
        #expect(run.error.hasPrefix("zkserver: \(file): \(reason)"), "\(run.error)")
        #expect(run.error.filter { $0 == "\n" }.count == 1, "one line: \(run.error)")
    }

    /// A collector reads every line as one JSON object (or logfmt record) with the time, level and message.
    @Test(arguments: ["json", "logfmt"])
    func logLinesParse(format: String) throws {
        let directory = try TestEnvironment.temporaryDirectory("zkserver-log-format")
        let port = try TestEnvironment.freePort()
        let log = directory + "/server.log"
        let process = try ManagedProcess(
            executable: try ZKServerProcess.executable(),
            arguments: ["--in-memory", "--host", "127.0.0.1", "--port", "\(port)", "--log-format", format],
            workingDirectory: directory, logFile: log)
        defer { process.stop(signal: SIGKILL) }
        #expect(TestEnvironment.waitUntil(timeout: 30) { process.log().contains("serving on") })
        process.send(SIGTERM)
        #expect(process.waitForExit(timeout: 20))
        let lines = process.log().split(separator: "\n").map(String.init)
        #expect(lines.count >= 3, "\(lines)")
        for line in lines {
            switch format {
            case "json":
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["level"] is String && object?["message"] is String, "\(line)")
                let time = object?["time"] as? String ?? ""
                #expect(time.hasSuffix("Z") && ISO8601DateFormatter.withFractions.date(from: time) != nil, "\(line)")
            default:
                #expect(line.hasPrefix("time=") && line.contains(" level=") && line.contains(" msg="), "\(line)")
            }
        }
        #expect(lines.contains { $0.contains("serving on 127.0.0.1:\(port)") })
    }

    /// SIGHUP (a closed terminal, a reload attempt) is logged and ignored: the server keeps serving.
    @Test func sighupIsLoggedAndIgnored() throws {
        let directory = try TestEnvironment.temporaryDirectory("zkserver-sighup")
        let server = try ZKServerProcess(
            port: try TestEnvironment.freePort(), configuration: ["tickTime=2000"], logFile: directory + "/server.log")
        defer { server.kill() }
        server.process.send(SIGHUP)
        #expect(TestEnvironment.waitUntil(timeout: 20) { server.process.log().contains("SIGHUP ignored") })
        #expect(server.process.isRunning)
        #expect(TestEnvironment.fourLetterWord("ruok", port: server.port, timeout: 5) == "imok")
        server.process.send(SIGTERM)
        #expect(server.process.waitForExit(timeout: 20))
    }
}

extension ISO8601DateFormatter {
    fileprivate static var withFractions: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
