import Foundation
import Logging
import NIOCore
import Testing
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTestSupport

@testable import ZooKeeperServer

#if canImport(Glibc)
    import Glibc
#endif

/// In-process servers with a data directory: restarts, snapshots while serving, group commit, disk failures.
@Suite(.serialized) struct DurableStoreTests {
    func configuration(dataDirectory: String, port: Int = 0) -> ServerConfiguration {
        var configuration = ZooKeeperServerForTests.configuration()
        configuration.dataDirectory = dataDirectory
        configuration.clientPort = port
        return configuration
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test(.timeLimit(.minutes(1))) func dataSurvivesARestartAndZxidsContinue() async throws {
        let directory = try TestEnvironment.temporaryDirectory("durable")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var server = try await ZooKeeperServer.start(
            configuration(dataDirectory: directory), logger: ZooKeeperServerForTests.quietLogger)
        var client = try await ZooKeeperClient.connect(server.connectString)
        _ = try await client.create("/kept", data: bytes("one"))
        _ = try await client.setData("/kept", data: bytes("two"))
        _ = try await client.create("/kept/child", data: nil, acl: ACL.readUnsafe)
        let last = try await client.setData("/kept", data: bytes("three"))
        await client.close()
        await server.shutdown()

        server = try await ZooKeeperServer.start(
            configuration(dataDirectory: directory), logger: ZooKeeperServerForTests.quietLogger)
        client = try await ZooKeeperClient.connect(server.connectString)
        let (data, stat) = try await client.getData("/kept")
        #expect(data == bytes("three"))
        #expect(stat == last)
        #expect(try await client.getACL("/kept/child").acl == ACL.readUnsafe)
        // The closeSession of the first client took a zxid too; the next write takes the one after.
        let created = try await client.createWithStat("/after", data: nil)
        #expect(created.stat.czxid > last.mzxid)
        #expect(created.stat.czxid <= last.mzxid + 3)
        await client.close()
        await server.shutdown()
    }

    @Test(.timeLimit(.minutes(2))) func snapshotsAreTakenWhileServingAndRecoveryUsesThem() async throws {
        let directory = try TestEnvironment.temporaryDirectory("durable-snap")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = configuration(dataDirectory: directory)
        settings.snapCount = 200
        var server = try await ZooKeeperServer.start(settings, logger: ZooKeeperServerForTests.quietLogger)
        var client = try await ZooKeeperClient.connect(server.connectString)
        _ = try await client.create("/s", data: nil)
        let writer = client
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<1500 {
                group.addTask { _ = try await writer.create("/s/n\(index)", data: [UInt8(index % 256)]) }
            }
            try await group.waitForAll()
        }
        let dataDirectory = DataDirectory(dataDirectory: directory)
        // Snapshots are written in the background; wait (bounded) until one is in place.
        #expect(
            TestEnvironment.waitUntil(timeout: 10) {
                ((try? dataDirectory.snapshotFiles(PosixFileSystem())) ?? []).count >= 1
            })
        let logFiles = try dataDirectory.logFiles(PosixFileSystem())
        #expect(logFiles.count >= 2, "the log rolls when a snapshot starts")
        await client.close()
        await server.shutdown()

