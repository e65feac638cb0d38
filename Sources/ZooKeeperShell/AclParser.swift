import ZooKeeperProtocol

/// zkCli's `AclParser`: `scheme:id:perms[,scheme:id:perms...]`. The id is everything between the first and
/// the last colon (so `digest:user:hash:cdrwa` works). Bad entries and unknown permission letters are
/// reported (the warnings zkCli prints on stderr) and skipped.
public enum AclParser {
    public struct Result: Sendable, Hashable {
        public var acl: [ACL]
        /// Lines for stderr, in order.
        public var warnings: [String]
    }

    public static func parse(_ text: String) -> Result {
        var acl: [ACL] = []
        var warnings: [String] = []
        for entry in javaSplit(text, separator: ",") {
            guard let first = entry.firstIndex(of: ":"), let last = entry.lastIndex(of: ":"), first != last else {
                warnings.append("\(entry) does not have the form scheme:id:perm")
                continue
            }
            let scheme = String(entry[..<first])
            let id = String(entry[entry.index(after: first)..<last])
            let (permissions, unknown) = Permissions.parse(entry[entry.index(after: last)...])
            for letter in unknown { warnings.append("Unknown perm type: \(letter)") }
            acl.append(ACL(permissions: permissions, id: Id(scheme: scheme, id: id)))
        }
        return Result(acl: acl, warnings: warnings)
    }

    /// Java's `String.split` with a literal one-character separator: trailing empty pieces are dropped.
    static func javaSplit(_ text: String, separator: Character) -> [String] {
        guard text.contains(separator) else { return [text] }
        var pieces = text.split(separator: separator, omittingEmptySubsequences: false).map(String.init)
        while pieces.last == "" { pieces.removeLast() }
        return pieces
    }
}
