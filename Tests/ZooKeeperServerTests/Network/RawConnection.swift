import Foundation
import NIOCore
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking loopback socket for feeding a server raw bytes; every read has a timeout.
final class RawConnection {
    private let fd: Int32

    init?(port: Int, timeout: Double = 3) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int(timeout.truncatingRemainder(dividingBy: 1) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Sends bytes; false if the server already closed.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    func send(_ buffer: ByteBuffer) -> Bool { send(Array(buffer.readableBytesView)) }

    /// Reads exactly `count` bytes; nil on close or timeout.
    func read(_ count: Int) -> [UInt8]? {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: max(1, count))
        while result.count < count {
            let n = Glibc.read(fd, &chunk, count - result.count)
            if n <= 0 { return nil }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Everything until the server closes (or the read timeout).
    func readToEnd() -> String {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// One frame's body; nil on close or timeout.
    func readFrame() -> ByteBuffer? {
        guard let prefix = read(4) else { return nil }
        let length = Int(Int32(bigEndian: prefix.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        guard length >= 0, let body = read(length) else { return nil }
        return ByteBuffer(bytes: body)
    }

    /// Whether the server closes the connection (reads reach end of file) within the read timeout, discarding
    /// anything it sends first.
    func isClosedByServer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n == 0 { return true }
            if n < 0 { return false }
        }
    }

    /// Whether the server has closed the connection (end of file or reset), without waiting.
    func isClosed() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }

    /// Appends the framed ConnectRequest of a new session (10 s timeout unless told) to `buffer`.
    static func writeNewSessionRequest(into buffer: inout ByteBuffer, timeout: Int32 = 10_000) {
        buffer.writeZooKeeperFrame {
            ConnectRequest(
                lastZxidSeen: 0, timeout: timeout, sessionID: 0, password: [UInt8](repeating: 0, count: 16),
                readOnly: false
            )
            .encode(into: &$0)
        }
    }

    /// Sends a ConnectRequest for a new session and reads the response.
    func handshake(timeout: Int32 = 10_000) -> ConnectResponse? {
        var buffer = ByteBuffer()
        Self.writeNewSessionRequest(into: &buffer, timeout: timeout)
        guard send(buffer), var frame = readFrame() else { return nil }
        return try? ConnectResponse(from: &frame)
    }

    /// Sends a request and reads the next frame's reply header.
    func call(_ request: ZooKeeperRequest, xid: Int32) -> (ReplyHeader, ByteBuffer)? {
        var buffer = ByteBuffer()
        request.encodeFrame(xid: xid, into: &buffer)
        guard send(buffer), var frame = readFrame(), let header = try? ReplyHeader(from: &frame) else { return nil }
        return (header, frame)
    }
}
