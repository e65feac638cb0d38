import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP relay that holds every chunk of bytes for `delay` before passing it on, each way: a link with that
/// much latency added, for a machine whose kernel has no `netem`.
///
/// It listens on 127.0.0.1 (a free port) and connects each accepted connection to `target`. Chunks are
/// timestamped when read and written once their time has come, so the delay does not accumulate under
/// pipelining: the link is slow, not narrow. An end's EOF passes on (after the delay) as a half-close.
/// Blocking sockets, two threads per direction; `stop()` closes everything. With an `OpcodeRewrite`, it also
/// rewrites one opcode in the requests the client sends (a server made to refuse one request type), and counts them.
public final class DelayRelay: @unchecked Sendable {
    public let port: Int
    public let target: (host: String, port: Int)
    public let delay: Double
    /// The opcode rewritten in the client→server frames, if any, and how many frames it was rewritten in.
    public let rewrite: OpcodeRewrite?
    private let listener: Int32
    private let lock = NSLock()
    private var connections: [PairCloser] = []
    private var stopped = false

    public var address: String { "127.0.0.1:\(port)" }

    /// Starts relaying 127.0.0.1:`listenPort` (0: a free port) to `host:port` (IPv4) with `delay` seconds each
    /// way. A stopped relay's port can be taken again: a link that comes back. With `rewrite`, each request
    /// frame the client sends with that opcode reaches the server with the other one.
    public init(
        to host: String, port targetPort: Int, delay: Double, listenPort: Int = 0, rewrite: OpcodeRewrite? = nil
    ) throws {
        target = (host, targetPort)
        self.delay = delay
        self.rewrite = rewrite
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket() failed") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.socketAddress("127.0.0.1", listenPort)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw HarnessError("relay: bind/listen failed, errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = fd
        let acceptor = Thread { [weak self] in self?.acceptLoop(fd) }
        acceptor.start()
    }

    /// Relays to the first server of `connectString` (`localhost` as 127.0.0.1).
    public convenience init(
        toFirstServerOf connectString: String, delay: Double, rewrite: OpcodeRewrite? = nil
    ) throws {
        let first = connectString.split(separator: ",").first.map(String.init) ?? connectString
        guard let colon = first.lastIndex(of: ":"), let port = Int(first[first.index(after: colon)...]) else {
            throw HarnessError("relay: no host:port in '\(connectString)'")
        }
        let host = String(first[..<colon])
        try self.init(to: host == "localhost" ? "127.0.0.1" : host, port: port, delay: delay, rewrite: rewrite)
    }

    /// A new relay on this one's address, to the same target: the link back after `stop()`.
    public func reopened() throws -> DelayRelay {
        try DelayRelay(to: target.host, port: target.port, delay: delay, listenPort: port, rewrite: rewrite)
    }

    deinit {
        stop()
    }

    /// Closes the listener and every relayed connection.
    public func stop() {
        lock.lock()
        if stopped {
            lock.unlock()
            return
        }
        stopped = true
        let open = connections
        connections = []
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for connection in open { connection.abort() }
    }

    private func track(_ connection: PairCloser) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if stopped { return false }
        connections.append(connection)
        return true
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = Self.socketAddress(target.host, target.port)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let closer = PairCloser(client, upstream)
            guard connected == 0, track(closer) else {
                close(client)
                close(upstream)
                continue
            }
            DelayedPipe(
                from: client, to: upstream, delay: delay, closer: closer,
                rewriter: rewrite.map { RequestFrameRewriter($0) }
            ).start()
            DelayedPipe(from: upstream, to: client, delay: delay, closer: closer).start()
        }
    }

    static func socketAddress(_ host: String, _ port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        return address
    }
}

/// Closes both sockets of a relayed connection once both directions are done.
private final class PairCloser: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining = 2
    private let sockets: (Int32, Int32)
    init(_ first: Int32, _ second: Int32) { sockets = (first, second) }

    func directionDone() {
        lock.lock()
        defer { lock.unlock() }
        remaining -= 1
        if remaining == 0 {
            close(sockets.0)
            close(sockets.1)
        }
    }

    /// Ends the whole connection (as a reset would); nothing once both sockets are closed, as their numbers may
    /// belong to something else by then.
    func abort() {
        lock.lock()
        defer { lock.unlock() }
        guard remaining > 0 else { return }
        shutdown(sockets.0, Int32(SHUT_RDWR))
        shutdown(sockets.1, Int32(SHUT_RDWR))
    }
}

