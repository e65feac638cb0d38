import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// Every line the shell prints, kept as it is written, and a way to wait until a number of lines are there.
final class RecordedOutput: ShellOutput, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    private var waiter: (count: Int, continuation: CheckedContinuation<Void, Never>)?

    func write(_ text: String, to stream: ShellStream) {
        lock.withLock {
            for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
                recorded.append((stream == .error ? "stderr: " : "") + line)
            }
            if let waiter, recorded.count >= waiter.count {
                self.waiter = nil
                waiter.continuation.resume()
            }
        }
    }

    var lines: [String] { lock.withLock { recorded } }

    /// Returns once `count` lines (stdout and stderr) have been written in all.
    func waitForLines(_ count: Int) async {
        await withCheckedContinuation { continuation in
            lock.withLock {
                if recorded.count >= count { continuation.resume() } else { waiter = (count, continuation) }
            }
        }
    }
}

/// A walk whose connection is cut mid-way (the relay in front of the server stops, then listens again on the
/// same port) asks again what was lost once the client has reconnected, and prints what an uncut walk prints.
@Suite(.serialized)
struct WalkReconnectTests {
    @Test func aWalkCutMidWayPrintsWhatAnUncutWalkPrints() async throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = SharedTestServers.uniqueRoot("cut")
        // 150 ms each way: the walk takes a few round trips (a window reaches into the children of the znodes
        // answered), each long enough for the cut to come after the first znode and before the last.
        var relay = try DelayRelay(toFirstServerOf: server, delay: 0.15)
        var configuration = ShellConfiguration()
        configuration.server = relay.address
        let output = RecordedOutput()
        let shell = try Shell(configuration: configuration, output: output)
        let client = try ZooKeeperClient(connectString: server)
        // 20 children of 40 children each: 821 znodes.
        try await client.create(root)
        for a in 0..<20 {
            var batch: [ZooKeeperClient.Operation] = [.create("\(root)/a\(a)")]
            for b in 0..<40 { batch.append(.create("\(root)/a\(a)/b\(b)", data: Array("\(a).\(b)".utf8))) }
            _ = try await client.multi(batch)
        }
        for command in ["ls -R \(root)", "tree -s \(root)", "find \(root) -name b1*", "export -r \(root) -"] {
            var start = output.lines.count
            #expect(await shell.execute(line: command) == 0)
            let uncut = Array(output.lines[start...])
            #expect(uncut.count >= 40, "\(command): \(uncut)")

            start = output.lines.count
            let walking = Task { await shell.execute(line: command) }
            // Cut once the walk has printed its first znode (export's first line is its header).
            await output.waitForLines(start + (command.hasPrefix("export") ? 2 : 1))
            relay.stop()
            let printedAtTheCut = output.lines.count - start
            relay = try relay.reopened()
            #expect(await walking.value == 0, "\(command): \(output.lines[start...])")
            #expect(printedAtTheCut < uncut.count, "\(command): the cut came after the walk")
            #expect(Array(output.lines[start...]) == uncut, "\(command)")
        }
        #expect(await shell.execute(line: "deleteall \(root)") == 0)
        await shell.close()
        await client.close()
        relay.stop()
    }

    /// A link that does not come back: the walk gives up once the session timeout has passed, in one line.
    @Test func aWalkWhoseConnectionDoesNotComeBackGivesUp() async throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = SharedTestServers.uniqueRoot("gone")
        let relay = try DelayRelay(toFirstServerOf: server, delay: 0.15)
        var configuration = ShellConfiguration()
        configuration.server = relay.address
        configuration.sessionTimeout = .seconds(4)
        let output = RecordedOutput()
        let shell = try Shell(configuration: configuration, output: output)
        let client = try ZooKeeperClient(connectString: server)
        try await client.create(root)
        for a in 0..<10 {
            _ = try await client.multi(
                [.create("\(root)/a\(a)")] + (0..<40).map { .create("\(root)/a\(a)/b\($0)") })
        }
        let walking = Task { await shell.execute(line: "ls -R \(root)") }
        await output.waitForLines(1)
        relay.stop()
        #expect(await walking.value == 1)
        let errors = output.lines.filter { $0.hasPrefix("stderr: ") }
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.contains(": the connection did not come back, the walk stops at \(root)/") == true)
        #expect(output.lines.count < 411)
        #expect(try Programs.zkcli(server: server, ["deleteall", root]).exitCode == 0)
        await shell.close()
        await client.close()
    }
}
