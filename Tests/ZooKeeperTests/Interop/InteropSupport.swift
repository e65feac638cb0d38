import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The servers every interop body runs against.
let interopServers = TestServerKind.allCases

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A connected client of the shared server of `kind`, optionally under `chroot`.
func connectedClient(
    _ kind: TestServerKind, chroot: String = "", configure: (inout ZooKeeperClient.Configuration) -> Void = { _ in }
) async throws -> ZooKeeperClient {
    let address = try SharedTestServers.connectString(kind)
    var configuration = ZooKeeperClient.Configuration()
    configuration.sessionTimeout = .seconds(10)
    configure(&configuration)
    return try await ZooKeeperClient.connect(address + chroot, configuration: configuration, timeout: .seconds(30))
}

/// Creates a fresh root node for one test, and removes its whole subtree at the end.
func withRoot<T>(
    _ client: ZooKeeperClient, _ body: (String) async throws -> T
) async throws -> T {
    let root = SharedTestServers.uniqueRoot()
    try await client.create(root)
    do {
        let result = try await body(root)
        try? await deleteRecursively(client, root)
        return result
    } catch {
        try? await deleteRecursively(client, root)
        throw error
    }
}

/// Runs `body` with two clients of `kind`, one to watch and one to write, under a fresh root (see `withRoot`);
/// both sessions are closed before it returns.
func withWatcherAndWriter<T>(
    _ kind: TestServerKind, _ body: (ZooKeeperClient, ZooKeeperClient, String) async throws -> T
) async throws -> T {
    let watcher = try await connectedClient(kind)
    let writer: ZooKeeperClient
    do {
        writer = try await connectedClient(kind)
    } catch {
        await watcher.close()
        throw error
    }
    do {
        let result = try await withRoot(writer) { root in try await body(watcher, writer, root) }
        await watcher.close()
        await writer.close()
        return result
    } catch {
        await watcher.close()
        await writer.close()
        throw error
    }
}

func deleteRecursively(_ client: ZooKeeperClient, _ path: String) async throws {
    let children = (try? await client.getChildren(path)) ?? []
    for child in children {
        try await deleteRecursively(client, ZooKeeperPath.join(path, child))
    }
    do {
        try await client.delete(path)
    } catch {
        if error.code != .noNode { throw error }
    }
}

/// Expects `body` to fail with `code`.
func expectError<T>(
    _ code: ZooKeeperError.Code, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
    } catch let error as ZooKeeperError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Waits (bounded) until `path` no longer exists; servers delete containers and TTL nodes in the background.
func waitUntilGone(_ client: ZooKeeperClient, _ path: String, within seconds: Int = 30) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await client.exists(path) == nil { return true }
        // The server's container task runs on its own schedule; poll its effect at a modest rate.
        try await Task.sleep(for: .milliseconds(100))
    }
    return false
}
