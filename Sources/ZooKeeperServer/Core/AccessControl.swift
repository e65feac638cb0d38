import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// ACL evaluation, ACL fix-up on create/setACL, and the `digest`, `ip` and `x509` authentication schemes, as
/// Apache's `ZooKeeperServer.checkACL`, `PrepRequestProcessor.fixupACL` and the auth providers do them.
enum AccessControl {
    /// The scheme of the id that bypasses every check.
    static let superScheme = "super"
    /// The scheme of a verified TLS client certificate; its id is the certificate's subject.
    static let x509Scheme = "x509"

    /// Whether a connection with `ids` may do `permission` on a node whose ACL is `acl`.
    static func isAllowed(
        _ permission: Permissions, acl: [ACL], ids: [Id], skipACL: Bool = false
    ) -> Bool {
        if skipACL || acl.isEmpty { return true }
        for id in ids where id.scheme == superScheme { return true }
        for entry in acl where entry.permissions.contains(permission) {
            if entry.id.scheme == "world" && entry.id.id == "anyone" { return true }
            for id in ids where id.scheme == entry.id.scheme {
                switch id.scheme {
                case "ip":
                    if ipMatches(address: id.id, pattern: entry.id.id) { return true }
                case saslScheme:
                    // Apache's SASLAuthenticationProvider.matches: the sasl identity `super` matches every sasl id.
                    if id.id == entry.id.id || id.id == "super" { return true }
                default:
                    if id.id == entry.id.id { return true }
                }
            }
        }
        return false
    }

    /// Apache's fix-up: removes duplicates, expands `auth` into the connection's authenticated ids, and rejects
    /// unknown schemes and malformed ids. Returns nil for an invalid ACL (InvalidACL).
    ///
    /// `sasl` ids are valid only when `saslEnabled` (`authProvider.N=…SASLAuthenticationProvider`).
    static func fixUp(_ acl: [ACL], ids: [Id], saslEnabled: Bool = false) -> [ACL]? {
        if acl.isEmpty { return nil }
        var result: [ACL] = []
        func add(_ entry: ACL) {
            if !result.contains(entry) { result.append(entry) }
        }
        for entry in acl {
            switch entry.id.scheme {
            case "world":
                guard entry.id.id == "anyone" else { return nil }
                add(entry)
            case "auth":
                // Only schemes whose ids prove who the user is qualify: digest, x509 and sasl do, ip does not.
                var expanded = false
                for id in ids
                where id.scheme == "digest" || id.scheme == x509Scheme || (id.scheme == saslScheme && saslEnabled) {
                    add(ACL(permissions: entry.permissions, id: id))
                    expanded = true
                }
                guard expanded else { return nil }
            case "digest":
                guard isValidDigestId(entry.id.id) else { return nil }
                add(entry)
            case "ip":
                guard parseIPPattern(entry.id.id) != nil else { return nil }
                add(entry)
            case saslScheme:
                guard saslEnabled, isValidSASLId(entry.id.id) else { return nil }
                add(entry)
            case x509Scheme:
                // Any subject is a valid id, as in Apache's X509AuthenticationProvider.
                add(entry)
            default:
                return nil
            }
        }
        return result
    }

    /// What getACL shows a caller without ADMIN on the node: digest hashes are hidden as `user:x`.
    static func redactingDigests(_ acl: [ACL]) -> [ACL] {
        acl.map { entry in
            guard entry.id.scheme == "digest" else { return entry }
            let user = entry.id.id.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return ACL(permissions: entry.permissions, id: Id(scheme: "digest", id: "\(user):x"))
        }
    }

    // MARK: Apache's order

    // MARK: digest

    /// `user:base64(sha1("user:password"))` for credentials `user:password`, as `DigestAuthenticationProvider`
    /// computes it. Credentials without a colon yield `credentials:base64(...)`, as in Apache.
    static func digest(credentials: [UInt8]) -> String {
        let text = String(decoding: credentials, as: UTF8.self)
        let user = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return "\(user):\(Base64.encode(SHA1.hash(credentials)))"
    }

    // MARK: sasl

