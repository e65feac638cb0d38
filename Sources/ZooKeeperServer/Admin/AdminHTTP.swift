import NIOCore
import NIOHTTP1
import ZooKeeperProtocol

/// The AdminServer's HTTP side, as Apache 3.8's Jetty servlet answers: `GET <commandURL>` lists the commands as
/// links, `GET <commandURL>/<name>` answers a command (a primary or a short name) with its JSON, and a name that
/// is no command gets Apache's error JSON with status 200. Anything else is 404; a method other than GET (or
/// HEAD) on the command URL is 405, as Jetty answers it.
enum AdminHTTP {
    /// What a request asks for.
    enum Route: Equatable {
        case list
        case command(String)
        case notFound
        case methodNotAllowed
    }

    static func route(_ request: HTTPRequest, commandURL: String) -> Route {
        let base = commandURL.hasSuffix("/") ? String(commandURL.dropLast()) : commandURL
        let target: Route
        if request.path == base || request.path == base + "/" {
            target = .list
        } else if request.path.hasPrefix(base + "/") {
            target = .command(String(request.path.dropFirst(base.count + 1)))
        } else {
            return .notFound
        }
        return request.method == .GET || request.method == .HEAD ? target : .methodNotAllowed
    }

    /// Apache's list: one link per command, by its primary name.
    static func commandList(commandURL: String) -> String {
        let base = commandURL.hasSuffix("/") ? String(commandURL.dropLast()) : commandURL
        return AdminCommand.allCases.map(\.rawValue).sorted().map { "<a href=\"\(base)/\($0)\">\($0)</a>\n<br/>\n" }
            .joined()
    }

    /// The response to `request`; `answer` runs a command (on the server's loop) and returns its JSON.
    static func respond(
        to request: HTTPRequest, commandURL: String, answer: (String) async -> JSONValue?
    ) async -> HTTPResponse {
        switch route(request, commandURL: commandURL) {
        case .list:
            return HTTPResponse(contentType: "text/html; charset=utf-8", body: commandList(commandURL: commandURL))
        case .command(let name):
            guard let json = await answer(name) else { return .plainText(.serviceUnavailable) }
            return HTTPResponse(contentType: "application/json", body: json.prettyText)
        case .notFound:
            return .plainText(.notFound)
        case .methodNotAllowed:
            return .plainText(.methodNotAllowed)
        }
    }
}

/// The AdminServer could not start (its port is taken, say): zkserver does not start either, as Apache does not.
public struct AdminServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
