import ZooKeeper

/// `lock [-t timeout] [--shared] [--kazoo] [--leases n] [--grace seconds] path -- command [args...]`: runs a local
/// program while holding a distributed lock, as `flock(1)` does with a file: the program's status is zkcli's, the
/// lock goes when it ends. The lock is Curator's `InterProcessMutex` layout (kazoo's `Lock` with `--kazoo`, the
/// read side of Curator's `InterProcessReadWriteLock` with `--shared`, of kazoo's `ReadLock` with both, a lease of
/// Curator's `InterProcessSemaphoreV2` with `--leases`), so Java and Python processes are excluded too.
///
/// If the lock is lost while the program runs (the session expired, the connection was down for the whole session
/// timeout, the lock node was deleted) the program gets SIGTERM, then SIGKILL after the grace period, and zkcli
/// exits with `ExitCode.holdLost`: another process may hold the lock by then.
enum LockCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "lock",
        syntax: "[-t timeout] [--shared] [--kazoo] [--leases n] [--grace seconds] path -- command [args...]",
        summary: "Run a local command while holding a distributed lock (Curator's or kazoo's layout)",
        options: [
            CommandOption(
                "t", value: true, help: "Give up after this many seconds without the lock (exit status 75)"),
            .long("shared", help: "Take the read (shared) side of a read-write lock"),
            .long("kazoo", help: "Use kazoo's Lock (or ReadLock) layout instead of Curator's"),
            .long("leases", value: true, help: "Take one of n leases of Curator's semaphore at path"),
            .long("grace", value: true, help: "Seconds between SIGTERM and SIGKILL when the lock is lost (10)"),
        ],
        arguments: [.path, .text], isZkCliCommand: false)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let program = Array(invocation.arguments.dropFirst(2))
        guard !program.isEmpty else { throw invocation.usageFailure }
        let timeout = try seconds(invocation, "t")
        let grace = try seconds(invocation, "grace") ?? .seconds(10)
        let layout: DistributedLock.Layout = invocation.has("kazoo") ? .kazoo : .curator
        let client = shell.client
        let lock: DistributedLock
        if let text = invocation.value("leases") {
            guard let leases = Int(text), leases > 0 else {
                throw CommandFailure("--leases: '\(text)' is not a positive number\n\(spec.usage)")
            }
            if invocation.has("shared") || invocation.has("kazoo") {
                throw CommandFailure(
                    "--leases: a semaphore has Curator's layout only, and no shared side\n\(spec.usage)")
            }
            lock = Semaphore(client: client, path: path, maxLeases: leases).makeLeaseLock()
        } else if invocation.has("shared") {
            lock = ReadWriteLock(client: client, path: path, layout: layout).readLock
        } else {
            lock = DistributedLock(client: client, path: path, layout: layout)
        }
        let signals = try SignalForwarding()
        defer { signals.restore() }
        let acquired = try await untilSignal(signals) {
            try await shell.zk { () async throws(ZooKeeperError) in
                guard let timeout else {
                    try await lock.acquire()
                    return true
                }
                return try await lock.acquire(timeout: timeout)
            }
        }
        guard acquired else {
            var failure = CommandFailure("Timed out waiting for the lock on \(path)", exitCode: ExitCode.timedOut)
            failure.name = "TIMEDOUT"
            throw failure
        }
        let status: Int32
        do {
            status = try await HeldRun.run(
                program, what: "the lock on \(path)", client: client, signals: signals, grace: grace,
                isHeld: { await lock.isAcquired })
        } catch {
            try? await lock.release()
            throw error
        }
        try? await lock.release()
        try exit(with: status)
    }

    /// An option's value in seconds (fractions allowed), if given.
    static func seconds(_ invocation: CommandInvocation, _ option: String) throws -> Duration? {
        guard let text = invocation.value(option) else { return nil }
        guard let seconds = Double(text), seconds >= 0, seconds < 1e9 else {
            let spelling = option.count == 1 ? "-\(option)" : "--\(option)"
            throw CommandFailure("\(spelling): '\(text)' is not a number of seconds\n\(invocation.spec.usage)")
        }
        return .milliseconds(Int64(seconds * 1000))
    }

    /// Runs `body` until it ends or a signal (SIGINT, SIGTERM, SIGHUP) comes: then `body` is cancelled (a lock
    /// waiter removes its node) and the command fails with 128 + the signal, as a shell reports it.
    static func untilSignal<T: Sendable>(
        _ signals: SignalForwarding, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let outcome = try await withThrowingTaskGroup(of: SignalRace<T>?.self) { group in
            group.addTask { .finished(try await body()) }
            group.addTask {
                for await signal in signals.received { return .signalled(signal) }
                return nil
            }
            var outcome: SignalRace<T>?
            while let next = try await group.next() {
                guard let next else { continue }
                outcome = next
                break
            }
            group.cancelAll()
            return outcome
        }
        switch outcome {
        case .finished(let value):
            return value
        case .signalled(let signal):
            throw CommandFailure("Interrupted (signal \(signal))", exitCode: 128 + signal)
        case nil:
            throw CancellationError()
        }
    }

    /// Ends the command with the program's status: nothing more to say on success, a silent failure otherwise
    /// (the program said what went wrong).
    static func exit(with status: Int32) throws {
        guard status != ExitCode.success else { return }
        var failure = CommandFailure("", exitCode: status)
        failure.name = "COMMANDFAILED"
        throw failure
    }
}

/// What came first: the work's end or a signal.
private enum SignalRace<T: Sendable>: Sendable {
    case finished(T)
    case signalled(Int32)
}