    /// The scheme of an identity proved by a SASL login.
    static let saslScheme = "sasl"

    /// Apache's `SASLAuthenticationProvider.isValid`: what its `KerberosName` accepts, a name without `@`, or
    /// `name[/host]@realm` with none of the parts holding `/` or `@`.
    static func isValidSASLId(_ id: String) -> Bool {
        guard let at = id.firstIndex(of: "@") else { return true }
        let principal = id[..<at]
        let realm = id[id.index(after: at)...]
        guard !realm.contains("@"), !realm.contains("/") else { return false }
        return principal.split(separator: "/", omittingEmptySubsequences: false).count <= 2
    }

    /// A digest id has exactly one colon (`user:hash`).
    static func isValidDigestId(_ id: String) -> Bool {
        id.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: ":") ? 1 : 0) } == 1
    }

    // MARK: ip

    /// An address with an optional prefix length, e.g. `10.0.0.0/8` or `::1`.
    struct IPPattern: Equatable {
        var address: [UInt8]
        var prefixBits: Int
    }

    /// Parses `address[/bits]` (IPv4 or IPv6). Nil when malformed.
    static func parseIPPattern(_ text: String) -> IPPattern? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = parseIPAddress(String(parts[0])) else { return nil }
        var bits = address.count * 8
        if parts.count == 2 {
            guard let value = Int(parts[1]), value >= 0, value <= address.count * 8 else { return nil }
            bits = value
        }
        return IPPattern(address: address, prefixBits: bits)
    }

    /// The bytes of an IPv4 (4) or IPv6 (16) address in text form.
    static func parseIPAddress(_ text: String) -> [UInt8]? {
        if text.isEmpty { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    /// Whether the connection's `address` falls within `pattern` (`addr` or `addr/bits`).
    static func ipMatches(address: String, pattern: String) -> Bool {
        guard let pattern = parseIPPattern(pattern), let candidate = parseIPAddress(address),
            candidate.count == pattern.address.count
        else { return false }
        var remaining = pattern.prefixBits
        for index in 0..<candidate.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if candidate[index] & mask != pattern.address[index] & mask { return false }
            remaining -= bits
        }
        return true
    }
}

/// Shares identical ACL lists between nodes, as Apache's `ReferenceCountedACLCache` does: a node stores a small
/// index, and the lists are kept once with a reference count.
struct ACLCache {
    private var lists: [[ACL]] = []
    private var referenceCounts: [Int] = []
    private var indexByList: [[ACL]: Int32] = [:]
    private var freeIndices: [Int32] = []
    /// The list retained last: most nodes share one ACL, and comparing with it is cheaper than hashing.
    private var lastRetained: Int32?

    /// The index for `acl`, adding a reference.
    mutating func retain(_ acl: [ACL]) -> Int32 {
        if let last = lastRetained, referenceCounts[Int(last)] > 0, lists[Int(last)] == acl {
            referenceCounts[Int(last)] += 1
            return last
        }
        if let index = indexByList[acl] {
            referenceCounts[Int(index)] += 1
            lastRetained = index
            return index
        }
        let index: Int32
        if let reused = freeIndices.popLast() {
            index = reused
            lists[Int(index)] = acl
            referenceCounts[Int(index)] = 1
        } else {
            index = Int32(lists.count)
            lists.append(acl)
            referenceCounts.append(1)
        }
        indexByList[acl] = index
        lastRetained = index
        return index
    }

    /// Adds a reference to a list already held (restoring a snapshot, where nodes name lists by index).
    mutating func retain(existing index: Int32) {
        referenceCounts[Int(index)] += 1
    }

    /// Drops a reference; the list is forgotten when no node uses it.
    mutating func release(_ index: Int32) {
        let slot = Int(index)
        referenceCounts[slot] -= 1
        if referenceCounts[slot] == 0 {
            indexByList[lists[slot]] = nil
            lists[slot] = []
            freeIndices.append(index)
        }
    }

    func acl(at index: Int32) -> [ACL] { lists[Int(index)] }

    /// Distinct lists in use.
    var count: Int { indexByList.count }
}
