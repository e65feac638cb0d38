import Foundation
import Testing
import ZooKeeperTestSupport

/// What `import ZooKeeper` gives a program: the client and the value types it hands out, not the wire protocol.
/// Checked by type-checking small programs against the built module with swiftc, as a user's build would.
@Suite struct PublicSurfaceTests {
    /// Type-checks `source` against the modules built for the tests; the compiler's diagnostics on failure.
    static func typecheck(_ source: String) throws -> ProgramRun {
        let build = try Repository.binaries
        let directory = try TestEnvironment.temporaryDirectory("surface")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/user.swift"
        try source.write(toFile: file, atomically: true, encoding: .utf8)
        // The C modules the client's dependencies import (SwiftNIO's, BoringSSL's): their module maps and headers.
        var arguments = ["-typecheck", file, "-I", build + "/Modules"]
        let fileManager = FileManager.default
        for entry in try fileManager.contentsOfDirectory(atPath: build) where entry.hasSuffix(".build") {
            let map = build + "/" + entry + "/module.modulemap"
            if fileManager.fileExists(atPath: map) { arguments += ["-Xcc", "-fmodule-map-file=" + map] }
        }
        for root in [Repository.path(".build/checkouts"), Repository.path("Sources")] {
            guard let walker = fileManager.enumerator(atPath: root) else { continue }
            for case let relative as String in walker where !relative.contains("Benchmarks") {
                let path = root + "/" + relative
                if relative.hasSuffix("/include") || relative == "include" {
                    arguments += ["-Xcc", "-I" + path]
                } else if relative.hasSuffix("include/module.modulemap") {
                    arguments += ["-Xcc", "-fmodule-map-file=" + path]
                }
            }
        }
        return try Programs.run("/usr/bin/env", ["swiftc"] + arguments, timeout: 300)
    }

    @Test func aClientProgramNeedsOnlyImportZooKeeper() throws {
        let run = try Self.typecheck(
            """
            import ZooKeeper
            func use(_ client: ZooKeeperClient) async throws {
                let created = try await client.create("/a", data: [1], acl: ACL.openUnsafe, mode: CreateMode.ephemeral)
                let stat: Stat? = try await client.exists(created)
                _ = stat?.version
                _ = ACL(permissions: Permissions.all, id: Id(scheme: "world", id: "anyone"))
                do { try await client.delete("/a") } catch where error.code == ZooKeeperError.Code.noNode {}
                let (_, _, events) = try await client.getDataAndWatch("/a")
                for await event in events where event.type == EventType.nodeDeleted && event.state == KeeperState.syncConnected {}
                try await client.addWatch("/", mode: AddWatchMode.persistentRecursive)
                try await client.removeWatches("/", type: WatcherType.any)
                let results: [MultiResult] = try await client.multi([.create("/b")])
                _ = results
                let identities: [ClientInfo] = try await client.whoAmI()
                _ = identities
                try ZooKeeperPath.validate("/a")
                _ = try JAASConfiguration(parsing: "")
                _ = TLSSettings.self
            }
            """)
        #expect(run.exitCode == 0, "\(run.error)")
    }

    @Test(arguments: [
        "ZooKeeperFrameDecoder.self", "SpecialXid.ping", "OpCode.getData", "ZooKeeperRequest.self",
        "ReplyHeader.self", "ConnectRequest.self",
    ])
    func wireTypesAreNotPartOfTheClientAPI(_ expression: String) throws {
        let run = try Self.typecheck("import ZooKeeper\n_ = \(expression)\n")
        #expect(run.exitCode != 0)
        let name = String(expression.prefix { $0 != "." })
        #expect(run.error.contains("cannot find '\(name)' in scope"), "\(run.error)")
    }

    @Test func anEmbeddedServerNeedsOnlyImportZooKeeperServer() throws {
        let run = try Self.typecheck(
            """
            import ZooKeeperServer
            func embed() async throws {
                var configuration = ServerConfiguration.ephemeral()
                configuration.maxClientConnections = 10
                let server = try await ZooKeeperServer.start(configuration)
                let address: String = server.connectString
                let ports: (Int, Int?, Int?) = (server.port, server.adminPort, server.metricsPort)
                _ = (address, ports)
                _ = try await server.fourLetterWord(FourLetterWord.mntr)
                await server.shutdown()
                _ = try ZooCfg.parse("tickTime=2000\\nclientPort=0\\n").configuration
            }
            """)
        #expect(run.exitCode == 0, "\(run.error)")
    }

    /// The server's core, its transaction log and the seams the tests inject are not part of the library: an
    /// embedder configures, starts and stops a server (the fuzz targets reach them with `@testable import`).
    @Test(arguments: [
        "ServerCore.self", "CoreOutput.self", "Transaction.self", "TransactionLog.self", "InMemoryTransactionLog.self",
        "FileTransactionLog.self", "PosixFileSystem.self", "PersistenceFileSystem.self", "SystemClock.self",
        "ServerClock.self", "ConnectionID.self", "DataDirectory.self",
    ])
    func serverInternalsAreNotPartOfTheServerAPI(_ expression: String) throws {
        let run = try Self.typecheck("import ZooKeeperServer\n_ = \(expression)\n")
        #expect(run.exitCode != 0)
        let name = String(expression.prefix { $0 != "." })
        // The tests' build keeps internal declarations in the module for `@testable import`, so the compiler
        // may name the symbol and its protection level instead of not finding it.
        #expect(
            run.error.contains("cannot find '\(name)' in scope")
                || run.error.contains("'\(name)' is inaccessible due to 'internal' protection level"),
            "\(run.error)")
    }

    @Test func startTakesNoTestSeams() throws {
        let run = try Self.typecheck(
            """
            import ZooKeeperServer
            func embed() async throws {
                _ = try await ZooKeeperServer.start(.ephemeral(), fileSystem: 0)
            }
            """)
        #expect(run.exitCode != 0)
        #expect(
            run.error.contains("extra argument 'fileSystem'")
                || run.error.contains("due to 'internal' protection level"),
            "\(run.error)")
    }
}
