import Logging
import ServiceLifecycle
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// `ZooKeeperClient` as a swift-service-lifecycle `Service`, against Apache ZooKeeper 3.8.
@Suite struct ZooKeeperClientServiceTests {
    /// A service of the program that uses the client, as an application's would: it creates its ephemeral node
    /// when it starts and writes a last node when the group shuts down.
    struct Worker: Service {
        let client: ZooKeeperClient
        let root: String
        let started: AsyncStream<Void>.Continuation

        func run() async throws {
            try await client.create(root + "/worker", mode: .ephemeral)
            started.yield()
            try? await gracefulShutdown()
            try await client.create(root + "/goodbye")
        }
    }

    @Test func gracefulShutdownClosesTheSessionAfterTheServicesThatUseIt() async throws {
        // A long session timeout: the ephemeral node outlives the client by 30 s unless the session is closed.
        let client = try await connectedClient(.apache) { $0.sessionTimeout = .seconds(30) }
        let observer = try await connectedClient(.apache)
        try await withRoot(observer) { root in
            let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
            // Services stop in reverse order: the worker first, the client (which it needs) last.
            let group = ServiceGroup(
                services: [client, Worker(client: client, root: root, started: startedContinuation)],
                logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
            let running = Task { try await group.run() }
            let recorder = EventRecorder(started)
            #expect(await recorder.next() != nil)
            #expect(try await observer.exists(root + "/worker")?.ephemeralOwner == client.sessionID)

            await group.triggerGracefulShutdown()
            try await running.value

            #expect(client.state == .closed)
            // The worker wrote during the shutdown, so the session was still there for it.
            #expect(try await observer.exists(root + "/goodbye") != nil)
            // The session was closed, not left to expire: its ephemeral node is already gone.
            #expect(try await observer.exists(root + "/worker") == nil)
        }
        await observer.close()
    }

    @Test func runReturnsWhenTheProgramClosesTheClient() async throws {
        let client = try await connectedClient(.apache)
        let running = Task { try await client.run() }
        await client.close()
        try await running.value
        #expect(client.state == .closed)
    }

    /// A session that ends on its own fails the service, so that its group learns of it.
    @Test func runThrowsWhenTheSessionEndsOnItsOwn() async throws {
        let client = try await connectedClient(.apache)
        let running = Task { try await client.run() }
        // Apache rejects an unknown scheme and drops the session's connection: the client stops (AUTH_FAILED).
        await expectError(.authFailed) { try await client.addAuth(scheme: "nosuch", auth: bytes("x")) }
        do {
            try await running.value
            Issue.record("run() returned after the session failed")
        } catch let error as ZooKeeperError {
            #expect(error.code == .authFailed)
        }
        await client.close()
    }

    @Test func cancellingRunClosesTheSession() async throws {
        let client = try await connectedClient(.apache) { $0.sessionTimeout = .seconds(30) }
        let observer = try await connectedClient(.apache)
        try await withRoot(observer) { root in
            try await client.create(root + "/ephemeral", mode: .ephemeral)
            let running = Task { try await client.run() }
            running.cancel()
            try await running.value
            #expect(client.state == .closed)
            #expect(try await observer.exists(root + "/ephemeral") == nil)
        }
        await observer.close()
    }
}
