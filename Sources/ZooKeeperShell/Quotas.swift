import ZooKeeper

/// zkCli's quota text (`StatsTrack`): `count=N,bytes=N` and, when other keys exist, `=` then `;key=value`
/// pairs sorted by key. Unknown keys are kept.
struct QuotaStats: Sendable, Hashable, CustomStringConvertible {
    var values: [String: Int64] = [:]

    init() {}

    /// Parses the text as `StatsTrack(String)` does: pairs split on `,` and `;`, an empty value is -1. Nil when
    /// a value is not a number (Java would throw).
    init?(_ text: String) {
        for pair in text.split(whereSeparator: { $0 == "," || $0 == ";" }) {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
            let key = String(parts[0])
            let raw = parts.count > 1 ? String(parts[1]) : ""
            guard let value = raw.isEmpty ? -1 : Int64(raw) else { return nil }
            values[key] = value
        }
    }

    subscript(key: String) -> Int64 {
        get { values[key] ?? -1 }
        set { values[key] = newValue }
    }

    var count: Int64 {
        get { self["count"] }
        set { self["count"] = newValue }
    }
    var bytes: Int64 {
        get { self["bytes"] }
        set { self["bytes"] = newValue }
    }
    var countHardLimit: Int64 {
        get { self["countHardLimit"] }
        set { self["countHardLimit"] = newValue }
    }
    var byteHardLimit: Int64 {
        get { self["byteHardLimit"] }
        set { self["byteHardLimit"] = newValue }
    }

    var description: String {
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

    var bytesValue: [UInt8] { Array(description.utf8) }
}

/// Where quotas live (`Quotas`).
enum QuotaPaths {
    static let procZookeeper = "/zookeeper"
    static let quotaZookeeper = "/zookeeper/quota"
    static let limitNode = "zookeeper_limits"
    static let statNode = "zookeeper_stats"

    static func quotaPath(_ path: String) -> String { quotaZookeeper + path }
    static func limitPath(_ path: String) -> String { quotaZookeeper + path + "/" + limitNode }
    static func statPath(_ path: String) -> String { quotaZookeeper + path + "/" + statNode }
}
