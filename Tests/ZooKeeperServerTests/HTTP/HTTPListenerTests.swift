import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import Testing

@testable import ZooKeeperServer

/// The HTTP listener over real loopback sockets: what a responder sees, what a client gets back, and which
/// connections close when.
struct HTTPListenerTests {
    /// A listener on a free port that answers with the request it saw, and records every request.
    private func startEchoListener(idleTimeout: TimeAmount = .seconds(30)) async throws -> (
        HTTPListener, NIOLockedValueBox<[HTTPRequest]>
    ) {
        let seen = NIOLockedValueBox<[HTTPRequest]>([])
        let listener = try await HTTPListener.start(host: "127.0.0.1", port: 0, idleTimeout: idleTimeout) { request in
            seen.withLockedValue { $0.append(request) }
            if request.path == "/missing" { return .plainText(.notFound) }
            return HTTPResponse(
                contentType: "text/plain; version=0.0.4",
                body: "\(request.method.rawValue) \(request.path) \(request.queryValue("name") ?? "-")\n")
        }
        return (listener, seen)
    }

    @Test func portZeroBindsAFreePortAndReportsIt() async throws {
        let (listener, _) = try await startEchoListener()
        #expect(listener.port > 0)
        #expect(listener.host == "127.0.0.1")
        await listener.shutdown()
    }

    @Test func aRequestReachesTheResponderAndItsResponseTheClient() async throws {
        let (listener, seen) = try await startEchoListener()
        let response = await onOwnThread { () -> RawHTTPResponse? in
            let connection = RawConnection(port: listener.port)
            connection?.send(Array("GET /commands/stat?name=a%20b&x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
            return connection?.readHTTPResponse()
        }
        #expect(response?.statusLine == "HTTP/1.1 200 OK")
        #expect(response?.headers["content-type"] == "text/plain; version=0.0.4")
        #expect(response?.body == "GET /commands/stat a b\n")
        #expect(seen.withLockedValue { $0 } == [HTTPRequest(method: .GET, target: "/commands/stat?name=a%20b&x=1")])
        #expect(seen.withLockedValue { $0.first?.query } == "name=a%20b&x=1")
        await listener.shutdown()
    }

    @Test func aKeptAliveConnectionCarriesSeveralRequestsInOrder() async throws {
        let (listener, _) = try await startEchoListener()
        let responses = await onOwnThread { () -> [RawHTTPResponse?] in
            guard let connection = RawConnection(port: listener.port) else { return [] }
            // Pipelined: both requests in one write; the answers come back in order.
            connection.send(Array("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let first = connection.readHTTPResponse()
            let second = connection.readHTTPResponse()
            connection.send(Array("POST /three HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".utf8))
            return [first, second, connection.readHTTPResponse()]
        }
        #expect(responses.map { $0?.body } == ["GET /one -\n", "404 Not Found\n", "POST /three -\n"])
        #expect(responses.map { $0?.statusLine } == ["HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"])
        await listener.shutdown()
    }

    @Test func connectionCloseIsHonouredAfterTheResponse() async throws {
        let (listener, _) = try await startEchoListener()
        let text = await onOwnThread { () -> String in
            let connection = RawConnection(port: listener.port, timeout: 20)
            connection?.send(Array("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            return connection?.readToEnd() ?? "no connection"  // returns when the server closes
        }
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("\r\nConnection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\nGET /a -\n"))
        await listener.shutdown()
    }

    @Test func aBadRequestGets400AndClosesThatConnectionOnly() async throws {
        let (listener, seen) = try await startEchoListener()
        let (before, refused, after) = await onOwnThread { () -> (String?, String, String?) in
            guard let good = RawConnection(port: listener.port),
                let bad = RawConnection(port: listener.port, timeout: 20)
            else { return (nil, "", nil) }
            good.send(Array("GET /before HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let before = good.readHTTPResponse()?.body
            bad.send(Array("\u{1}\u{2} this is not http\r\n\r\n".utf8))
            let refused = bad.readToEnd()
            good.send(Array("GET /after HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            return (before, refused, good.readHTTPResponse()?.body)
        }
        #expect(before == "GET /before -\n")
        #expect(refused.hasPrefix("HTTP/1.1 400 Bad Request"))
        #expect(after == "GET /after -\n")
        #expect(seen.withLockedValue { $0.map(\.path) } == ["/before", "/after"])
        await listener.shutdown()
    }

    @Test func anIdleConnectionIsClosed() async throws {
        let (listener, _) = try await startEchoListener(idleTimeout: .milliseconds(200))
        let (answer, rest) = await onOwnThread { () -> (String?, String) in
            let connection = RawConnection(port: listener.port, timeout: 20)
            connection?.send(Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let answer = connection?.readHTTPResponse()?.body
            // Nothing more is sent: the server closes (the read ends on the close, not its 20 s timeout).
            return (answer, connection?.readToEnd() ?? "no connection")
        }
        #expect(answer == "GET /a -\n")
        #expect(rest == "")
        await listener.shutdown()
    }

    @Test func shutdownClosesOpenConnectionsAndStopsListening() async throws {
        let (listener, _) = try await startEchoListener()
        let connection = await onOwnThread { () -> UncheckedConnection? in
            let connection = RawConnection(port: listener.port, timeout: 20)
            connection?.send(Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            guard connection?.readHTTPResponse() != nil else { return nil }
            return connection.map(UncheckedConnection.init)
        }
        #expect(connection != nil)
        await listener.shutdown()
        let rest = await onOwnThread { connection?.value.readToEnd() }
        #expect(rest == "")
        #expect(await onOwnThread { RawConnection(port: listener.port) == nil })
    }

    @Test func theQueryIsSplitAndDecoded() {
        let request = HTTPRequest(method: .GET, target: "/a%2Fb?x=1&name=c+d%21&flag&x=2")
        #expect(request.path == "/a/b")
        #expect(request.queryItems.map(\.name) == ["x", "name", "flag", "x"])
        #expect(request.queryItems.map(\.value) == ["1", "c d!", "", "2"])
        #expect(request.queryValue("x") == "1")
        #expect(HTTPRequest(method: .GET, target: "/metrics").query == "")
        #expect(HTTPRequest.percentDecoded("100%", plusIsSpace: false) == "100%")
    }
}

/// Runs blocking socket calls on a thread of their own: blocking a thread of the concurrency pool would starve
/// the responders, which run on that pool.
func onOwnThread<Result: Sendable>(_ body: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// A connection handed from one blocking step to the next; only one thread uses it at a time.
struct UncheckedConnection: @unchecked Sendable {
    let value: RawConnection
}

/// One HTTP response as read off a socket.
struct RawHTTPResponse: Sendable {
    var statusLine: String
    /// Header names lower-cased.
    var headers: [String: String]
    var body: String
}

extension RawConnection {
    /// Reads one response with a Content-Length body; nil on close or timeout.
    func readHTTPResponse() -> RawHTTPResponse? {
        var head: [UInt8] = []
        while !head.ends(with: Array("\r\n\r\n".utf8)) {
            guard let byte = read(1) else { return nil }
            head += byte
        }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard let statusLine = lines.first else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        guard let body = length == 0 ? [] : read(length) else { return nil }
        return RawHTTPResponse(statusLine: statusLine, headers: headers, body: String(decoding: body, as: UTF8.self))
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
