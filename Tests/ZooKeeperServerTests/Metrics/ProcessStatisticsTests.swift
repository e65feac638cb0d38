import Testing

@testable import ZooKeeperServer

struct ProcessStatisticsTests {
    /// A `/proc/self/stat` line whose command name holds spaces and a parenthesis, as proc(5) allows.
    @Test func readsTheFieldsAfterTheCommandName() throws {
        let line =
            "4242 (zk server) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 130 0 0 20 0 3 0 1000 123456789 2048 "
            + "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let process = try #require(
            ProcessStatistics.parse(stat: line, bootTime: 1_700_000_000, ticksPerSecond: 100, pageSize: 4096))
        #expect(process.cpuSeconds == 3.8)
        #expect(process.startTimeSeconds == 1_700_000_010)
        #expect(process.virtualMemoryBytes == 123_456_789)
        #expect(process.residentMemoryBytes == 2048 * 4096)
        #expect(ProcessStatistics.parse(stat: "4242 (cut", bootTime: 0, ticksPerSecond: 100, pageSize: 4096) == nil)
        #expect(ProcessStatistics.bootTime(inProcStat: "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n") == 1_700_000_000)
    }
}
