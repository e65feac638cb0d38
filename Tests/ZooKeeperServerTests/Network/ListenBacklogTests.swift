import Foundation
import Testing
import ZooKeeperServer
import ZooKeeperTestSupport

/// The client port's listen queue, as the kernel reports it (`ss`: a listening socket's Send-Q is its backlog).
/// Unset, it is as deep as the system allows, so that a herd of clients reconnecting after a restart is not
/// dropped at the handshake; set, it is what zoo.cfg says.
@Suite(.serialized) struct ListenBacklogTests {
    private func listenBacklog(_ configured: Int?) async throws -> Int? {
        var configuration = ZooKeeperServerForTests.configuration()
        if let configured { configuration.listenBacklog = configured }
        let server = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        let run = Result { try Programs.run("/usr/bin/ss", ["-ltnH", "sport = :\(server.port)"], timeout: 30) }
        await server.shutdown()
        let output = try run.get().output
        // "LISTEN 0 4096 127.0.0.1:41234 0.0.0.0:*": state, Recv-Q, Send-Q (the backlog), ...
        let columns = output.split(whereSeparator: \.isWhitespace)
        return columns.count > 2 ? Int(columns[2]) : nil
    }

    @Test(.timeLimit(.minutes(1))) func unsetIsAsDeepAsTheSystemAllows() async throws {
        let maximum = try String(contentsOfFile: "/proc/sys/net/core/somaxconn", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await listenBacklog(nil) == Int(maximum))
    }

    @Test(.timeLimit(.minutes(1))) func clientPortListenBacklogIsKept() async throws {
        #expect(try await listenBacklog(7) == 7)
    }
}
