/// The text of a quota node (Apache's `StatsTrack`), shared by the shell, which writes limits, and the server,
/// which keeps the statistics: `count=N,bytes=N` and, when other keys exist, `=` then `;key=value` pairs sorted
/// by key. Unknown keys are kept.
public struct QuotaStats: Sendable, Hashable, CustomStringConvertible {
    public var values: [String: Int64] = [:]

    public init() {}

    /// Parses the text as `StatsTrack(String)` does: pairs split on runs of `,` and `;`, each `key=value` split on
    /// `=` with trailing empty parts dropped, an empty value (`key==…`) read as -1. Nil wherever Java throws: a
    /// pair without a value, a leading separator, a value that is not a number.
    public init?(_ text: String) {
        if text.isEmpty { return }
        if text.first == "," || text.first == ";" { return nil }
        for pair in text.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            var parts = pair.split(separator: "=", omittingEmptySubsequences: false)
            while parts.last?.isEmpty == true { parts.removeLast() }
            guard parts.count >= 2 else { return nil }
            guard let value = parts[1].isEmpty ? -1 : Int64(parts[1]) else { return nil }
            values[String(parts[0])] = value
        }
    }

    /// Parses a node's data as Java decodes it (invalid UTF-8 becomes U+FFFD, so it fails as a number); nil for
    /// no data.
    public init?(data: [UInt8]?) {
        guard let data else { return nil }
        self.init(String(decoding: data, as: UTF8.self))
    }

    /// A missing key reads as -1, as in Java.
    public subscript(key: String) -> Int64 {
        get { values[key] ?? -1 }
        set { values[key] = newValue }
    }

    public var count: Int64 {
        get { self["count"] }
        set { self["count"] = newValue }
    }
    public var bytes: Int64 {
        get { self["bytes"] }
        set { self["bytes"] = newValue }
    }
    public var countHardLimit: Int64 {
        get { self["countHardLimit"] }
        set { self["countHardLimit"] = newValue }
    }
    public var byteHardLimit: Int64 {
        get { self["byteHardLimit"] }
        set { self["byteHardLimit"] = newValue }
    }

    public var description: String {
        var text = "count=\(count),bytes=\(bytes)"
        let others = values.keys.filter { $0 != "count" && $0 != "bytes" }.sorted {
            $0.utf16.lexicographicallyPrecedes($1.utf16)
        }
        if !others.isEmpty {
            // The extra `=` makes pre-3.7 readers ignore the new keys.
            text += "="
            for key in others { text += ";\(key)=\(values[key]!)" }
        }
        return text
    }

    public var bytesValue: [UInt8] { Array(description.utf8) }
}

/// Where quotas live (Apache's `Quotas`): under `/zookeeper/quota<path>`, a limits node and a statistics node.
public enum QuotaPaths {
    public static let procZookeeper = "/zookeeper"
    public static let quotaZookeeper = "/zookeeper/quota"
    public static let limitNode = "zookeeper_limits"
    public static let statNode = "zookeeper_stats"

    public static func quotaPath(_ path: String) -> String { quotaZookeeper + path }
    public static func limitPath(_ path: String) -> String { quotaZookeeper + path + "/" + limitNode }
    public static func statPath(_ path: String) -> String { quotaZookeeper + path + "/" + statNode }
}
