import Foundation

/// An HTTP response as a monitoring tool sees it: the status, the headers (names in lower case) and the body.
public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: String
}

extension TestEnvironment {
    /// `GET path` over HTTP/1.1 (`Connection: close`) to `host:port`; nil when nothing or no HTTP came back.
    public static func httpGet(
        _ path: String, port: Int, host: String = "127.0.0.1", method: String = "GET", timeout: Double = 5
    ) -> HTTPReply? {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        let request = "\(method) \(path) HTTP/1.1\r\nHost: \(authority)\r\nConnection: close\r\n\r\n"
        guard let text = fourLetterWord(request, port: port, host: host, timeout: timeout) else { return nil }
        return HTTPReply(parsing: text)
    }
}

extension HTTPReply {
    /// A whole response read to the connection's close (a Content-Length body, or chunks).
    init?(parsing text: String) {
        guard let headerEnd = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<headerEnd.lowerBound].components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            return nil
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var body = String(text[headerEnd.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded = ""
            var rest = Substring(body)
            while let lineEnd = rest.range(of: "\r\n"), let size = Int(rest[..<lineEnd.lowerBound], radix: 16),
                size > 0
            {
                let start = lineEnd.upperBound
                let utf8 = rest.utf8
                guard let end = utf8.index(start, offsetBy: size, limitedBy: utf8.endIndex) else { break }
                decoded += String(rest[start..<end])
                rest = rest[end...].dropFirst(2)
            }
            body = decoded
        }
        self.init(status: status, headers: headers, body: body)
    }
}
