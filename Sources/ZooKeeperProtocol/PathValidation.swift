/// ZooKeeper's path rules (`PathUtils.validatePath`), with Apache's messages.
public enum ZooKeeperPath {
    /// Checks `path` as Apache's client does before sending it. For a sequential create the server appends a
    /// counter, so the path is checked with a `1` appended (which lets `/a/` through).
    public static func validate(_ path: String, isSequential: Bool = false) throws(ZooKeeperError) {
        if let reason = problem(with: isSequential ? path + "1" : path) {
            throw ZooKeeperError(.invalidPath, path: path, message: reason)
        }
    }

    /// Apache's message for an invalid path, or nil when the path is valid.
    public static func problem(with path: String) -> String? {
        // Java indexes UTF-16 code units; so do we, so that `@<index>` matches.
        let units = Array(path.utf16)
        if units.isEmpty { return "Path length must be > 0" }
        if units[0] != 0x2F { return "Path must start with / character" }
        if units.count == 1 { return nil }
        if units[units.count - 1] == 0x2F { return "Path must not end with / character" }
        var reason: String?
        var index = 1
        while index < units.count {
            let c = units[index]
            let last = units[index - 1]
            let nextIsEndOrSlash = index + 1 == units.count || units[index + 1] == 0x2F
            if c == 0 {
                reason = "null character not allowed @\(index)"
                break
            } else if c == 0x2F && last == 0x2F {
                reason = "empty node name specified @\(index)"
                break
            } else if c == 0x2E && last == 0x2E {
                if units[index - 2] == 0x2F && nextIsEndOrSlash {
                    reason = "relative paths not allowed @\(index)"
                    break
                }
            } else if c == 0x2E {
                if last == 0x2F && nextIsEndOrSlash {
                    reason = "relative paths not allowed @\(index)"
                    break
                }
            } else if (c > 0x00 && c <= 0x1F) || (c >= 0x7F && c <= 0x9F) || (c >= 0xD800 && c <= 0xF8FF)
                || c >= 0xFFF0
            {
                reason = "invalid character @\(index)"
                break
            }
            index += 1
        }
        guard let reason else { return nil }
        return "Invalid path string \"\(path)\" caused by \(reason)"
    }

    /// The parent of an absolute path (`/` for a top-level node and for `/` itself).
    public static func parent(of path: String) -> Substring {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex else {
            return "/"
        }
        return path[path.startIndex..<slash]
    }

    /// The last component of an absolute path (empty for `/`).
    public static func name(of path: String) -> Substring {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return Substring(path) }
        return path[path.utf8.index(after: slash)...]
    }

    /// `parent` joined with `child`.
    public static func join(_ parent: some StringProtocol, _ child: some StringProtocol) -> String {
        parent == "/" ? "/" + child : parent + "/" + child
    }
}
