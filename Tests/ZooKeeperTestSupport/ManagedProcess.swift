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
    private let guardProcess: Process
    private let guardInput: Pipe
    private let lock = NSLock()
    private var stopped = false

    /// Starts `executable arguments...` with stdout and stderr appended to `logFile`.
    public init(
        executable: String, arguments: [String], environment: [String: String] = [:], workingDirectory: String,
        logFile: String
    ) throws {
        let command = ([executable] + arguments).map(Self.shellQuote).joined(separator: " ")
        let script =
            "\(command) </dev/null >>\(Self.shellQuote(logFile)) 2>&1 & child=$!; echo $child; read _ignored; kill -9 $child 2>/dev/null; exit 0"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        // Our ends of the pipes must not leak into any child (a daemon holding the guard's stdin open would keep
        // the program alive after the test process ends); the guard's ends are dup'ed onto its stdin/stdout.
        _ = fcntl(input.fileHandleForWriting.fileDescriptor, F_SETFD, FD_CLOEXEC)
        _ = fcntl(output.fileHandleForReading.fileDescriptor, F_SETFD, FD_CLOEXEC)
        try process.run()
        // The guard prints the child's pid first.
        var line = Data()
        while true {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let text = String(data: line, encoding: .utf8), let pid = pid_t(text) else {
            throw HarnessError("could not start \(executable)")
        }
        self.pid = pid
        self.logFile = logFile
        self.guardProcess = process
        self.guardInput = input
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
        kill(pid, signal)
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
        kill(pid, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning && Date() < deadline {
            usleep(20_000)
        }
        if isRunning { kill(pid, SIGKILL) }
        try? guardInput.fileHandleForWriting.close()
        guardProcess.waitUntilExit()
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
