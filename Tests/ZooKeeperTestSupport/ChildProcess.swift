import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with posix_spawn and reaped with waitpid.
///
/// Not Foundation's Process: its one monitor thread calls a blocking wait4 on a child it believes has exited,
/// and while that child lives no other Process is ever seen to exit, so every `waitUntilExit` hangs (seen in a
/// full test run: the guard of one test's server held the monitor, and two tests waited forever).
public final class ChildProcess: @unchecked Sendable {
    /// Where a standard stream of the child goes.
    public enum Stream {
        /// A file opened for reading (stdin) or truncated for writing (stdout, stderr).
        case file(String)
        /// A descriptor of ours, duplicated onto the stream.
        case descriptor(Int32)
        /// The same as the child's stdout (for stderr).
        case standardOutput
    }

    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` (a path) with `arguments`, our environment plus `environment`, and the three streams.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        input: Stream = .file("/dev/null"), output: Stream = .file("/dev/null"), error: Stream = .file("/dev/null")
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, stream) in [(Int32(0), input), (1, output), (2, error)] {
            switch stream {
            case .file(let path):
                let flags = target == 0 ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC
                posix_spawn_file_actions_addopen(&actions, target, path, flags, 0o644)
            case .descriptor(let fd):
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            case .standardOutput:
                posix_spawn_file_actions_adddup2(&actions, 1, target)
            }
        }
        // Nothing else of ours may leak into the child: a daemon it leaves behind (tmux) would otherwise hold
        // the test servers' guard pipes open, and their guards would never see the test end.
        Self.closeOnExecEverythingAbove2()
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
        self.pid = pid
    }

    /// Whether the child has not exited yet (reaps it once it has).
    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        if status != nil { return false }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid {
            status = raw
            return false
        }
        return true
    }

    /// Whether the child exits within `timeout` seconds.
    public func waitForExit(timeout: Double) -> Bool {
        TestEnvironment.waitUntil(timeout: timeout) { !isRunning }
    }

    /// Waits for the child; after `timeout` seconds it is killed. Returns whether it exited by itself in time.
    @discardableResult
    public func wait(timeout: Double) -> Bool {
        if waitForExit(timeout: timeout) { return true }
        kill(pid, SIGKILL)
        lock.lock()
        defer { lock.unlock() }
        if status == nil {
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
            status = raw
        }
        return false
    }

    /// The exit code once the child has exited (128 + the signal if a signal ended it).
    public var exitCode: Int32? {
        lock.lock()
        defer { lock.unlock() }
        guard let status else { return nil }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
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
}
