import Foundation
import ZooKeeperTestSupport

/// What a finished program left behind.
struct ProgramRun: Sendable {
    var output: String
    var error: String
    var exitCode: Int32
}

/// Runs programs the way a script would: stdin from a file, stdout and stderr to files (so that nothing can
/// block on a full pipe), with a bound on the time they may take.
enum Programs {
    /// The `zkcli` built next to this test bundle.
    static var zkcli: String {
        get throws {
            let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for candidate in [directory, directory.deletingLastPathComponent()] {
                let path = candidate.appendingPathComponent("zkcli").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw HarnessError("zkcli is not built next to the tests (\(directory.path)); run `swift build` first")
        }
    }

    static func run(
        _ executable: String, _ arguments: [String], input: String = "", environment: [String: String] = [:],
        timeout: Double = 120
    ) throws -> ProgramRun {
        let directory = try TestEnvironment.temporaryDirectory("zkcli-run")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let inputPath = directory + "/in"
        let outputPath = directory + "/out"
        let errorPath = directory + "/err"
        try input.write(toFile: inputPath, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardInput = FileHandle(forReadingAtPath: inputPath)
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle(forWritingAtPath: errorPath)
        try process.run()
        let finished = TestEnvironment.waitUntil(timeout: timeout) { !process.isRunning }
        if !finished {
            process.terminate()
            process.waitUntilExit()
            throw HarnessError("\(executable) \(arguments) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        return ProgramRun(
            output: try String(contentsOfFile: outputPath, encoding: .utf8),
            error: try String(contentsOfFile: errorPath, encoding: .utf8),
            exitCode: process.terminationStatus)
    }

    /// Runs our shell against `server`.
    static func zkcli(
        server: String, _ arguments: [String] = [], input: String = "", environment: [String: String] = [:]
    ) throws -> ProgramRun {
        try run(try zkcli, ["-server", server] + arguments, input: input, environment: environment)
    }

    /// Runs Apache's zkCli.sh against `server` (with a writable log directory, as it needs one).
    static func apacheCli(server: String, _ arguments: [String] = [], input: String = "") throws -> ProgramRun {
        try ApacheZooKeeperInstallation.require()
        let logDirectory = try TestEnvironment.temporaryDirectory("zkcli-log")
        defer { try? FileManager.default.removeItem(atPath: logDirectory) }
        return try run(
            ApacheZooKeeperInstallation.zkCli, ["-server", server] + arguments, input: input,
            environment: ["ZOO_LOG_DIR": logDirectory])
    }
}
