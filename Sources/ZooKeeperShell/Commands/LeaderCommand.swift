import ZooKeeper

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `leader [--wait] [-t timeout] [--id id] [--grace seconds] path [-- command [args...]]`: the leader of the
/// election at `path` (Curator's `LeaderLatch` layout: the lowest `latch-` node leads), or, with a command, taking
/// part in it and running the command only while leading. Leadership lost while it runs stops the program as `lock`
/// does, with `ExitCode.holdLost`.
enum LeaderCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "leader", syntax: "[--wait] [-t timeout] [--id id] [--grace seconds] path [-- command [args...]]",
        summary: "Show the leader of a LeaderLatch election, or run a command only while leading it",
        options: [
            .long("wait", help: "Wait until there is a leader, then show it"),
            CommandOption("t", value: true, help: "Give up after this many seconds (exit status 75)"),
            .long("id", value: true, help: "The participant id written into the latch node (host:pid)"),
            .long("grace", value: true, help: "Seconds between SIGTERM and SIGKILL when leadership is lost (10)"),
        ],
        arguments: [.path, .text], isZkCliCommand: false, printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let program = Array(invocation.arguments.dropFirst(2))
        let timeout = try LockCommand.seconds(invocation, "t")
        let client = shell.client
        guard !program.isEmpty else {
            let deadline = timeout.map { ContinuousClock.now + $0 }
            while true {
                let leader = try await shell.zk { () async throws(ZooKeeperError) in
                    try await LeaderLatch.leader(client: client, path: path)
                }
                if let leader {
                    shell.emit(.contender(path: path, leader))
                    return
                }
                guard invocation.has("wait") else {
                    var failure = CommandFailure("No leader for \(path)")
                    failure.name = "NOLEADER"
                    throw failure
                }
                if let deadline, ContinuousClock.now >= deadline {
                    var failure = CommandFailure(
                        "Timed out waiting for a leader of \(path)", exitCode: ExitCode.timedOut)
                    failure.name = "TIMEDOUT"
                    throw failure
                }
                // Polled (a participant's arrival is seen within this much); Ctrl-C cancels the sleep.
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let grace = try LockCommand.seconds(invocation, "grace") ?? .seconds(10)
        let id = invocation.value("id") ?? "\(hostName()):\(getpid())"
        let latch = LeaderLatch(client: client, path: path, id: id)
        let signals = try SignalForwarding()
        defer { signals.restore() }
        let leading: Bool
        do {
            leading = try await LockCommand.untilSignal(signals) {
                try await shell.zk { () async throws(ZooKeeperError) in try await latch.start() }
                return await latch.waitForLeadership(timeout: timeout ?? .seconds(1_000_000_000))
            }
        } catch {
            await latch.close()
            throw error
        }
        guard leading else {
            await latch.close()
            guard client.state.isAlive else { throw CommandFailure("The session ended before leading \(path)") }
            var failure = CommandFailure("Timed out waiting to lead \(path)", exitCode: ExitCode.timedOut)
            failure.name = "TIMEDOUT"
            throw failure
        }
        let status: Int32
        do {
            status = try await HeldRun.run(
                program, what: "the leadership of \(path)", client: client, signals: signals, grace: grace,
                isHeld: { await latch.hasLeadership })
        } catch {
            await latch.close()
            throw error
        }
        await latch.close()
        try LockCommand.exit(with: status)
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
