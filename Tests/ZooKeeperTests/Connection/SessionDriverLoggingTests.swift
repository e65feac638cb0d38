import Logging
import NIOConcurrencyHelpers
import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The metadata on the client's log lines, captured with a LogHandler of the test's own, against Apache 3.8.
@Suite struct SessionDriverLoggingTests {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
    }

    /// Keeps every line logged through it, with its logger's metadata merged with the line's.
    struct CapturingLogHandler: LogHandler {
        let lines: NIOLockedValueBox<[Line]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, line in line }
            lines.withLockedValue { $0.append(Line(level: event.level, message: "\(event.message)", metadata: merged)) }
        }
    }

    @Test func everyLineNamesTheSessionInHexAndTheServer() async throws {
        let lines = NIOLockedValueBox<[Line]>([])
        let address = try SharedTestServers.connectString(.apache)
        var configuration = ZooKeeperClient.Configuration()
        configuration.logger = Logger(label: "zookeeper") { _ in CapturingLogHandler(lines: lines) }
        let client = try await ZooKeeperClient.connect(address, configuration: configuration)
        let sessionHex = "0x" + String(UInt64(bitPattern: client.sessionID), radix: 16)
        _ = try await client.getChildren("/")
        await client.close()

        let captured = lines.withLockedValue { $0 }
        #expect(captured.contains { $0.message == "connection connected" })
        #expect(captured.contains { $0.message == "connection closed" })
        for line in captured {
            #expect(line.metadata["zk_server"] == "\(address)", "\(line.message)")
            #expect(line.metadata["zk_session"] != nil, "\(line.message)")
        }
        // From the session's establishment on, the lines carry its id as Apache prints it.
        let connected = try #require(captured.firstIndex { $0.message == "connection connected" })
        for line in captured[connected...] {
            #expect(line.metadata["zk_session"] == "\(sessionHex)", "\(line.message)")
        }
        // Before it, the id is Apache's 0x0.
        for line in captured[..<connected] {
            #expect(line.metadata["zk_session"] == "0x0", "\(line.message)")
        }
    }
}
