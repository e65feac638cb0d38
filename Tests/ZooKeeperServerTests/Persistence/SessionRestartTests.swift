import Foundation
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Sessions across a SIGKILL and restart of a real zkserver, as in Apache: restored sessions get a fresh
/// timeout, so a client that comes back in time keeps its session and ephemerals, and one that never comes back
/// expires one timeout after the restart.
@Suite(.serialized) struct SessionRestartTests {
    func startServer(_ directory: String, port: Int) throws -> ZKServerProcess {
        try ZKServerProcess(
            port: port, configuration: ["dataDir=\(directory)/data", "tickTime=2000"],
            logFile: directory + "/server.log")
    }

    @Test(.timeLimit(.minutes(1))) func ourClientKeepsItsSessionAndEphemeralAcrossSIGKILL() async throws {
        let directory = try TestEnvironment.temporaryDirectory("session-restart")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try TestEnvironment.freePort()
        var server = try startServer(directory, port: port)
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(10)
        configuration.maximumReconnectDelay = .milliseconds(200)
        let client = try await ZooKeeperClient.connect(server.address, configuration: configuration)
        let events = EventRecorder(client.connectionEvents)
        #expect(await events.next() == .connecting)
        #expect(await events.next() == .connected)
        let sessionID = client.sessionID
        _ = try await client.create("/eph", data: Array("mine".utf8), mode: .ephemeral)

        server.kill()
        #expect(await events.next() == .disconnected)
        server = try startServer(directory, port: port)
        #expect(await events.next(within: .seconds(20)) == .reconnected)
        #expect(client.sessionID == sessionID)
        let (data, stat) = try await client.getData("/eph")
        #expect(data == Array("mine".utf8))
        #expect(stat.ephemeralOwner == sessionID)
        let other = try await ZooKeeperClient.connect(server.address)
        #expect(try await other.exists("/eph")?.ephemeralOwner == sessionID)
        await other.close()
        // A clean close still removes the ephemeral at once.
        await client.close()
        let observer = try await ZooKeeperClient.connect(server.address)
        #expect(try await observer.exists("/eph") == nil)
        await observer.close()
        server.stop()
    }

    @Test(.timeLimit(.minutes(1))) func anAbandonedSessionExpiresAfterTheRestart() async throws {
        let directory = try TestEnvironment.temporaryDirectory("session-abandoned")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try TestEnvironment.freePort()
        var server = try startServer(directory, port: port)
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(4)
        let abandoned = try await ZooKeeperClient.connect(server.address, configuration: configuration)
        _ = try await abandoned.create("/orphan", data: nil, mode: .ephemeral)
        server.kill()
        // The client goes away while the server is down: its session is never closed.
        await abandoned.close()
        server = try startServer(directory, port: port)
        let observer = try await ZooKeeperClient.connect(server.address)
        let (stat, changes) = try await observer.existsAndWatch("/orphan")
        #expect(stat != nil, "the session was restored with its ephemeral")
        let events = EventRecorder(changes)
        // One timeout (4 s) plus a tick after the restart; the bound leaves room for a slow machine.
        let event = await events.next(within: .seconds(20))
        #expect(event?.type == .nodeDeleted)
        #expect(try await observer.exists("/orphan") == nil)
        await observer.close()
        server.stop()
    }

    @Test(.timeLimit(.minutes(2))) func kazooKeepsItsSessionAndEphemeralAcrossSIGKILL() async throws {
        try requireTool(
            check: ["/usr/bin/env", "python3", "-c", "import kazoo"],
            install: "pip install kazoo (and python3 from apt-get install python3)")
        let directory = try TestEnvironment.temporaryDirectory("session-kazoo")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try TestEnvironment.freePort()
        var server = try startServer(directory, port: port)
        let script = directory + "/kazoo_restart.py"
        try kazooRestartScript.write(toFile: script, atomically: true, encoding: .utf8)
        let readyFile = directory + "/ready"
        let goFile = directory + "/go"
        let outputPath = directory + "/kazoo.out"
        let python = try ChildProcess(
            "/usr/bin/env", ["python3", script, server.address, "/kazoo-eph", readyFile, goFile],
            output: .file(outputPath), error: .standardOutput)
        defer { python.wait(timeout: 0) }
        let ready = TestEnvironment.waitUntil(timeout: 30) {
            FileManager.default.fileExists(atPath: readyFile) || !python.isRunning
        }
        let log = { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
        try #require(ready && python.isRunning, "kazoo did not get ready:\n\(log())")
        server.kill()
        server = try startServer(directory, port: port)
        try "go".write(toFile: goFile, atomically: true, encoding: .utf8)
        #expect(python.waitForExit(timeout: 60), "kazoo did not finish:\n\(log())")
        #expect(python.exitCode == 0, "\(log())")
        #expect(log().contains("OK"), "\(log())")
        server.stop()
    }
}

/// Connects with kazoo, creates an ephemeral, waits for the test to restart the server, then checks that the
/// session (same id, never LOST) and the ephemeral survived.
let kazooRestartScript = """
    import os, sys, time
    from kazoo.client import KazooClient, KazooState
    hosts, path, ready_file, go_file = sys.argv[1:5]
    states = []
    zk = KazooClient(hosts=hosts, timeout=10.0,
                     connection_retry={'max_tries': -1, 'delay': 0.1, 'max_delay': 0.5, 'backoff': 1.2})
    zk.add_listener(lambda state: states.append(state))
    zk.start(timeout=15)
    session = zk.client_id[0]
    zk.create(path, b'kazoo', ephemeral=True)
    with open(ready_file, 'w') as f:
        f.write('%x' % session)
    deadline = time.time() + 60
    while not os.path.exists(go_file):
        if time.time() > deadline:
            print('FAIL: no restart'); sys.exit(1)
        time.sleep(0.05)
    stat = None
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            stat = zk.exists(path)
            break
        except Exception as error:
            time.sleep(0.1)
    print('session before %x after %x' % (session, zk.client_id[0]))
    print('states', [str(s) for s in states])
    print('ephemeral owner', '%x' % stat.ephemeralOwner if stat else None)
    ok = (stat is not None and stat.ephemeralOwner == session and zk.client_id[0] == session
          and KazooState.LOST not in states)
    print('OK' if ok else 'FAIL')
    zk.stop()
    sys.exit(0 if ok else 1)
    """