/// One direction of a relayed connection: a reader that timestamps chunks and a writer that sends each
/// when its delay has passed.
private final class DelayedPipe: @unchecked Sendable {
    private let source: Int32
    private let destination: Int32
    private let delay: Double
    private let closer: PairCloser
    private let rewriter: RequestFrameRewriter?
    private let condition = NSCondition()
    /// Chunks with the time they may leave; an empty chunk stands for EOF.
    private var queue: [(due: Date, bytes: [UInt8])] = []

    init(
        from source: Int32, to destination: Int32, delay: Double, closer: PairCloser,
        rewriter: RequestFrameRewriter? = nil
    ) {
        self.source = source
        self.destination = destination
        self.delay = delay
        self.closer = closer
        self.rewriter = rewriter
    }

    func start() {
        Thread { self.readLoop() }.start()
        Thread { self.writeLoop() }.start()
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(source, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            var chunk = count > 0 ? Array(buffer[0..<count]) : []
            var leftover: [UInt8] = []
            if let rewriter {
                if count > 0 {
                    chunk = rewriter.passWholeFrames(chunk)
                    // An empty chunk stands for EOF: nothing to send until a frame is whole.
                    if chunk.isEmpty { continue }
                } else {
                    leftover = rewriter.remainder
                }
            }
            condition.lock()
            let due = Date().addingTimeInterval(delay)
            if !leftover.isEmpty { queue.append((due, leftover)) }
            queue.append((due, chunk))
            condition.signal()
            condition.unlock()
            if count <= 0 { return }
        }
    }

    private func writeLoop() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let (due, bytes) = queue.removeFirst()
            condition.unlock()
            let wait = due.timeIntervalSinceNow
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
            if bytes.isEmpty {
                shutdown(destination, Int32(SHUT_WR))
                closer.directionDone()
                return
            }
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes { write(destination, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 {
                    closer.abort()
                    // Drain the reader's queue until its EOF, so that it does not wait on us.
                    drainUntilEOF()
                    closer.directionDone()
                    return
                }
                offset += written
            }
        }
    }

    private func drainUntilEOF() {
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let (_, bytes) = queue.removeFirst()
            condition.unlock()
            if bytes.isEmpty { return }
        }
    }
}

/// An opcode to rewrite in the requests a relay passes on (e.g. multiRead, 22, into one the server does not
/// know, so that it answers as a server before 3.6 would), and a count of the frames rewritten, over all
/// connections.
public final class OpcodeRewrite: @unchecked Sendable {
    public let from: Int32
    public let to: Int32
    private let lock = NSLock()
    private var rewritten = 0

    public init(from: Int32, to: Int32) {
        self.from = from
        self.to = to
    }

    /// How many request frames have had their opcode rewritten so far.
    public var rewrittenFrames: Int { lock.withLock { rewritten } }

    fileprivate func countOne() { lock.withLock { rewritten += 1 } }
}

/// Splits one connection's client→server bytes into ZooKeeper frames (a 4-byte big-endian length, then that
/// many bytes) and rewrites the opcode of each request (after the connect request, which has none: xid, then
/// opcode). Bytes of a frame not yet whole are held back until it is.
private final class RequestFrameRewriter {
    private let rewrite: OpcodeRewrite
    private var pending: [UInt8] = []
    private var connectRequestPassed = false

    init(_ rewrite: OpcodeRewrite) { self.rewrite = rewrite }

    /// The bytes held back (the connection ended inside a frame).
    var remainder: [UInt8] { pending }

    /// Takes the next bytes read from the client; returns the whole frames they complete, rewritten.
    func passWholeFrames(_ bytes: [UInt8]) -> [UInt8] {
        pending += bytes
        var end = 0
        while pending.count - end >= 4 {
            let length = Int(Self.int32(pending, at: end))
            guard length >= 0 else {
                // Not a ZooKeeper stream after all: pass the rest on untouched.
                end = pending.count
                break
            }
            guard pending.count - end - 4 >= length else { break }
            if connectRequestPassed && length >= 8 && Self.int32(pending, at: end + 8) == rewrite.from {
                withUnsafeBytes(of: rewrite.to.bigEndian) { pending.replaceSubrange(end + 8..<end + 12, with: $0) }
                rewrite.countOne()
            }
            connectRequestPassed = true
            end += 4 + length
        }
        let whole = Array(pending[..<end])
        pending.removeFirst(end)
        return whole
    }

    private static func int32(_ bytes: [UInt8], at offset: Int) -> Int32 {
        bytes[offset..<offset + 4].reduce(Int32(0)) { $0 << 8 | Int32($1) }
    }
}
