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
        // Java indexes UTF-16 code units; so do we, so that `@<index>` matches. For ASCII paths (nearly all)
        // the UTF-8 bytes are those units, and are checked in place without a copy.
        if let result = path.utf8.withContiguousStorageIfAvailable({ bytes -> String?? in
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return .none }
            return .some(problem(units: bytes, path: path))
        }), let answer = result {
            return answer
        }
        return problem(units: Array(path.utf16), path: path)
    }

    private static func problem<Units: RandomAccessCollection>(units: Units, path: String) -> String?
    where Units.Element: FixedWidthInteger, Units.Index == Int {
        if units.isEmpty { return "Path length must be > 0" }
        let base = units.startIndex
        let count = units.count
        func unit(_ offset: Int) -> UInt32 { UInt32(truncatingIfNeeded: units[base + offset]) }
        if unit(0) != 0x2F { return "Path must start with / character" }
        if count == 1 { return nil }
        if unit(count - 1) == 0x2F { return "Path must not end with / character" }
        var reason: String?
        var index = 1
        while index < count {
            let c = unit(index)
            let last = unit(index - 1)
            let nextIsEndOrSlash = index + 1 == count || unit(index + 1) == 0x2F
            if c == 0 {
                reason = "null character not allowed @\(index)"
                break
            } else if c == 0x2F && last == 0x2F {
                reason = "empty node name specified @\(index)"
                break
            } else if c == 0x2E && last == 0x2E {
                if unit(index - 2) == 0x2F && nextIsEndOrSlash {
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

    /// Calls `body` with `path`, then with each of its ancestors, ending with `/`.
    public static func forEachPathUpToRoot(from path: String, _ body: (String) throws -> Void) rethrows {
        var current = path
        while true {
            try body(current)
            if current == "/" { return }
            current = String(parent(of: current))
        }
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
