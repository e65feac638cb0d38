import Foundation
import Testing
import ZooKeeper
import ZooKeeperServer
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `zkcli --complete -- WORDS...`, the quiet mode the completion scripts run on Tab.
@Suite(.serialized)
struct CompleteModeTests {
    func complete(_ words: [String]) throws -> (run: ProgramRun, seconds: Double) {
        let start = ContinuousClock.now
        let run = try Programs.run(try Programs.zkcli, ["--complete", "--"] + words, timeout: 30)
        let elapsed = ContinuousClock.now - start
        return (run, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    @Test func matchingPathsOnePerLineAndTheSessionIsClosed() async throws {
        let server = try await ZooKeeperServer.start(
            ZooKeeperServerForTests.configuration(), logger: ZooKeeperServerForTests.quietLogger)
        let client = try ZooKeeperClient(connectString: server.connectString)
        for path in ["/app", "/app/alpha", "/app/alpha/x", "/app/alpine", "/app/beta"] {
            _ = try await client.create(path)
        }
        await client.close()

        let (matches, _) = try complete(["-server", server.connectString, "get", "-s", "/app/al"])
        #expect(matches.output == "words\n/app/alpha\n/app/alpine\n")
        #expect(matches.error == "")
        #expect(matches.exitCode == 0)
        // Through a chroot, as zkcli would see the tree.
        let (chrooted, _) = try complete(["-server", server.connectString + "/app", "ls", "/b"])
        #expect(chrooted.output == "words\n/beta\n")
        // A unique match with children brings them.
        let (unique, _) = try complete(["-server", server.connectString, "ls", "/app/alph"])
        #expect(unique.output == "words\n/app/alpha\n/app/alpha/x\n")

        // Each completion closed its session: none is left to time out on the server.
        let sessions = try await server.fourLetterWord(.mntr).components(separatedBy: "\n")
            .first { $0.hasPrefix("zk_global_sessions") }
        #expect(sessions == "zk_global_sessions\t0")
        await server.shutdown()
    }

    @Test func commandsAndOptionsNeedNoServer() throws {
        let (commands, _) = try complete(["-server", "127.0.0.1:1", "getE"])
        #expect(commands.output == "words\ngetEphemerals\tList the session's ephemeral znodes\n")
        let (options, _) = try complete(["stat", "-"])
        #expect(options.output == "words\n-w\tWatch for changes\n")
        let (file, _) = try complete(["-client-configuration", ""])
        #expect(file.output == "files\n")
        #expect([commands, options, file].allSatisfy { $0.error == "" && $0.exitCode == 0 })
    }

    /// Nothing listens: nothing printed but the kind, status 0, within the bound.
    @Test func aClosedPortGivesNothingQuickly() throws {
        let port = try TestEnvironment.freePort()
        let (run, seconds) = try complete(["-server", "127.0.0.1:\(port)", "ls", "/"])
        #expect(run.output == "words\n")
        #expect(run.error == "")
        #expect(run.exitCode == 0)
        #expect(seconds < 4, "took \(seconds) s")
    }

    /// A server that accepts the connection and never answers: the bound still holds.
    @Test func aSilentServerGivesNothingWithinTheBound() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let (run, seconds) = try complete(["-server", "127.0.0.1:\(listener.port)", "get", "/a"])
        #expect(run.output == "words\n")
        #expect(run.error == "")
        #expect(run.exitCode == 0)
        #expect(seconds < 4, "took \(seconds) s")
    }

    @Test func aBadConnectStringGivesNothing() throws {
        let (run, _) = try complete(["-server", "[::1", "ls", "/"])
        #expect(run.output == "words\n")
        #expect(run.error == "")
        #expect(run.exitCode == 0)
    }
}

/// A TCP socket on 127.0.0.1 that listens and never accepts: connections complete (the kernel queues them)
/// and then hear nothing.
final class SilentListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw HarnessError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(socketDescriptor, 16) == 0 else {
            Glibc.close(socketDescriptor)
            throw HarnessError("bind/listen: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketDescriptor, $0, &length) }
        }
        descriptor = socketDescriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        Glibc.close(descriptor)
    }
}
