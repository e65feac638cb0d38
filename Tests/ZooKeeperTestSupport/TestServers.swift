import Foundation

/// The servers an interop test body can run against. Each suite runs the same bodies against each kind.
public enum TestServerKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Apache ZooKeeper 3.8 standalone, from Debian's package.
    case apache

    public var description: String { rawValue }
}

/// Servers shared by the tests of one test process, started on first use. Tests keep apart by working under
/// a root path of their own (`uniqueRoot`). The process guard of `ManagedProcess` stops them when the test
/// process exits.
public enum SharedTestServers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var apache: ApacheZooKeeperStandalone?

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
        }
    }

    /// A path no other test uses: `/<prefix>-<random>`.
    public static func uniqueRoot(_ prefix: String = "t") -> String {
        "/\(prefix)-\(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF)"
    }
}
