import ZooKeeper

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Asks a server one four-letter word on its client port (`srvr`, `mntr`, ...) and reads the answer to the end.
enum FourLetterWordClient {
    /// The words a server answers (when its `4lw.commands.whitelist` allows them).
    static let words = ["conf", "cons", "dump", "envi", "mntr", "ruok", "srvr", "stat", "wchs"]

    /// The answer, or why there is none. Blocking (a short connection), so it runs off the caller's thread.
    static func ask(_ word: String, _ server: HostAndPort, timeout: Duration = .seconds(3)) async -> Result<
        String, CommandFailure
    > {
        await withCheckedContinuation { continuation in
            Task.detached { continuation.resume(returning: askBlocking(word, server, timeout: timeout)) }
        }
    }

    private static func askBlocking(_ word: String, _ server: HostAndPort, timeout: Duration) -> Result<
        String, CommandFailure
    > {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(server.host, String(server.port), &hints, &found) == 0, let first = found else {
            return .failure(CommandFailure("\(server): unknown host"))
        }
        defer { freeaddrinfo(found) }
        var failure = "cannot connect"
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let address = candidate {
            candidate = address.pointee.ai_next
            let socket = Glibc.socket(
                address.pointee.ai_family, address.pointee.ai_socktype, address.pointee.ai_protocol)
            guard socket >= 0 else { continue }
            defer { close(socket) }
            let seconds = timeout.components.seconds
            var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
            guard connect(socket, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 else {
                failure = String(cString: strerror(errno))
                continue
            }
            let request = Array(word.utf8)
            guard send(socket, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
                failure = String(cString: strerror(errno))
                continue
            }
            shutdown(socket, Int32(SHUT_WR))
            var answer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = recv(socket, &chunk, chunk.count, 0)
                if count < 0 && errno == EINTR { continue }
                if count < 0 { return .failure(CommandFailure("\(server): \(String(cString: strerror(errno)))")) }
                if count == 0 { break }
                answer.append(contentsOf: chunk[0..<count])
            }
            return .success(String(decoding: answer, as: UTF8.self))
        }
        return .failure(CommandFailure("\(server): \(failure)"))
    }
}
