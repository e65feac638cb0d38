import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The `zkserver` executable run as a child process (for tests that SIGKILL it), with a zoo.cfg of its own.
public final class ZKServerProcess: @unchecked Sendable {
    public let process: ManagedProcess
    public let port: Int
    /// The address it listens on (127.0.0.1, or a host's address in a `NetworkLab`).
    public let host: String
    public var address: String { "\(host):\(port)" }

    /// The built `zkserver`: `ZKSERVER_PATH`, or the one beside the test bundle (`swift build --build-tests` and
    /// `swift test` build it into the same products directory).
    public static func executable() throws -> String {
        if let path = ProcessInfo.processInfo.environment["ZKSERVER_PATH"] { return path }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // The test binary may sit inside an .xctest bundle directory.
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("zkserver").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw HarnessError("zkserver is not built next to \(testBinary.path); run swift build first")
    }

    /// Starts zkserver with `configuration` lines (dataDir, tickTime, ...) plus the port, and waits (bounded)
    /// until `srvr` answers. With a `launcher` (`ip netns exec NS`), it runs under it, in a process group of its own.
    /// `environment` is added to the test's (e.g. `SERVER_JVMFLAGS`, as zkServer.sh users set it).
    public init(
        port: Int, configuration: [String], logFile: String, readyTimeout: Double = 30, host: String = "127.0.0.1",
        launcher: [String] = [], environment: [String: String] = [:]
    ) throws {
        self.port = port
        self.host = host
        let directory = URL(fileURLWithPath: logFile).deletingLastPathComponent().path
        let configFile = directory + "/zoo-\(port).cfg"
        // No AdminServer on Apache's 8080 unless the test asks for one: servers of parallel tests would collide.
        let admin = configuration.contains { $0.hasPrefix("admin.") } ? [] : ["admin.enableServer=false"]
        let lines =
            configuration + ["clientPort=\(port)", "clientPortAddress=\(host)", "4lw.commands.whitelist=*"] + admin
        try lines.joined(separator: "\n").write(toFile: configFile, atomically: true, encoding: .utf8)
        let command = launcher + [try Self.executable(), configFile]
        process = try ManagedProcess(
            executable: command[0], arguments: Array(command.dropFirst()), environment: environment,
            workingDirectory: directory, logFile: logFile, processGroup: !launcher.isEmpty)
        let process = process
        let ready = TestEnvironment.waitUntil(timeout: readyTimeout) {
            guard process.isRunning else { return true }
            return TestEnvironment.fourLetterWord("srvr", port: port, host: host, timeout: 2)?.contains("Mode:") == true
        }
        guard ready, process.isRunning else {
            process.stop(signal: SIGKILL)
            throw HarnessError("zkserver did not start on port \(port):\n\(process.log().suffix(2000))")
        }
    }

    /// SIGKILL: the process gets no chance to write anything more.
    public func kill() {
        process.stop(signal: SIGKILL)
    }

    public func stop() {
        process.stop(signal: SIGTERM)
    }
}
