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
/// Blocking sockets, two threads per direction; `stop()` closes everything.
public final class DelayRelay: @unchecked Sendable {
    public let port: Int
    public let target: (host: String, port: Int)
    public let delay: Double
    private let listener: Int32
    private let lock = NSLock()
    private var connections: [PairCloser] = []
    private var stopped = false

    public var address: String { "127.0.0.1:\(port)" }

    /// Starts relaying 127.0.0.1:`listenPort` (0: a free port) to `host:port` (IPv4) with `delay` seconds each
    /// way. A stopped relay's port can be taken again: a link that comes back.
    public init(to host: String, port targetPort: Int, delay: Double, listenPort: Int = 0) throws {
        target = (host, targetPort)
        self.delay = delay
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
    public convenience init(toFirstServerOf connectString: String, delay: Double) throws {
        let first = connectString.split(separator: ",").first.map(String.init) ?? connectString
        guard let colon = first.lastIndex(of: ":"), let port = Int(first[first.index(after: colon)...]) else {
            throw HarnessError("relay: no host:port in '\(connectString)'")
        }
        let host = String(first[..<colon])
        try self.init(to: host == "localhost" ? "127.0.0.1" : host, port: port, delay: delay)
    }

    /// A new relay on this one's address, to the same target: the link back after `stop()`.
    public func reopened() throws -> DelayRelay {
        try DelayRelay(to: target.host, port: target.port, delay: delay, listenPort: port)
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
            DelayedPipe(from: client, to: upstream, delay: delay, closer: closer).start()
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
    private let condition = NSCondition()
    /// Chunks with the time they may leave; an empty chunk stands for EOF.
    private var queue: [(due: Date, bytes: [UInt8])] = []

    init(from source: Int32, to destination: Int32, delay: Double, closer: PairCloser) {
        self.source = source
        self.destination = destination
        self.delay = delay
        self.closer = closer
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
            let chunk = count > 0 ? Array(buffer[0..<count]) : []
            condition.lock()
            queue.append((Date().addingTimeInterval(delay), chunk))
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
