#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The figures Prometheus's client libraries export for any process as `process_*` (the Java client's
/// `StandardExports`, which Apache's provider registers along with its JVM series when `exportJvmInfo` is on):
/// the same meaning in every language, read from `/proc` here.
struct ProcessStatistics: Equatable {
    /// `process_cpu_seconds_total`: user and system CPU time.
    var cpuSeconds: Double
    /// `process_start_time_seconds`: when the process started, in seconds since the Unix epoch.
    var startTimeSeconds: Double
    /// `process_virtual_memory_bytes` and `process_resident_memory_bytes`.
    var virtualMemoryBytes: Int64
    var residentMemoryBytes: Int64

    /// The current figures; nil where `/proc` cannot be read (not Linux).
    static func current() -> ProcessStatistics? {
        guard let stat = ProcessMemory.read("/proc/self/stat"),
            let bootTime = ProcessMemory.read("/proc/stat").flatMap(bootTime(inProcStat:))
        else { return nil }
        return parse(
            stat: stat, bootTime: bootTime, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))),
            pageSize: Int64(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// `/proc/self/stat` (proc(5)): the fields after the command name, which is in parentheses and may hold
    /// spaces; field n of the manual is `fields[n - 3]`.
    static func parse(stat: String, bootTime: Int64, ticksPerSecond: Double, pageSize: Int64) -> ProcessStatistics? {
        guard let close = stat.lastIndex(of: ")"), ticksPerSecond > 0 else { return nil }
        let fields = stat[stat.index(after: close)...].split(whereSeparator: { $0 == " " || $0 == "\n" })
        func field(_ number: Int) -> Int64? { fields.count > number - 3 ? Int64(fields[number - 3]) : nil }
        guard let userTicks = field(14), let systemTicks = field(15), let startTicks = field(22),
            let virtualBytes = field(23), let residentPages = field(24)
        else { return nil }
        return ProcessStatistics(
            cpuSeconds: Double(userTicks + systemTicks) / ticksPerSecond,
            startTimeSeconds: Double(bootTime) + Double(startTicks) / ticksPerSecond,
            virtualMemoryBytes: virtualBytes, residentMemoryBytes: residentPages * pageSize)
    }

    /// The boot time (`btime`, seconds since the epoch) in `/proc/stat`.
    static func bootTime(inProcStat text: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return line.dropFirst(6).split(separator: " ").first.flatMap { Int64($0) }
        }
        return nil
    }
}
