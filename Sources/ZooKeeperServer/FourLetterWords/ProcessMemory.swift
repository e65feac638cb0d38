#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's memory, as `envi` reports it in Apache's `os.memory.*` keys. Apache reports the JVM's heap
/// (`Runtime.totalMemory`, `maxMemory`, `freeMemory`); zkserver has no heap of its own, so the keys keep their
/// roles for the whole process:
///
/// - `os.memory.total`: the memory the process holds now (its resident set, `VmRSS` in `/proc/self/status`);
/// - `os.memory.max`: the most it may hold: the smallest of its cgroup's `memory.max`, its `RLIMIT_AS` and the
///   machine's physical memory (`MemTotal`);
/// - `os.memory.free`: how much more it may take before that limit (max − total).
///
/// Each is printed as Apache prints them: whole megabytes (MiB), `123MB`.
struct ProcessMemory: Equatable {
    var residentBytes: Int64
    var limitBytes: Int64

    var freeBytes: Int64 { max(0, limitBytes - residentBytes) }

    var environmentEntries: [(String, String)] {
        [
            ("os.memory.free", Self.megabytes(freeBytes)),
            ("os.memory.max", Self.megabytes(limitBytes)),
            ("os.memory.total", Self.megabytes(residentBytes)),
        ]
    }

    static func megabytes(_ bytes: Int64) -> String { "\(bytes / (1024 * 1024))MB" }

    /// Reads the figures from `/proc` and `/sys` (zero where they cannot be read).
    static func current() -> ProcessMemory {
        var limit = read("/proc/meminfo").flatMap { kilobytes(named: "MemTotal", in: $0) } ?? 0
        if let cgroup = read("/proc/self/cgroup").flatMap(cgroupPath),
            let text = read("/sys/fs/cgroup" + cgroup + "/memory.max"),
            let bytes = cgroupLimit(text)
        {
            limit = limit > 0 ? min(limit, bytes) : bytes
        }
        var addressSpace = rlimit()
        // RLIM_INFINITY is the largest value: any limit above Int64.max is no limit.
        if getrlimit(Int32(RLIMIT_AS.rawValue), &addressSpace) == 0, addressSpace.rlim_cur < UInt64(Int64.max) {
            let bytes = Int64(addressSpace.rlim_cur)
            limit = limit > 0 ? min(limit, bytes) : bytes
        }
        let resident = read("/proc/self/status").flatMap { kilobytes(named: "VmRSS", in: $0) } ?? 0
        return ProcessMemory(residentBytes: resident, limitBytes: limit)
    }

    /// `Name:   1234 kB` from a `/proc` status or meminfo text, in bytes.
    static func kilobytes(named name: String, in text: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let fields = line.dropFirst(name.count + 1).split { $0 == " " || $0 == "\t" }
            guard let value = fields.first.flatMap({ Int64($0) }) else { return nil }
            return value * 1024
        }
        return nil
    }

    /// The process's cgroup v2 path (`0::/system.slice/zkserver.service`).
    static func cgroupPath(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("0::") {
            let path = String(line.dropFirst(3))
            return path == "/" ? "" : path
        }
        return nil
    }

    /// A cgroup v2 `memory.max`: bytes, or nil for `max` (no limit).
    static func cgroupLimit(_ text: String) -> Int64? {
        Int64(text.split(separator: "\n").first ?? "")
    }

    /// The whole file (`/proc` files report a size of 0, so it is read to its end rather than by its size).
    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
