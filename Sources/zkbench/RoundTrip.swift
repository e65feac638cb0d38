import ArgumentParser
import Foundation
import NIOCore
import ZooKeeper
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// The network's share of a synchronous request as zkbench itself sees it: `getData` calls of the same client
/// (event loop, channel, frame codec, session machine, continuation) that the `phases` command measures, one at a
/// time, against a responder in this process that answers each ZooKeeper frame at once and does nothing else.
/// A server's sync p50 minus this is what the server adds. With `--sync-directory`, the responder also writes and
/// fdatasyncs a log record before each reply: the floor of a synchronous write, with the disk flushed at the pace a
/// synchronous client sets (a flush is slower after an idle gap than back to back, so the sum of a back-to-back
/// fdatasync and a round trip is below what any server can reach).
struct RoundTripCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "round-trip",
        abstract: "Latency floor: synchronous getData through zkbench's client against a trivial loopback responder.",
        discussion: """
            Starts a responder on 127.0.0.1 (a thread of this process on blocking sockets: it answers the
            ConnectRequest, every getData with --value-size bytes and a stat, and anything else with an empty reply),
            connects zkbench's client to it, makes 200 warm-up calls, then --count getData calls one at a time and
            prints their latency as `phases` prints a sync phase (phase `round-trip`).
            With --sync-directory, the responder first writes a 140-byte record at the end of a zero-filled,
            synced file in that directory and calls fdatasync, then replies (phase `write-floor`): a synchronous
            write's floor, the disk flushed once per request as a server's group commit of one write does.
            """)

    @Option(name: .long, help: "Synchronous calls timed.")
    var count = 3_000

    @Option(name: .long, help: "Bytes of data in each reply.")
    var valueSize = 100

    @Option(name: .long, help: "Write and fdatasync a 140-byte record in this directory before each reply.")
    var syncDirectory: String?

    @Option(
        name: .long,
        help: """
            Run the responder on this CPU only, as a server pinned there would run (on a small machine where a thread \
            runs, against the client and the disk's interrupt, moves the floor more than any server work does).
            """)
    var responderCPU: Int?

    @Flag(name: .long, help: "One JSON object instead of text.")
    var json = false

    func validate() throws {
        let cpuCount = MemoryLayout<cpu_set_t>.size * 8
        if let responderCPU, !(0..<cpuCount).contains(responderCPU) {
            throw ValidationError("--responder-cpu must be a CPU number from 0 to \(cpuCount - 1)")
        }
    }

    mutating func run() async throws {
        let log = try syncDirectory.map { try FloorLog(directory: $0, records: count + 200) }
        defer { log?.remove() }
        let responder = try FrameResponder(valueSize: valueSize, log: log, cpu: responderCPU)
        responder.start()
        let client = try await ZooKeeperClient.connect("127.0.0.1:\(responder.port)")
        let path = "/round-trip"
        for _ in 0..<200 { _ = try await client.getData(path) }
        var errors = 0
        let timing = await timeSynchronousCalls(count) {
            do {
                _ = try await client.getData(path)
            } catch {
                errors += 1
            }
        }
        await client.close()
        let result = PhasesCommand.PhaseResult(
            phase: log == nil ? "round-trip" : "write-floor", operations: count, errors: errors,
            seconds: timing.seconds,
            latencies: timing.latencies)
        print(json ? result.json : result.text)
    }
}

/// Times `count` calls of `call`, one after the other: each one's latency in milliseconds, sorted, and the seconds
/// all of them took.
func timeSynchronousCalls(_ count: Int, _ call: () async -> Void) async -> (latencies: [Double], seconds: Double) {
    var latencies: [Double] = []
    latencies.reserveCapacity(count)
    let start = ContinuousClock.now
    for _ in 0..<count {
        let before = ContinuousClock.now
        await call()
        let elapsed = ContinuousClock.now - before
        latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
    }
    let total = ContinuousClock.now - start
    latencies.sort()
    return (latencies, total.seconds)
}

