import NIOConcurrencyHelpers
import ZooKeeper

/// A few more sessions to the server of a walk's session, opened as that session was (same TLS and SASL settings,
/// chroot, and the credentials added to it with `addauth`), for the reads a multiRead cannot carry (getACL).
/// Apache serves one session's requests one after another, so one session answers about 20,000 reads a second,
/// where a few share the server's cores.
///
/// Opened lazily, once a walk has more to read than one window (`open()`, which returns at once; the sessions join
/// `ready` as they come up), and all closed by `close()`, which the command calls however it ends. A session that
/// does not come up, or whose credentials are refused, is closed and left out: the walk reads on its own session.
final class ReadSessions: Sendable {
    private struct State {
        var opening: Task<Void, Never>?
        var ready: [ZooKeeperClient] = []
        /// Every session made, ready or not: what `close()` closes.
        var made: [ZooKeeperClient] = []
        var closed = false
    }

    private let main: ZooKeeperClient
    private let configuration: ZooKeeperClient.Configuration
    private let count: Int
    private let state = NIOLockedValueBox(State())

    /// Sessions like `main`, made with `configuration` (the one `main` was made with, without its event handler),
    /// with the credentials `main` has when they open; `count` of them (0: none).
    init(like main: ZooKeeperClient, configuration: ZooKeeperClient.Configuration, count: Int) {
        self.main = main
        var configuration = configuration
        // Their connection changes are not the user's session's: nothing is printed for them.
        configuration.defaultEventHandler = nil
        configuration.session = nil
        self.configuration = configuration
        self.count = count
    }

    /// The sessions up and authenticated so far.
    var ready: [ZooKeeperClient] { state.withLockedValue { $0.ready } }

    /// Starts opening the sessions (once; nothing after `close()`).
    func open() {
        guard count > 0 else { return }
        state.withLockedValue { state in
            guard state.opening == nil && !state.closed else { return }
            state.opening = Task { [self] in await openAll() }
        }
    }

    /// Runs `body`, then closes the sessions, however it ended.
    func closing<T>(after body: () async throws -> T) async throws -> T {
        let outcome: Result<T, any Error>
        do {
            outcome = .success(try await body())
        } catch {
            outcome = .failure(error)
        }
        await close()
        return try outcome.get()
    }

    /// Closes every session opened, and stops those still coming up.
    func close() async {
        // Once closed, no session joins `made`: those still coming up are closed here, which ends their wait.
        let (opening, made) = state.withLockedValue { state in
            state.closed = true
            defer {
                state.made = []
                state.ready = []
            }
            return (state.opening, state.made)
        }
        await withTaskGroup(of: Void.self) { group in
            for session in made { group.addTask { await session.close() } }
        }
        await opening?.value
    }

    private func openAll() async {
        // The server the walk's session is on: what the walk saw there (a znode just created) is there to read,
        // where a follower behind it might not have it yet. Its chroot too.
        let hosts = main.currentServer.map { [$0] } ?? main.connectString.hosts
        let connectString = ConnectString(hosts: hosts, chroot: main.connectString.chroot).description
        // Not longer than a command waits for its own connection: a server refusing more connections (its
        // maxClientCnxns) is not waited on.
        let timeout = min(configuration.requestTimeoutWhileDisconnected ?? .seconds(5), .seconds(5))
        let credentials = main.credentials
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<count {
                group.addTask { [self] in await openOne(connectString, credentials: credentials, timeout: timeout) }
            }
        }
    }

    private func openOne(
        _ connectString: String, credentials: [ZooKeeperClient.AuthCredential], timeout: Duration
    ) async {
        let session: ZooKeeperClient
        do {
            session = try ZooKeeperClient(connectString: connectString, configuration: configuration)
        } catch {
            return
        }
        let kept = state.withLockedValue { state in
            guard !state.closed else { return false }
            state.made.append(session)
            return true
        }
        guard kept else {
            await session.close()
            return
        }
        do throws(ZooKeeperError) {
            try await session.waitUntilConnected(timeout: timeout)
            for credential in credentials {
                try await session.addAuth(scheme: credential.scheme, auth: credential.auth)
            }
        } catch {
            // Left to `close()`: the walk goes on with the sessions it has.
            return
        }
        // Its credentials all accepted (a refusal ends a session in AUTH_FAILED): it reads as the user's does.
        guard session.state == .connected || session.state == .connectedReadOnly else { return }
        state.withLockedValue { state in
            if !state.closed { state.ready.append(session) }
        }
    }
}
