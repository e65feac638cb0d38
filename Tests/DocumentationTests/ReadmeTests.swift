import Foundation
import Logging
import ServiceLifecycle
import Testing
import ZooKeeper

/// README.md: its opening stays as it is, and its Swift examples are compiled here, verbatim.
struct ReadmeTests {
    @Test func theReadmeOpensWithTheTwoSetUpCommands() throws {
        let readme = try Repository.read("README.md")
        #expect(
            readme.hasPrefix(
                """
                # swift-zookeeper

                ```sh
                make run     # installs what is missing, builds, and opens the zkcli shell on an embedded server
                make test    # installs what the tests need, then runs every test, interop with Apache ZooKeeper included
                ```

                """))
    }

    /// Each ```swift block that imports ZooKeeper is the body of one of `ReadmeExamples`' functions, so an
    /// example that no longer compiles breaks the build.
    @Test func everySwiftExampleIsCompiledHere() throws {
        let readme = try Repository.read("README.md")
        let thisFile = Self.normalized(try String(contentsOfFile: #filePath, encoding: .utf8))
        var examples = 0
        for block in Self.swiftBlocks(readme) where block.contains("import ZooKeeper") {
            examples += 1
            let body = Self.normalized(
                block.components(separatedBy: "\n").filter { !$0.hasPrefix("import ") }
                    .joined(separator: "\n"))
            #expect(thisFile.contains(body), "this README example is not compiled by ReadmeTests.swift:\n\(block)")
        }
        #expect(examples == 7)
    }

    static func swiftBlocks(_ markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [String]?
        for line in markdown.components(separatedBy: "\n") {
            if current == nil, line == "```swift" {
                current = []
            } else if current != nil, line == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// Lines without their indentation, blank lines dropped.
    static func normalized(_ text: String) -> String {
        text.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .joined(separator: "\n")
    }
}

/// README.md's examples (never run: they name servers that do not exist).
enum ReadmeExamples {
    static func theClientLibrary() async throws {
        let zk = try await ZooKeeperClient.connect("zk1:2181,zk2:2181,zk3:2181/app")
        try await zk.create("/config", data: Array("v1".utf8))
        let (data, stat) = try await zk.getData("/config")
        print(String(decoding: data ?? [], as: UTF8.self))  // v1
        try await zk.setData("/config", data: Array("v2".utf8), version: stat.version)

        // A one-shot watch with a stream of its own.
        let (_, _, changes) = try await zk.getDataAndWatch("/config")
        for await event in changes { print(event) }  // NodeDataChanged, then the stream ends

        // A persistent recursive watch.
        for await event in try await zk.watch("/services", mode: .persistentRecursive) { print(event) }

        await zk.close()
    }

    static func workersAndMulti() async throws {
        try await withZooKeeperClient("zk1:2181") { zk in
            let me = try await zk.create("/workers/w-", data: Array("host-1".utf8), mode: .ephemeralSequential)
            print("registered as \(me)")  // /workers/w-0000000007
            let workers = try await zk.getChildren("/workers")
            print(workers.sorted())

            // All or nothing: take a task off the queue and record who has it.
            do {
                try await zk.multi([.delete("/queue/task-1"), .create("/taken/task-1", data: Array(me.utf8))])
            } catch let error as ZooKeeperError where error.code == .noNode {
                print("another worker took it")
            }
        }
    }

    static func connectionEvents() async throws {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sessionTimeout = .seconds(10)
        let zk = try ZooKeeperClient(connectString: "zk1:2181,zk2:2181,zk3:2181", configuration: configuration)
        for await event in zk.connectionEvents {
            switch event {
            case .connected, .reconnected: print("serving")
            case .disconnected: print("holding writes until the session is back")
            case .expired: print("session lost: start again with a new client")
            default: break
            }
        }
    }

    static func service() async throws {
        var configuration = ZooKeeperClient.Configuration()
        configuration.logger = Logger(label: "zookeeper")  // every line carries zk_session=0x… and zk_server=host:port
        let zk = try await ZooKeeperClient.connect("zk1:2181,zk2:2181,zk3:2181", configuration: configuration)
        try await zk.create("/workers/w-", mode: .ephemeralSequential)
        // Put the client first: a group stops its services in reverse order, so the session closes last.
        let group = ServiceGroup(services: [zk], gracefulShutdownSignals: [.sigterm], logger: configuration.logger)
        try await group.run()
    }

    static func saslLogin() async throws {
        var configuration = ZooKeeperClient.Configuration()
        configuration.sasl = .digestMD5(username: "bob", password: "secret")
        // or: configuration.sasl = try SASLCredentials(jaas: JAASConfiguration(contentsOf: "/etc/zookeeper/jaas.conf"))
        let zk = try await ZooKeeperClient.connect("zk1:2181", configuration: configuration)
        print(try await zk.whoAmI().map { "\($0.authScheme): \($0.user)" })  // ["sasl: bob", "ip: 127.0.0.1"]
    }

    static func recipes() async throws {
        let zk = try await ZooKeeperClient.connect("zk1:2181,zk2:2181,zk3:2181")
        let lock = DistributedLock(client: zk, path: "/locks/nightly-report")
        guard try await lock.acquire(timeout: .seconds(30)) else { return }  // someone else has it
        let node = await lock.lockNode!
        // A ZooKeeper write fenced by the lock: it applies only if our lock node (version 0) still exists.
        try await zk.multi([.check(node, version: 0), .setData("/reports/latest", data: Array("done".utf8))])
        // Elsewhere, pass the fencing token: it grows with every holder, so a store refuses a smaller one.
        let token = await lock.fencingToken!
        print("writing the report with fencing token \(token)")
        try await lock.release()

        let latch = LeaderLatch(client: zk, path: "/election/scheduler", id: "host-1")
        try await latch.start()
        for await leading in latch.leadershipChanges {
            print(leading ? "leading: start the scheduler" : "not leading: stop the scheduler now")
        }
    }

    static func countersAndCaches() async throws {
        let zk = try await ZooKeeperClient.connect("zk1:2181")
        let hits = DistributedAtomicLong(client: zk, path: "/counters/hits")
        print(try await hits.increment().postValue)

        let cache = TreeCache(client: zk, path: "/services")
        try await cache.start()
        for await event in cache.events {
            switch event {
            case .added(let path, _), .updated(let path, _, _): print("up: \(path)")
            case .removed(let path, _): print("gone: \(path)")
            case .sessionLost: try await cache.rebuild(using: try await ZooKeeperClient.connect("zk1:2181"))
            default: break
            }
        }
    }
}
