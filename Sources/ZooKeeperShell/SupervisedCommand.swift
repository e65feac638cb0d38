import Dispatch
import Synchronization
import ZooKeeper

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A local program that `lock` and `leader` run while they hold something (a lock, the leadership): started with
/// `posix_spawn`, in zkcli's process group (so it keeps the terminal), with the signals zkcli ignores put back to
/// their defaults.
final class SupervisedCommand: Sendable {
    let pid: pid_t
    /// The program's status as a shell reports it: its exit code, or 128 + the signal that ended it.
    let status: Task<Int32, Never>

    /// Starts `arguments` (the program looked up in PATH). Fails with the `errno` of `posix_spawnp`.
    init(_ arguments: [String]) throws(SpawnError) {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in SignalForwarding.forwarded + [SIGPIPE] { sigaddset(&defaults, signal) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let cStrings = arguments.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let argv = cStrings + [nil]
        let result = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, environ)
        guard result == 0 else { throw SpawnError(program: arguments[0], errno: result) }
        self.pid = pid
        let child = pid
        status = Task {
            await withCheckedContinuation { continuation in
                // waitpid blocks: on a thread of its own rather than one of the concurrency pool's.
                DispatchQueue.global().async {
                    var raw: Int32 = 0
                    while waitpid(child, &raw, 0) < 0 && errno == EINTR {}
                    let signal = raw & 0x7F
                    continuation.resume(returning: signal == 0 ? (raw >> 8) & 0xFF : 128 + signal)
                }
            }
        }
    }

    /// Starts `arguments`, failing as a shell would (status 127 or 126) when the program cannot run.
    static func started(_ arguments: [String]) throws -> SupervisedCommand {
        do {
            return try SupervisedCommand(arguments)
        } catch {
            throw error.failure
        }
    }

    /// Sends `signal` to the program (nothing once it has been reaped).
    func send(_ signal: Int32) {
        kill(pid, signal)
    }

    /// SIGTERM, then SIGKILL if the program is still running after `grace`; returns its status.
    func terminate(grace: Duration) async -> Int32 {
        send(SIGTERM)
        let killer = Task {
            try await Task.sleep(for: grace)
            send(SIGKILL)
        }
        let code = await status.value
        killer.cancel()
        return code
    }
}

/// `posix_spawnp` failed.
struct SpawnError: Error {
    var program: String
    var errno: Int32

    /// As a shell says it, with its status: 127 for a program not found, 126 for one that cannot run.
    var failure: CommandFailure {
        let reason = String(cString: strerror(errno))
        let code: Int32 = errno == ENOENT ? 127 : 126
        var failure = CommandFailure("\(program): \(reason)", exitCode: code)
        failure.name = "SPAWNFAILED"
        return failure
    }
}

/// SIGINT, SIGTERM and SIGHUP while `lock` or `leader` runs: passed on to the program once it runs (unless the
/// terminal sent it, which reaches the program as well, being in the same process group), and reported to the
/// command, which stops waiting for the lock or the leadership when one arrives before the program starts.
///
/// The handler only calls `kill` and `write`, both async-signal-safe; the previous handlers come back with
/// `restore()`.
final class SignalForwarding: Sendable {
    static let forwarded = [SIGINT, SIGTERM, SIGHUP]

    /// The program signals go to (0: none yet). Read by the signal handler.
    private static let target = Atomic<Int32>(0)
    /// The write end of the pipe that tells the command a signal came (-1: not installed).
    private static let notifyDescriptor = Atomic<Int32>(-1)

    /// The signals received, one at a time, until `restore()`.
    let received: AsyncStream<Int32>
    private let previous: Mutex<[Int32: sigaction]>
    private let reader: Mutex<(any DispatchSourceRead)?>

    init() throws {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else { throw CommandFailure("pipe: \(String(cString: strerror(errno)))") }
        for descriptor in descriptors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(descriptors[1], F_SETFL, O_NONBLOCK)
        Self.target.store(0, ordering: .sequentiallyConsistent)
        Self.notifyDescriptor.store(descriptors[1], ordering: .sequentiallyConsistent)
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        received = stream
        let source = DispatchSource.makeReadSource(fileDescriptor: descriptors[0], queue: .global())
        let descriptor = descriptors[0]
        source.setEventHandler {
            var byte: UInt8 = 0
            while read(descriptor, &byte, 1) == 1 { continuation.yield(Int32(byte)) }
        }
        source.setCancelHandler {
            close(descriptor)
            continuation.finish()
        }
        _ = fcntl(descriptors[0], F_SETFL, O_NONBLOCK)
        source.resume()
        reader = Mutex(source)
        var saved: [Int32: sigaction] = [:]
        for signal in Self.forwarded {
            var action = sigaction()
            action.sa_flags = SA_SIGINFO | SA_RESTART
            sigemptyset(&action.sa_mask)
            action.__sigaction_handler.sa_sigaction = { signal, info, _ in
                // A signal from the terminal (si_code SI_KERNEL) went to the whole foreground group already.
                let fromTerminal = info.map { $0.pointee.si_code == SI_KERNEL } ?? false
                let target = SignalForwarding.target.load(ordering: .relaxed)
                if target > 0 && !fromTerminal { kill(target, signal) }
                var byte = UInt8(truncatingIfNeeded: signal)
                _ = write(SignalForwarding.notifyDescriptor.load(ordering: .relaxed), &byte, 1)
            }
            var old = sigaction()
            sigaction(signal, &action, &old)
            saved[signal] = old
        }
        previous = Mutex(saved)
    }

