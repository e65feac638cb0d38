import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a line of shell output goes: results to standard output, errors and notes to standard error, as
/// zkCli does.
public enum ShellStream: Sendable, Hashable {
    case output
    case error
}

/// The shell's two output streams. Implementations must be safe to call from any thread.
public protocol ShellOutput: Sendable {
    func write(_ text: String, to stream: ShellStream)
}

/// The process's standard output and standard error, written unbuffered so that the two interleave in order.
public final class StandardStreams: ShellOutput {
    private let lock = Mutex(())

    public init() {}

    public func write(_ text: String, to stream: ShellStream) {
        let fd: Int32 =
            switch stream {
            case .output: 1
            case .error: 2
            }
        lock.withLock { _ in
            var bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { buffer in
                    posixWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
                }
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// `write(2)`, out of the reach of the `write` methods above.
private func posixWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, bytes, count)
}

/// Output kept in memory, for tests and for programs that embed the shell.
public final class CapturedOutput: ShellOutput {
    private let state = Mutex<(output: String, error: String, both: String)>(("", "", ""))

    public init() {}

    public func write(_ text: String, to stream: ShellStream) {
        state.withLock { state in
            switch stream {
            case .output: state.output += text
            case .error: state.error += text
            }
            state.both += text
        }
    }

    /// Everything written to standard output.
    public var output: String { state.withLock { $0.output } }
    /// Everything written to standard error.
    public var error: String { state.withLock { $0.error } }
    /// Both streams, interleaved in the order written.
    public var combined: String { state.withLock { $0.both } }

    public func reset() {
        state.withLock { $0 = ("", "", "") }
    }
}
