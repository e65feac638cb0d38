import ZooKeeperProtocol

/// A server address from a connect string.
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
    /// A host name or an IP address (IPv6 without brackets).
    public var host: String
    /// The client port.
    public var port: Int

    /// The server at `host` and `port`.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with an IPv6 address in brackets: `[::1]:2181`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// `host:port[,host:port...][/chroot]`, as Apache's `ConnectStringParser` reads it: the port defaults to 2181,
/// IPv6 addresses go in brackets (`[::1]:2181`), and everything from the first `/` is the chroot.
public struct ConnectString: Sendable, Hashable, CustomStringConvertible {
    /// The port of a host given without one (2181).
    public static let defaultPort = 2181

    /// The servers, in the order given.
    public var hosts: [HostAndPort]
    /// The chroot, without a trailing slash; nil when the string has none or just `/`.
    public var chroot: String?

    /// A connect string of `hosts`, under `chroot` (nil for none).
    public init(hosts: [HostAndPort], chroot: String? = nil) {
        self.hosts = hosts
        self.chroot = chroot
    }

    /// Parses `string`; a malformed one fails with `ZooKeeperError.Code.invalidConnectString`, saying why.
    public init(_ string: String) throws(ZooKeeperError) {
        func invalid(_ why: String) -> ZooKeeperError {
            ZooKeeperError(.invalidConnectString, message: "Invalid connect string \"\(string)\": \(why)")
        }
        var hostPart = Substring(string)
        chroot = nil
        if let slash = string.firstIndex(of: "/") {
            hostPart = string[..<slash]
            let root = String(string[slash...])
            if root.count > 1 {
                if let problem = ZooKeeperPath.problem(with: root) {
                    throw invalid("chroot: \(problem)")
                }
                chroot = root
            }
        }
        var hosts: [HostAndPort] = []
        for item in hostPart.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = item.trimmingSpaces()
            if entry.isEmpty { continue }
            var host: Substring
            var portText: Substring?
            if entry.hasPrefix("[") {
                guard let close = entry.firstIndex(of: "]") else { throw invalid("unclosed [ in \(entry)") }
                host = entry[entry.index(after: entry.startIndex)..<close]
                let rest = entry[entry.index(after: close)...]
                if !rest.isEmpty {
                    guard rest.hasPrefix(":") else { throw invalid("unexpected text after ] in \(entry)") }
                    portText = rest.dropFirst()
                }
            } else if let colon = entry.lastIndex(of: ":") {
                host = entry[..<colon]
                portText = entry[entry.index(after: colon)...]
                if host.contains(":") { throw invalid("IPv6 addresses must be written in brackets: \(entry)") }
            } else {
                host = entry
            }
            guard !host.isEmpty else { throw invalid("empty host in \(entry)") }
            var port = ConnectString.defaultPort
            if let portText {
                guard let value = Int(portText), (1...65535).contains(value) else {
                    throw invalid("bad port \"\(portText)\" in \(entry)")
                }
                port = value
            }
            hosts.append(HostAndPort(host: String(host), port: port))
        }
        guard !hosts.isEmpty else { throw invalid("no host") }
        self.hosts = hosts
    }

    /// The connect string as written: `host:port,host:port/chroot`.
    public var description: String {
        hosts.map(\.description).joined(separator: ",") + (chroot ?? "")
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var result = self
        while result.first == " " { result.removeFirst() }
        while result.last == " " { result.removeLast() }
        return result
    }
}
