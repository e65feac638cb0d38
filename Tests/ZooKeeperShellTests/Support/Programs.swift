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
        let code = try spawn(
            executable, arguments, environment: environment, input: inputPath, output: outputPath, error: errorPath,
            timeout: timeout)
        return ProgramRun(
            output: try String(contentsOfFile: outputPath, encoding: .utf8),
            error: try String(contentsOfFile: errorPath, encoding: .utf8),
            exitCode: code)
    }

    /// Marks every open descriptor above stderr close-on-exec (harmless here: only children are affected).
    private static func closeOnExecEverythingAbove2() {
        guard let directory = opendir("/proc/self/fd") else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// posix_spawn and waitpid, rather than Foundation's Process, whose waitUntilExit can hang on Linux when
    /// the child leaves a daemon behind (tmux does).
    private static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String], input: String, output: String,
        error: String, timeout: Double
    ) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, error, O_WRONLY | O_TRUNC, 0o644)
        // Nothing else of ours may leak into the child: a daemon it leaves behind (tmux) would otherwise hold
        // the test servers' guard pipes open, and their guards would never see the test end.
        closeOnExecEverythingAbove2()
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The child starts with no signal blocked, whatever this test thread blocks.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw HarnessError("cannot start \(executable): error \(result)") }
        var status: Int32 = 0
        let finished = TestEnvironment.waitUntil(timeout: timeout) { waitpid(pid, &status, WNOHANG) == pid }
        if !finished {
            kill(pid, SIGKILL)
            waitpid(pid, &status, 0)
            throw HarnessError("\(executable) \(arguments) did not finish within \(timeout) s")
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
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
