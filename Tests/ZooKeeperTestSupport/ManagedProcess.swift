import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An error of the test harness itself (a server that could not be started, a tool that is missing).
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A child process that cannot outlive the test process.
///
/// The program runs under a small `sh` guard that holds our end of a pipe on its stdin: when the test process
/// exits for any reason (including a crash), the pipe closes and the guard SIGKILLs the program. So a failing
/// test never leaves a server behind.
public final class ManagedProcess: @unchecked Sendable {
    public let pid: pid_t
    public let logFile: String
    private let guardProcess: ChildProcess
    /// Our end of the guard's stdin; closing it tells the guard to kill the program and exit.
    private let guardInput: Int32
    private let lock = NSLock()
    private var stopped = false
    /// Signals go to the program's whole process group (it and whatever it starts).
    private let signalsGroup: Bool

    /// Starts `executable arguments...` with stdout and stderr appended to `logFile`. With `processGroup`, the
    /// program leads a process group of its own and every signal, the guard's SIGKILL included, goes to the
    /// group: for a supervisor, whose children must not outlive the test either.
    public init(
        executable: String, arguments: [String], environment: [String: String] = [:], workingDirectory: String,
        logFile: String, processGroup: Bool = false
    ) throws {
        let command = ([executable] + arguments).map(Self.shellQuote).joined(separator: " ")
        // A background job of a non-interactive sh is no group leader, so setsid execs in place: $! is the
        // program's pid and its process group id. setpriv (util-linux, in every Debian) makes the kernel SIGKILL
        // the program when the guard dies, however it dies: after passing runs, servers were found reparented to
        // init with their guards gone, and a JVM started as a background job ignores the SIGINT that killed them.
        let deathSignal = "setpriv --pdeathsig KILL -- \(command)"
        let launch = processGroup ? "setsid \(deathSignal)" : deathSignal
        let target = processGroup ? "-$child" : "$child"
        let script =
            "cd \(Self.shellQuote(workingDirectory)) || exit 1; \(launch) </dev/null >>\(Self.shellQuote(logFile)) 2>&1 & child=$!; trap 'kill -9 -- \(target) 2>/dev/null; exit 0' INT TERM HUP; echo $child; read _ignored; kill -9 -- \(target) 2>/dev/null; exit 0"
        // Both pipes close-on-exec at once, so that no other child started meanwhile inherits them; the guard
        // gets its ends through dup2.
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        guard pipe(&input) == 0 else { throw HarnessError("pipe: errno \(errno)") }
        guard pipe(&output) == 0 else {
            close(input[0])
            close(input[1])
            throw HarnessError("pipe: errno \(errno)")
        }
        for fd in input + output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer {
            close(input[0])
            close(output[1])
        }
        let process: ChildProcess
        do {
            process = try ChildProcess(
                "/bin/sh", ["-c", script], environment: environment, input: .descriptor(input[0]),
                output: .descriptor(output[1]))
        } catch {
            close(input[1])
            close(output[0])
            throw error
        }
        close(output[1])
        output[1] = -1
        // The guard prints the child's pid first.
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while Glibc.read(output[0], &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        close(output[0])
        guard let pid = pid_t(String(decoding: line, as: UTF8.self)) else {
            close(input[1])
            process.wait(timeout: 5)
            throw HarnessError("could not start \(executable)")
        }
        self.pid = pid
        self.signalsGroup = processGroup
        self.logFile = logFile
        self.guardProcess = process
        self.guardInput = input[1]
    }

    deinit {
        stop(signal: SIGKILL)
    }

    /// Whether the program is still running (not yet exited, or a zombie not yet reaped by its guard).
    public var isRunning: Bool {
        // /proc/<pid>/stat state Z means exited.
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        guard let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// Sends `signal` and returns at once.
    public func send(_ signal: Int32) {
        kill(signalsGroup ? -pid : pid, signal)
    }

    /// Whether the program exits within `timeout` seconds (polled; nothing is sent).
    public func waitForExit(timeout: Double) -> Bool {
        TestEnvironment.waitUntil(timeout: timeout) { !isRunning }
    }

    /// Sends `signal` and waits (at most `timeout` seconds) for the program to exit; then releases the guard.
    public func stop(signal: Int32 = SIGTERM, timeout: Double = 20) {
        lock.lock()
        defer { lock.unlock() }
        if stopped { return }
        stopped = true
        let target = signalsGroup ? -pid : pid
        kill(target, signal)
        if !waitForExit(timeout: timeout) { kill(target, SIGKILL) }
        if signalsGroup { kill(target, SIGKILL) }
        close(guardInput)
        guardProcess.wait(timeout: 10)
    }

    /// The program's output so far.
    public func log() -> String {
        (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
    }

    static func shellQuote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Loopback ports and temporary directories for tests.
public enum TestEnvironment {
    /// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice for port 0).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw HarnessError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Several distinct free ports.
    /// Whether a socket can be bound to the IPv6 loopback address `::1` (a kernel without IPv6, or with it
    /// disabled on `lo`, refuses).
    public static let ipv6LoopbackAvailable: Bool = {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = 0
        guard inet_pton(AF_INET6, "::1", &address.sin6_addr) == 1 else { return false }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
            }
        }
    }()

    public static func freePorts(_ count: Int) throws -> [Int] {
        var ports: [Int] = []
        while ports.count < count {
            let port = try freePort()
            if !ports.contains(port) { ports.append(port) }
        }
        return ports
    }

    /// A new empty directory under the system's temporary directory.
    public static func temporaryDirectory(_ prefix: String) throws -> String {
        let template = NSTemporaryDirectory() + "\(prefix).XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let result = mkdtemp(&bytes) else { throw HarnessError("mkdtemp failed") }
        return String(cString: result)
    }

    /// Sends a four-letter word to `host` (`127.0.0.1` or `::1`) on `port` and returns everything the server wrote
    /// before closing.
    public static func fourLetterWord(_ word: String, port: Int, host: String = "127.0.0.1", timeout: Double = 5)
        -> String?
    {
        let ipv6 = host.contains(":")
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = UInt16(port).bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(port).bigEndian
            address.sin_addr.s_addr = inet_addr(host)
            connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard connected == 0 else { return nil }
        let bytes = Array(word.utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { return nil }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// Polls `condition` every 20 ms until it holds or `timeout` seconds pass. Returns whether it held.
    public static func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }
}