        server = try await ZooKeeperServer.start(settings, logger: ZooKeeperServerForTests.quietLogger)
        client = try await ZooKeeperClient.connect(server.connectString)
        #expect(try await client.getChildren("/s").count == 1500)
        #expect(try await client.getData("/s/n1499").data == [UInt8(1499 % 256)])
        let dirs = try await server.fourLetterWord(.dirs)
        let sizes = dirs.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(sizes.count == 2 && sizes.allSatisfy { $0 > 0 }, "\(dirs)")
        let conf = try await server.fourLetterWord(.conf)
        #expect(conf.contains("dataDir=\(directory)/version-2"), "\(conf)")
        await client.close()
        await server.shutdown()
    }

    @Test(.timeLimit(.minutes(2))) func autopurgeKeepsTheNewestSnapshotsAndTheLogsTheyNeed() async throws {
        let directory = try TestEnvironment.temporaryDirectory("durable-purge")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var settings = configuration(dataDirectory: directory)
        settings.snapCount = 100
        var server = try await ZooKeeperServer.start(settings, logger: ZooKeeperServerForTests.quietLogger)
        var client = try await ZooKeeperClient.connect(server.connectString)
        let dataDirectory = DataDirectory(dataDirectory: directory)
        let snapshotCount = { ((try? dataDirectory.snapshotFiles(PosixFileSystem())) ?? []).count }
        // One write at a time, so that every snapshot gets its turn.
        for index in 0..<2000 where snapshotCount() < 6 {
            _ = try await client.create("/p\(index)", data: [UInt8(index % 256)])
        }
        #expect(TestEnvironment.waitUntil(timeout: 10) { snapshotCount() >= 6 })
        let written = try await client.getChildren("/").count
        await client.close()
        await server.shutdown()

        settings.autopurgePurgeInterval = 1
        settings.autopurgeSnapRetainCount = 3
        server = try await ZooKeeperServer.start(settings, logger: ZooKeeperServerForTests.quietLogger)
        // Autopurge runs at start, then every interval.
        #expect(TestEnvironment.waitUntil(timeout: 10) { snapshotCount() == 3 })
        let snapshots = try dataDirectory.snapshotFiles(PosixFileSystem()).map(\.zxid)
        let logs = try dataDirectory.logFiles(PosixFileSystem()).map(\.zxid)
        #expect(logs.first! <= snapshots.first! + 1, "the log holding the oldest kept snapshot's next zxid stays")
        client = try await ZooKeeperClient.connect(server.connectString)
        #expect(try await client.getChildren("/").count == written)
        await client.close()
        await server.shutdown()
        // What is left still recovers on its own.
        let (core, _) = try recoverCore(dataDirectory)
        #expect(core.tree.root.childCount == written)
    }

    @Test(.timeLimit(.minutes(1))) func oneFsyncServesManyPipelinedWrites() async throws {
        let directory = try TestEnvironment.temporaryDirectory("durable-group")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fileSystem = FaultyFileSystem()
        let server = try await ZooKeeperServer.start(
            configuration(dataDirectory: directory), fileSystem: fileSystem,
            logger: ZooKeeperServerForTests.quietLogger)
        let client = try await ZooKeeperClient.connect(server.connectString)
        let before = fileSystem.synchronizeCount
        let writes = 2000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<writes {
                group.addTask { _ = try await client.create("/g\(index)", data: nil) }
            }
            try await group.waitForAll()
        }
        let fsyncs = fileSystem.synchronizeCount - before
        #expect(fsyncs > 0)
        #expect(fsyncs < writes / 4, "\(fsyncs) fsyncs for \(writes) pipelined writes")
        await client.close()
        await server.shutdown()
    }

    @Test(.timeLimit(.minutes(1))) func aFullDiskStopsWritesKeepsReadsAndNeverShowsAnUnloggedWrite() async throws {
        let directory = try TestEnvironment.temporaryDirectory("durable-full")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fileSystem = FaultyFileSystem()
        var server = try await ZooKeeperServer.start(
            configuration(dataDirectory: directory), fileSystem: fileSystem,
            logger: ZooKeeperServerForTests.quietLogger)
        var settings = ZooKeeperClient.Configuration()
        settings.sessionTimeout = .seconds(20)
        settings.maximumReconnectDelay = .milliseconds(100)
        let client = try await ZooKeeperClient.connect(server.connectString, configuration: settings)
        _ = try await client.create("/before", data: bytes("durable"))
        fileSystem.failWrites(with: ENOSPC)

        // The write in flight is never acknowledged: the connection drops (its outcome is unknown to the client).
        await #expect {
            _ = try await client.create("/during", data: bytes("lost"))
        } throws: { error in
            (error as? ZooKeeperError)?.code == .connectionLoss
        }
        // The client comes back on the same session; reads are served from what is on disk.
        try await client.waitUntilConnected(timeout: .seconds(10))
        #expect(try await client.getData("/before").data == bytes("durable"))
        #expect(try await client.exists("/during") == nil)
        // Writes are refused with a code clients know (a read-only server's).
        await #expect {
            _ = try await client.create("/refused", data: nil)
        } throws: { error in
            (error as? ZooKeeperError)?.code == .notReadOnly
        }
        await #expect {
            _ = try await client.setData("/before", data: nil)
        } throws: { error in
            (error as? ZooKeeperError)?.code == .notReadOnly
        }
        // Monitoring sees a read-only server.
        #expect(try await server.fourLetterWord(.isro) == "ro")
        #expect(try await server.fourLetterWord(.srvr).contains("Mode: read-only"))
        // New sessions can still read.
        let reader = try await ZooKeeperClient.connect(server.connectString)
        #expect(try await reader.getChildren("/").contains("before"))
        await reader.close()
        await client.close()
        await server.shutdown()

        // After the disk is fixed, a restart serves everything that was acknowledged, and writes again.
        server = try await ZooKeeperServer.start(
            configuration(dataDirectory: directory), logger: ZooKeeperServerForTests.quietLogger)
        let again = try await ZooKeeperClient.connect(server.connectString)
        #expect(try await again.getData("/before").data == bytes("durable"))
        #expect(try await again.exists("/during") == nil)
        _ = try await again.create("/afterwards", data: nil)
        await again.close()
        await server.shutdown()
    }

    @Test(.timeLimit(.minutes(1))) func aFailedFsyncIsNeverAcknowledged() async throws {
        let directory = try TestEnvironment.temporaryDirectory("durable-eio")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fileSystem = FaultyFileSystem()
        let server = try await ZooKeeperServer.start(
            configuration(dataDirectory: directory), fileSystem: fileSystem,
            logger: ZooKeeperServerForTests.quietLogger)
        var settings = ZooKeeperClient.Configuration()
        settings.maximumReconnectDelay = .milliseconds(100)
        let client = try await ZooKeeperClient.connect(server.connectString, configuration: settings)
        _ = try await client.create("/ok", data: nil)
        fileSystem.failSynchronize(with: EIO)
        await #expect {
            _ = try await client.setData("/ok", data: bytes("never acknowledged"))
        } throws: { error in
            (error as? ZooKeeperError)?.code == .connectionLoss
        }
        try await client.waitUntilConnected(timeout: .seconds(10))
        let (data, stat) = try await client.getData("/ok")
        #expect(data == nil)
        #expect(stat.version == 0)
        await client.close()
        await server.shutdown()
    }

    @Test func aSecondServerCannotUseTheSameDirectory() async throws {
        let directory = try TestEnvironment.temporaryDirectory("durable-lock")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try await ZooKeeperServer.start(
            configuration(dataDirectory: directory), logger: ZooKeeperServerForTests.quietLogger)
        await #expect {
            _ = try await ZooKeeperServer.start(
                configuration(dataDirectory: directory), logger: ZooKeeperServerForTests.quietLogger)
        } throws: { error in
            (error as? PersistenceError)?.code == .locked
        }
        await server.shutdown()
        // Released on shutdown.
        let next = try await ZooKeeperServer.start(
            configuration(dataDirectory: directory), logger: ZooKeeperServerForTests.quietLogger)
        await next.shutdown()
    }
}
