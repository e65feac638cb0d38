import Foundation
import Testing
import ZooKeeper
import ZooKeeperServer
import ZooKeeperTestSupport

/// The texts monitoring scripts read: field names and layout as Apache prints them.
@Suite(.serialized) struct FourLetterWordsTests {
    private func word(_ word: String, _ server: ZooKeeperServer) throws -> String {
        try #require(TestEnvironment.fourLetterWord(word, port: server.port))
    }

    @Test(.timeLimit(.minutes(1))) func defaultWhitelistIsSrvrOnly() async throws {
        var configuration = ServerConfiguration.ephemeral()
        configuration.fourLetterWordWhitelist = ["srvr"]
        let server = try await ZooKeeperServer.start(configuration, logger: ZooKeeperServerForTests.quietLogger)
        #expect(try word("ruok", server) == "ruok is not executed because it is not in the whitelist.\n")
        #expect(try word("mntr", server) == "mntr is not executed because it is not in the whitelist.\n")
        #expect(try word("srvr", server).contains("\nMode: standalone\n"))
        await server.shutdown()
    }

    @Test(.timeLimit(.minutes(1))) func textsMatchApachesLayout() async throws {
        try await withZKServer { server in
            let client = try await ZooKeeperClient.connect(server.connectString)
            _ = try await client.create("/eph", data: [1, 2], mode: .ephemeral)
            _ = try await client.exists("/eph", watch: true)
            _ = try await client.getData("/zookeeper", watch: true)
            let session = "0x" + String(UInt64(bitPattern: client.sessionID), radix: 16)

            #expect(try word("ruok", server) == "imok")
            #expect(try word("isro", server) == "rw")

            let srvr = try word("srvr", server).split(separator: "\n", omittingEmptySubsequences: false)
            #expect(srvr.count == 10 && srvr.last == "")
            #expect(srvr[0].hasPrefix("Zookeeper version: 3.9."))
            #expect(srvr[1].hasPrefix("Latency min/avg/max: "))
            #expect(srvr[2].hasPrefix("Received: ") && srvr[3].hasPrefix("Sent: "))
            #expect(srvr[4] == "Connections: 2")  // the client and this 4lw connection
            #expect(srvr[5] == "Outstanding: 0")
            #expect(srvr[6].hasPrefix("Zxid: 0x"))
            #expect(srvr[7] == "Mode: standalone")
            #expect(srvr[8] == "Node count: 6")  // Apache counts the root twice

            let stat = try word("stat", server)
            #expect(stat.contains("\nClients:\n /127.0.0.1:"))
            #expect(stat.contains("](queued=0,recved="))
            #expect(stat.contains("\n\nLatency min/avg/max: "))
            #expect(stat.hasSuffix("Mode: standalone\nNode count: 6\n"))

            let cons = try word("cons", server)
            #expect(cons.hasSuffix(")\n\n"))
            #expect(cons.contains("sid=\(session),lop=GETD,est="))
            #expect(cons.contains(",to=10000,") || cons.contains(",to="))

            let mntr = try word("mntr", server).split(separator: "\n")
            #expect(mntr.first == "zk_version\t\(ZooKeeperServer.version)")
            #expect(mntr.dropFirst().first == "zk_server_state\tstandalone")
            #expect(mntr.allSatisfy { $0.hasPrefix("zk_") && $0.split(separator: "\t").count == 2 })
            let values = Dictionary(
                uniqueKeysWithValues: mntr.map { line in
                    let parts = line.split(separator: "\t")
                    return (String(parts[0]), String(parts[1]))
                })
            #expect(values["zk_znode_count"] == "6")
            #expect(values["zk_ephemerals_count"] == "1")
            #expect(values["zk_watch_count"] == "2")
            #expect(values["zk_num_alive_connections"] == "2")
            #expect(values["zk_outstanding_requests"] == "0")
            #expect(values["zk_approximate_data_size"] == "\(44 + 4 + 2)")
            for key in [
                "zk_avg_latency", "zk_min_latency", "zk_max_latency", "zk_packets_received", "zk_packets_sent",
                "zk_open_file_descriptor_count", "zk_max_file_descriptor_count", "zk_uptime", "zk_global_sessions",
            ] {
                #expect(values[key] != nil, "\(key)")
            }

            #expect(try word("wchs", server) == "1 connections watching 2 paths\nTotal watches:2\n")
            #expect(try word("wchc", server) == "\(session)\n\t/eph\n\t/zookeeper\n\n")
            #expect(try word("wchp", server) == "/eph\n\t\(session)\n/zookeeper\n\t\(session)\n\n")

            let conf = try word("conf", server)
            #expect(conf.hasPrefix("clientPort=\(server.port)\nsecureClientPort=-1\n"))
            #expect(
                conf.contains("\ntickTime=2000\nmaxClientCnxns=0\nminSessionTimeout=4000\nmaxSessionTimeout=40000\n"))
            #expect(conf.hasSuffix("serverId=0\n"))

            let dump = try word("dump", server)
            #expect(dump.hasPrefix("SessionTracker dump:\nSession Sets (1)/(1):\n1 expire at "))
            #expect(dump.contains("ephemeral nodes dump:\nSessions with Ephemerals (1):\n\(session):\n\t/eph\n"))
            #expect(dump.contains("Connections dump:\n"))

            #expect(try word("envi", server).hasPrefix("Environment:\nzookeeper.version=\(ZooKeeperServer.version)\n"))
            #expect(try word("dirs", server) == "datadir_size: 0\nlogdir_size: 0\n")
            #expect(try word("crst", server) == "Connection stats reset.\n")
            #expect(try word("srst", server) == "Server stats reset.\n")
            #expect(try word("srvr", server).contains("\nReceived: 1\n"))
            await client.close()
        }
    }

    /// What `echo stat | nc host port | grep Mode` does: the word, a newline, end of input, read to the close.
    @Test(.timeLimit(.minutes(1))) func echoPipedWordsWithAHalfClose() async throws {
        try await withZKServer { server in
            for (word, expected) in [("stat", "Mode: standalone"), ("mntr", "zk_server_state\tstandalone")] {
                let connection = try #require(RawConnection(port: server.port))
                #expect(connection.send(Array("\(word)\n".utf8)))
                connection.shutdownWrite()
                let text = connection.readToEnd()
                #expect(text.split(separator: "\n").contains { $0 == expected }, "\(text)")
            }
        }
    }
}
