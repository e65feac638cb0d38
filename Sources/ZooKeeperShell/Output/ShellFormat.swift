import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// zkCli's output formats, byte for byte.
public enum ShellFormat {
    /// `StatPrinter`: eleven `name = value` lines.
    public static func stat(_ stat: Stat) -> String {
        self.stat(stat, utc: false)
    }

    static func stat(_ stat: Stat, utc: Bool) -> String {
        """
        cZxid = 0x\(hex(stat.czxid))
        ctime = \(javaDate(milliseconds: stat.ctime, utc: utc))
        mZxid = 0x\(hex(stat.mzxid))
        mtime = \(javaDate(milliseconds: stat.mtime, utc: utc))
        pZxid = 0x\(hex(stat.pzxid))
        cversion = \(stat.cversion)
        dataVersion = \(stat.version)
        aclVersion = \(stat.aversion)
        ephemeralOwner = 0x\(hex(stat.ephemeralOwner))
        dataLength = \(stat.dataLength)
        numChildren = \(stat.numChildren)

        """
    }

    /// Java's `Long.toHexString`: lowercase, unpadded, two's complement for negative numbers.
    public static func hex(_ value: Int64) -> String {
        String(UInt64(bitPattern: value), radix: 16)
    }

    /// Java's `Date.toString()` (`EEE MMM dd HH:mm:ss zzz yyyy`) in the local time zone, English names.
    public static func javaDate(milliseconds: Int64) -> String {
        javaDate(milliseconds: milliseconds, utc: false)
    }

    /// `javaDate` in the local zone, or in UTC (for tests: changing TZ in a threaded process is unsafe).
    static func javaDate(milliseconds: Int64, utc: Bool) -> String {
        // Java floors toward negative infinity for dates before 1970.
        var seconds = time_t(milliseconds / 1000)
        if milliseconds % 1000 < 0 { seconds -= 1 }
        var parts = tm()
        let converted = utc ? gmtime_r(&seconds, &parts) : localtime_r(&seconds, &parts)
        guard converted != nil else { return String(milliseconds) }
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let zone = utc ? "UTC" : parts.tm_zone.map { String(cString: $0) } ?? "UTC"
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]) \(months[Int(parts.tm_mon)]) \(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) \(zone) \(parts.tm_year + 1900)"
    }

    /// Java's `List.toString()` of the sorted children: `[a, b]`.
    public static func list(_ items: [String]) -> String {
        "[" + items.joined(separator: ", ") + "]"
    }

    /// Sorted as Java's `String.compareTo` does (UTF-16 code units).
    public static func javaSorted(_ items: [String]) -> [String] {
        // UTF-8 bytes sort in code point order, and so do UTF-16 code units up to U+FFFF (past it, surrogates sort
        // below U+E000): without a four-byte character (lead byte 0xF0 and up), the bytes give Java's order, at a
        // fraction of the cost of transcoding every comparison (a walk sorts every znode's children).
        if items.allSatisfy({ $0.utf8.allSatisfy { $0 < 0xF0 } }) {
            return items.sorted(by: utf8Precedes)
        }
        return items.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
    }

    /// Whether the UTF-8 bytes of `a` sort before those of `b` (memcmp over the shorter, then the shorter first).
    static func utf8Precedes(_ a: String, _ b: String) -> Bool {
        let compared = a.utf8.withContiguousStorageIfAvailable { first in
            b.utf8.withContiguousStorageIfAvailable { second in
                let common = min(first.count, second.count)
                let order = common == 0 ? 0 : memcmp(first.baseAddress!, second.baseAddress!, common)
                return order == 0 ? first.count < second.count : order < 0
            }
        }
        return (compared ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// A znode value as text (`new String(data, UTF_8)`); a null value prints `null`.
    public static func text(_ data: [UInt8]?) -> String {
        guard let data else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// One ACL entry as `getAcl` prints it: the jute rendering of the Id, then `: ` and the permissions.
    public static func acl(_ acl: ACL) -> String {
        "'\(juteEscaped(acl.id.scheme)),'\(juteEscaped(acl.id.id))\n: \(acl.permissions)"
    }

    /// Jute's CSV string escaping, used by `Id.toString()`.
    static func juteEscaped(_ text: String) -> String {
        var result = ""
        for character in text.unicodeScalars {
            switch character {
            case "\0": result += "%00"
            case "\n": result += "%0A"
            case "\r": result += "%0D"
            case ",": result += "%2C"
            case "}": result += "%7D"
            case "%": result += "%25"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    /// Netty's `ByteBufUtil.prettyHexDump`, which `get -x` prints (no trailing newline; empty for no bytes).
    public static func hexDump(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "" }
        let digits = Array("0123456789abcdef")
        var dump =
            "         +-------------------------------------------------+\n"
            + "         |  0  1  2  3  4  5  6  7  8  9  a  b  c  d  e  f |\n"
            + "+--------+-------------------------------------------------+----------------+"
        var offset = 0
        while offset < bytes.count {
            let row = bytes[offset..<min(offset + 16, bytes.count)]
            var address = String(UInt32(truncatingIfNeeded: offset), radix: 16)
            address = String(repeating: "0", count: 8 - address.count) + address
            dump += "\n|\(address)|"
            for byte in row {
                dump.append(" ")
                dump.append(digits[Int(byte >> 4)])
                dump.append(digits[Int(byte & 0xF)])
            }
            dump += String(repeating: "   ", count: 16 - row.count)
            dump += " |"
            for byte in row {
                dump.append(byte <= 0x1F || byte >= 0x7F ? "." : Character(Unicode.Scalar(byte)))
            }
            dump += String(repeating: " ", count: 16 - row.count)
            dump += "|"
            offset += 16
        }
        dump += "\n+--------+-------------------------------------------------+----------------+"
        return dump
    }
}
