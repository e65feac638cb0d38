import Foundation

/// What a finished program left behind.
public struct ProgramRun: Sendable {
    public var output: String
    public var error: String
    public var exitCode: Int32
}

/// Runs programs the way a script would: stdin from a file, stdout and stderr to files (so that nothing can
/// block on a full pipe), with a bound on the time they may take.
public enum Programs {
    /// The `zkcli` built next to this test bundle.
    public static var zkcli: String {
        get throws {
            let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            for candidate in [directory, directory.deletingLastPathComponent()] {
                let path = candidate.appendingPathComponent("zkcli").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
            throw HarnessError("zkcli is not built next to the tests (\(directory.path)); run `swift build` first")
        }
    }

    /// The `zkbench` built beside zkserver.
    public static var zkbench: String {
        get throws {
            let path = URL(fileURLWithPath: try ZKServerProcess.executable()).deletingLastPathComponent()
                .appendingPathComponent("zkbench").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw HarnessError("zkbench is not built next to zkserver; run swift build first")
            }
            return path
        }
    }

    public static func run(
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
        let code = try spawn(
            executable, arguments, environment: environment, input: inputPath, output: outputPath, error: errorPath,
            timeout: timeout)
        return ProgramRun(
            output: try String(contentsOfFile: outputPath, encoding: .utf8),
            error: try String(contentsOfFile: errorPath, encoding: .utf8),
            exitCode: code)
    }

    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], input: String, output: String,
        error: String, timeout: Double
    ) throws -> Int32 {
        let child = try ChildProcess(
            executable, arguments, environment: environment, input: .file(input), output: .file(output),
            error: .file(error))
        guard child.wait(timeout: timeout), let code = child.exitCode else {
            throw HarnessError("\(executable) \(arguments) did not finish within \(timeout) s")
        }
        return code
    }

    /// Runs our shell against `server`.
    public static func zkcli(
        server: String, _ arguments: [String] = [], input: String = "", environment: [String: String] = [:]
    ) throws -> ProgramRun {
        try run(try zkcli, ["-server", server] + arguments, input: input, environment: environment)
    }

    /// Runs Apache's zkCli.sh against `server` (with a writable log directory, as it needs one).
    public static func apacheCli(server: String, _ arguments: [String] = [], input: String = "") throws -> ProgramRun {
        try ApacheZooKeeperInstallation.require()
        let logDirectory = try TestEnvironment.temporaryDirectory("zkcli-log")
        defer { try? FileManager.default.removeItem(atPath: logDirectory) }
        return try run(
            ApacheZooKeeperInstallation.zkCli, ["-server", server] + arguments, input: input,
            environment: ["ZOO_LOG_DIR": logDirectory])
    }
}
