import Foundation
import Logging
import ZooKeeperServer

/// The servers an interop test body can run against. Each suite runs the same bodies against each kind.
public enum TestServerKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Apache ZooKeeper 3.8 standalone, from Debian's package.
    case apache
    /// zkserver, this package's own server, in process on a free port (in memory).
    case zkserver

    public var description: String { rawValue }
}

/// Servers shared by the tests of one test process, started on first use. Tests keep apart by working under
/// a root path of their own (`uniqueRoot`). The process guard of `ManagedProcess` stops them when the test
/// process exits.
public enum SharedTestServers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var apache: ApacheZooKeeperStandalone?
    nonisolated(unsafe) private static var zkserver: ZooKeeperServer?

    /// The connect string of the shared server of `kind`, starting it if needed.
    public static func connectString(_ kind: TestServerKind) throws -> String {
        switch kind {
        case .apache:
            lock.lock()
            defer { lock.unlock() }
            if let apache { return apache.address }
            let server = try ApacheZooKeeperStandalone()
            apache = server
            return server.address
        case .zkserver:
            lock.lock()
            defer { lock.unlock() }
            if let zkserver { return zkserver.connectString }
            let server = try ZooKeeperServer.startBlocking(
                ZooKeeperServerForTests.configuration(), logger: ZooKeeperServerForTests.quietLogger)
            zkserver = server
            return server.connectString
        }
    }

    /// A path no other test uses: `/<prefix>-<random>`.
    public static func uniqueRoot(_ prefix: String = "t") -> String {
        "/\(prefix)-\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF)"
    }
}

/// How the interop suite runs zkserver: configured like the Apache server of `ApacheZooKeeperStandalone`
/// (tickTime 2000, every four-letter word, TTL nodes, a one-second container sweep).
public enum ZooKeeperServerForTests {
    /// Tests keep the server's logs out of their output.
    public static let quietLogger = Logger(label: "zkserver", factory: { _ in SwiftLogNoOpLogHandler() })

    public static func configuration() -> ServerConfiguration {
        var configuration = ServerConfiguration.ephemeral(tickTime: 2000)
        configuration.extendedTypesEnabled = true
        configuration.containerCheckInterval = 1000
        return configuration
    }
}
