import ZooKeeper

/// `barrier [-n members] [-t timeout] path [wait|enter|leave] [-- command [args...]]`, on Curator's layouts.
///
/// Without `-n`, Curator's `DistributedBarrier`: `wait` (the default) waits until the barrier is down (its node
/// gone), `enter` raises it, `leave` lowers it. With `-n`, Curator's `DistributedDoubleBarrier`: `enter` waits until
/// `members` members have entered, runs the command if one is given, then leaves with the others (waits until
/// every member has left).
enum BarrierCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "barrier", syntax: "[-n members] [-t timeout] path [wait|enter|leave] [-- command [args...]]",
        summary: "Wait on, raise or lower a Curator barrier; with -n, meet the other members of a double barrier",
        options: [
            CommandOption("n", value: true, help: "Members of a double barrier: enter waits until they are all there"),
            CommandOption("t", value: true, help: "Give up after this many seconds (exit status 75)"),
        ],
        arguments: [.path, .oneOf(["wait", "enter", "leave"]), .text], isZkCliCommand: false, printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let action = invocation.arguments.count > 2 ? invocation.arguments[2] : "wait"
        let program = Array(invocation.arguments.dropFirst(3))
        let timeout = try LockCommand.seconds(invocation, "t")
        let client = shell.client
        let timedOut = {
            var failure = CommandFailure("Timed out at the barrier \(path)", exitCode: ExitCode.timedOut)
            failure.name = "TIMEDOUT"
            return failure
        }
        if let text = invocation.value("n") {
            guard let members = Int(text), members > 0 else {
                throw CommandFailure("-n: '\(text)' is not a number of members\n\(spec.usage)")
            }
            guard action == "enter" else {
                throw CommandFailure("With -n, only enter (it leaves after its command)\n\(spec.usage)")
            }
            let barrier = DoubleBarrier(client: client, path: path, memberCount: members)
            let signals = try SignalForwarding()
            defer { signals.restore() }
            let entered = try await LockCommand.untilSignal(signals) {
                try await shell.zk { () async throws(ZooKeeperError) in try await barrier.enter(timeout: timeout) }
            }
            guard entered else { throw timedOut() }
            shell.emit(.barrier(path: path, state: "entered"))
            var status = ExitCode.success
            if !program.isEmpty {
                let command = try SupervisedCommand.started(program)
                signals.forward(to: command.pid)
                status = await command.status.value
            }
            let left = try await shell.zk { () async throws(ZooKeeperError) in try await barrier.leave(timeout: timeout)
            }
            guard left else { throw timedOut() }
            shell.emit(.barrier(path: path, state: "left"))
            try LockCommand.exit(with: status)
            return
        }
        guard program.isEmpty else { throw invocation.usageFailure }
        let barrier = Barrier(client: client, path: path)
        switch action {
        case "wait":
            let down = try await shell.zk { () async throws(ZooKeeperError) in try await barrier.wait(timeout: timeout)
            }
            guard down else { throw timedOut() }
            shell.emit(.barrier(path: path, state: "down"))
        case "enter":
            try await shell.zk { () async throws(ZooKeeperError) in try await barrier.set() }
            shell.emit(.barrier(path: path, state: "raised"))
        case "leave":
            try await shell.zk { () async throws(ZooKeeperError) in try await barrier.remove() }
            shell.emit(.barrier(path: path, state: "down"))
        default:
            throw invocation.usageFailure
        }
    }
}