/// The far end of `round-trip`: one thread, blocking loopback sockets, replies encoded once and only their xid
/// patched, so that what it adds to a round trip is two system calls, as the Python floor's echo thread adds.
/// It is not a server (the product's networking is NIO): a floor has no event loop of its own to measure.
final class FrameResponder: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    /// A whole ConnectResponse frame.
    private let connectReply: [UInt8]
    /// A whole getData reply frame (ok, the value and a stat); bytes 4..<8 are the xid.
    private let dataReply: [UInt8]
    private let log: FloorLog?
    private let cpu: Int?

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(valueSize: Int, log: FloorLog? = nil, cpu: Int? = nil) throws {
        self.log = log
        self.cpu = cpu
        var buffer = ByteBuffer()
        buffer.writeZooKeeperFrame { frame in
            ConnectResponse(
                timeout: 30_000, sessionID: 0x5a6b_0001, password: [UInt8](repeating: 7, count: 16),
                readOnly: false
            ).encode(into: &frame)
        }
        connectReply = buffer.readBytes(length: buffer.readableBytes)!
        let stat = Stat(
            czxid: 1, mzxid: 1, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0,
            dataLength: Int32(valueSize), numChildren: 0, pzxid: 1)
        ZooKeeperResponse.data([UInt8](repeating: 0x61, count: valueSize), stat)
            .encodeFrame(header: ReplyHeader(xid: 0, zxid: 1), into: &buffer)
        dataReply = buffer.readBytes(length: buffer.readableBytes)!

        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else {
            throw Failure(description: "round-trip: socket: \(String(cString: strerror(errno)))")
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 1) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            close(listener)
            throw Failure(description: "round-trip: cannot listen on 127.0.0.1: \(reason)")
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Serves connections one after the other, on a thread of its own, until the process exits.
    func start() {
        Thread.detachNewThread { [self] in
            if let cpu { Self.pinCallingThread(to: cpu) }
            while true {
                let connection = accept(listener, nil, nil)
                if connection < 0 { continue }
                var noDelay: Int32 = 1
                setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
                serve(connection)
                close(connection)
            }
        }
    }

    /// Binds the calling thread to one CPU (`sched_setaffinity` of thread 0 is the caller). A CPU this process may not
    /// run on ends the run with one line: an unpinned floor must not pass for a pinned one.
    private static func pinCallingThread(to cpu: Int) {
        var set = cpu_set_t()
        withUnsafeMutableBytes(of: &set) { bytes in
            bytes[cpu / 8] |= UInt8(1 << (cpu % 8))
        }
        // glibc declares sched_setaffinity only under _GNU_SOURCE, which Swift's Glibc module does not set.
        typealias SetAffinity = @convention(c) (pid_t, Int, UnsafeRawPointer) -> Int32
        var failure = "sched_setaffinity is not available"
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sched_setaffinity") {
            let setAffinity = unsafeBitCast(symbol, to: SetAffinity.self)
            if withUnsafeBytes(of: &set, { setAffinity(0, $0.count, $0.baseAddress!) }) == 0 { return }
            failure = String(cString: strerror(errno))
        }
        FileHandle.standardError.write(
            Data("Error: round-trip: cannot run the responder on CPU \(cpu): \(failure)\n".utf8))
        exit(1)
    }

    private func serve(_ connection: Int32) {
        var decoder = ZooKeeperFrameDecoder()
        var input = ByteBuffer()
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var connected = false
        var closing = false
        while !closing {
            let received = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if received <= 0 { return }
            input.writeBytes(chunk[0..<received])
            while var frame = (try? decoder.decode(buffer: &input)) ?? nil {
                guard connected else {
                    connected = true
                    output += connectReply
                    continue
                }
                guard let header = try? RequestHeader(from: &frame) else { return }
                switch header.opCode {
                case .getData:
                    if let log, !log.append() { return }
                    let start = output.count
                    output += dataReply
                    withUnsafeBytes(of: header.xid.bigEndian) {
                        output.replaceSubrange(start + 4..<start + 8, with: $0)
                    }
                default:
                    if header.opCode == .closeSession { closing = true }
                    var reply = ByteBuffer()
                    ZooKeeperResponse.empty.encodeFrame(header: ReplyHeader(xid: header.xid, zxid: 1), into: &reply)
                    output += reply.readableBytesView
                }
            }
            input.discardReadBytes()
            var sent = 0
            while sent < output.count {
                let count = output[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
                if count <= 0 { return }
                sent += count
            }
            output.removeAll(keepingCapacity: true)
        }
    }
}

/// The write floor's log: a file in the directory under test, zero-filled and synced up front (as both servers
/// preallocate theirs, so that a flush need not commit a new size), written one 140-byte record after another.
final class FloorLog: @unchecked Sendable {
    private let path: String
    private let descriptor: Int32
    private let record = [UInt8](repeating: 0x78, count: 140)
    private var offset = 0
    private let capacity: Int

    init(directory: String, records: Int) throws {
        path = directory + "/write-floor-\(getpid()).log"
        descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw FrameResponder.Failure(
                description: "round-trip: cannot create \(path): \(String(cString: strerror(errno)))")
        }
        capacity = records * record.count
        let zeros = [UInt8](repeating: 0, count: capacity)
        let written = zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == capacity, fsync(descriptor) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            unlink(path)
            throw FrameResponder.Failure(description: "round-trip: cannot preallocate \(path): \(reason)")
        }
    }

    /// Writes the next record and waits for the disk; false if either fails.
    func append() -> Bool {
        if offset + record.count > capacity { offset = 0 }
        let written = record.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        offset += record.count
        return written == record.count && fdatasync(descriptor) == 0
    }

    func remove() {
        close(descriptor)
        unlink(path)
    }
}
