import NIOHTTP1

/// One HTTP request as a responder sees it: the body, if any, is not kept (the server's HTTP endpoints take
/// their arguments from the path and the query).
struct HTTPRequest: Sendable, Equatable {
    var method: HTTPMethod
    /// The path, percent-decoded (`/commands/stat`).
    var path: String
    /// The query as sent, without the `?` (`a=1&b=x%20y`); empty when there is none.
    var query: String

    /// Splits a request target (`/metrics?name[]=x`) into its path and query.
    init(method: HTTPMethod, target: String) {
        self.method = method
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = Self.percentDecoded(parts.first.map(String.init) ?? "", plusIsSpace: false)
        self.query = parts.count > 1 ? String(parts[1]) : ""
    }

    /// The query's `name=value` pairs in order, percent-decoded, `+` read as a space (as HTML forms send it).
    var queryItems: [(name: String, value: String)] {
        query.split(separator: "&").map { item in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.percentDecoded(String(pair[0]), plusIsSpace: true)
            let value = pair.count > 1 ? Self.percentDecoded(String(pair[1]), plusIsSpace: true) : ""
            return (name, value)
        }
    }

    /// The value of the first item called `name`.
    func queryValue(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// `%41` becomes `A`; a `%` not followed by two hex digits stays as it is.
    static func percentDecoded(_ text: String, plusIsSpace: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"), index + 2 < utf8.count,
                let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.query == rhs.query
    }
}

/// What a responder answers: a status, the body's media type and the body.
struct HTTPResponse: Sendable, Equatable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]

    init(status: HTTPResponseStatus = .ok, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    init(status: HTTPResponseStatus = .ok, contentType: String, body: String) {
        self.init(status: status, contentType: contentType, body: Array(body.utf8))
    }

    /// A plain-text error page (`404 Not Found`).
    static func plainText(_ status: HTTPResponseStatus, _ text: String? = nil) -> HTTPResponse {
        HTTPResponse(
            status: status, contentType: "text/plain; charset=utf-8",
            body: (text ?? "\(status.code) \(status.reasonPhrase)") + "\n")
    }
}

/// Turns a request into a response. Called once per request, in the order a connection sends them.
typealias HTTPResponder = @Sendable (HTTPRequest) async -> HTTPResponse