    /// From now on signals go to `pid` too.
    func forward(to pid: pid_t) {
        Self.target.store(pid, ordering: .sequentiallyConsistent)
    }

    /// Puts back the handlers from before; no more signals are forwarded or reported.
    func restore() {
        previous.withLock { saved in
            for (signal, action) in saved {
                var action = action
                sigaction(signal, &action, nil)
            }
            saved = [:]
        }
        Self.target.store(0, ordering: .sequentiallyConsistent)
        let writer = Self.notifyDescriptor.exchange(-1, ordering: .sequentiallyConsistent)
        reader.withLock { source in
            source?.cancel()
            source = nil
        }
        if writer >= 0 { close(writer) }
    }
}

/// Running a program while something is held (a lock, the leadership), for `lock` and `leader`.
enum HeldRun {
    /// Runs `arguments` until the program ends (its status is returned), or until the hold is lost: then the
    /// program gets SIGTERM, SIGKILL after `grace`, and the failure says so with `ExitCode.holdLost`.
    ///
    /// The hold counts as lost when `isHeld` turns false (the session expired, the lock node was deleted, the
    /// leadership went to another), when the session ends, or when the connection has been down for the whole
    /// session timeout: the server may have expired the session by then, and another process may hold the lock.
    static func run(
        _ arguments: [String], what: String, client: ZooKeeperClient, signals: SignalForwarding, grace: Duration,
        isHeld: @escaping @Sendable () async -> Bool
    ) async throws -> Int32 {
        let program = try SupervisedCommand.started(arguments)
        signals.forward(to: program.pid)
        let lostReason = LossReason()
        let status = await withTaskCancellationHandler {
            await withTaskGroup(of: Int32?.self) { group in
                group.addTask { await program.status.value }
                group.addTask {
                    guard let reason = await loss(client: client, isHeld: isHeld) else { return nil }
                    lostReason.set(reason)
                    // The program's end (after SIGTERM, or SIGKILL) ends the group through the other task.
                    _ = await program.terminate(grace: grace)
                    return nil
                }
                var status: Int32 = 0
                while let next = await group.next() {
                    guard let next else { continue }
                    status = next
                    break
                }
                group.cancelAll()
                return status
            }
        } onCancel: {
            // Ctrl-C in the interactive shell.
            program.send(SIGINT)
        }
        guard let reason = lostReason.value else { return status }
        var failure = CommandFailure(
            "Lost \(what) (\(reason)): \(arguments[0]) was stopped (status \(status))", exitCode: ExitCode.holdLost)
        failure.name = "LOST"
        throw failure
    }

    /// Why the hold is gone, once it is (nil when cancelled first).
    private static func loss(client: ZooKeeperClient, isHeld: @Sendable () async -> Bool) async -> String? {
        var disconnectedSince: ContinuousClock.Instant?
        while !Task.isCancelled {
            switch client.state {
            case .closed, .authFailed:
                return "the session ended"
            case .connecting:
                let since = disconnectedSince ?? .now
                disconnectedSince = since
                if ContinuousClock.now - since >= client.negotiatedTimeout {
                    return "disconnected for the whole session timeout"
                }
            case .connected, .connectedReadOnly:
                disconnectedSince = nil
            }
            if !(await isHeld()) {
                guard let since = disconnectedSince else { return "the session expired or the node was deleted" }
                // The recipe gave the hold up while cut off: a lock once its own clock says a whole session timeout
                // (it started it at the disconnection, a little before this loop saw it), a latch at once.
                return ContinuousClock.now - since >= client.negotiatedTimeout / 2
                    ? "disconnected for the whole session timeout" : "disconnected"
            }
            // Polled: a lost hold is noticed within this much.
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }
}

/// Why a hold was lost, once it was.
private final class LossReason: Sendable {
    private let reason = Mutex<String?>(nil)

    func set(_ text: String) { reason.withLock { $0 = text } }
    var value: String? { reason.withLock { $0 } }
}
