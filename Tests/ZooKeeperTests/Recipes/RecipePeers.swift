import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The lines a peer has written so far.
func peerLines(_ file: String) -> [String] {
    ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
}

/// The peer's stderr, for failure messages.
func peerErrors(_ file: String) -> String {
    (try? String(contentsOfFile: file + ".err", encoding: .utf8)) ?? ""
}

/// Waits (polling, bounded) until `condition` holds; returns whether it did.
func eventually(within seconds: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// A critical section shared by processes: a marker file created exclusively on entry and removed on exit. An
/// entry that finds the file there proves two holders at once.
struct OverlapMarker {
    let path: String

    /// Enters; false if someone is inside.
    func enter() -> Bool {
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    func leave() { unlink(path) }
}

/// How many rounds a randomized recipe test runs: `default`, or more with RECIPES_ROUNDS.
func recipeRounds(_ defaultRounds: Int) -> Int {
    ProcessInfo.processInfo.environment["RECIPES_ROUNDS"].flatMap(Int.init) ?? defaultRounds
}

/// Makes the session of `client` expire: another client takes the session over and closes it. The original,
/// kicked off its connection, may win the session back before the close lands, so this repeats (bounded), as
/// Curator's KillSession does.
func expireSession(of client: ZooKeeperClient, kind: TestServerKind) async throws {
    var configuration = ZooKeeperClient.Configuration()
    configuration.session = (client.sessionID, client.sessionPassword)
    configuration.sessionTimeout = .seconds(10)
    for _ in 0..<5 {
        do {
            let twin = try await ZooKeeperClient.connect(
                try SharedTestServers.connectString(kind), configuration: configuration, timeout: .seconds(30))
            await twin.close()
        } catch let error as ZooKeeperError where error.code == .sessionExpired {
        }
        if await eventually(within: 5, { client.state == .closed }) { return }
    }
    throw HarnessError("the session of the client did not expire")
}
