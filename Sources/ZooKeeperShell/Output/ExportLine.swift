import ZooKeeper
import ZooKeeperProtocol

/// One znode's line of an export file (format version 1, in zkcli(1)): path, data in base64, ACL, mode, and the
/// stat as `-o json` prints it. Written straight as UTF-8 bytes: an export writes hundreds of thousands of lines,
/// and building each as a `JSONValue` tree, then as a String, cost zkcli more CPU than reading the znode did, CPU
/// that a server on the same machine answers with.
enum ExportLine {
    /// Appends the line of `node` to `bytes`, without its newline.
    static func append(_ node: PipelinedWalk.Node, to bytes: inout [UInt8]) {
        bytes += #"{"path":"#.utf8
        JSONString.write(node.path, to: &bytes)
        bytes += #","data":"#.utf8
        if let data = node.data {
            bytes.append(UInt8(ascii: "\""))
            Base64.encode(data, into: &bytes)
            bytes.append(UInt8(ascii: "\""))
        } else {
            bytes += "null".utf8
        }
        bytes += #","acl":["#.utf8
        for (index, entry) in (node.acl ?? []).enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes += #"{"scheme":"#.utf8
            JSONString.write(entry.id.scheme, to: &bytes)
            bytes += #","id":"#.utf8
            JSONString.write(entry.id.id, to: &bytes)
            bytes += #","perms":""#.utf8
            appendLetters(entry.permissions, to: &bytes)
            bytes += #""}"#.utf8
        }
        bytes += #"],"mode":"#.utf8
        bytes += (node.stat.ephemeralOwner == 0 ? #""persistent""# : #""ephemeral""#).utf8
        bytes += #","stat":"#.utf8
        appendStat(node.stat, to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// `CommandResult.json(stat)`'s text.
    static func appendStat(_ stat: Stat, to bytes: inout [UInt8]) {
        bytes += #"{"cZxid":"#.utf8
        appendDecimal(stat.czxid, to: &bytes)
        bytes += #","ctime":""#.utf8
        appendISO8601(milliseconds: stat.ctime, to: &bytes)
        bytes += #"","ctimeMs":"#.utf8
        appendDecimal(stat.ctime, to: &bytes)
        bytes += #","mZxid":"#.utf8
        appendDecimal(stat.mzxid, to: &bytes)
        bytes += #","mtime":""#.utf8
        appendISO8601(milliseconds: stat.mtime, to: &bytes)
        bytes += #"","mtimeMs":"#.utf8
        appendDecimal(stat.mtime, to: &bytes)
        bytes += #","pZxid":"#.utf8
        appendDecimal(stat.pzxid, to: &bytes)
        bytes += #","cversion":"#.utf8
        appendDecimal(Int64(stat.cversion), to: &bytes)
        bytes += #","dataVersion":"#.utf8
        appendDecimal(Int64(stat.version), to: &bytes)
        bytes += #","aclVersion":"#.utf8
        appendDecimal(Int64(stat.aversion), to: &bytes)
        bytes += #","ephemeralOwner":"#.utf8
        appendDecimal(stat.ephemeralOwner, to: &bytes)
        bytes += #","ephemeralOwnerHex":"0x"#.utf8
        appendHex(UInt64(bitPattern: stat.ephemeralOwner), to: &bytes)
        bytes += #"","dataLength":"#.utf8
        appendDecimal(Int64(stat.dataLength), to: &bytes)
        bytes += #","numChildren":"#.utf8
        appendDecimal(Int64(stat.numChildren), to: &bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// `Permissions.description`: zkCli's letters in the order `cdrwa`.
    private static func appendLetters(_ permissions: Permissions, to bytes: inout [UInt8]) {
        if permissions.contains(.create) { bytes.append(UInt8(ascii: "c")) }
        if permissions.contains(.delete) { bytes.append(UInt8(ascii: "d")) }
        if permissions.contains(.read) { bytes.append(UInt8(ascii: "r")) }
        if permissions.contains(.write) { bytes.append(UInt8(ascii: "w")) }
        if permissions.contains(.admin) { bytes.append(UInt8(ascii: "a")) }
    }

    /// `String(value)`.
    static func appendDecimal(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, radix: 10, to: &bytes)
    }

    /// `String(value, radix: 16)`: lowercase, unpadded.
    static func appendHex(_ value: UInt64, to bytes: inout [UInt8]) {
        appendDigits(value, radix: 16, to: &bytes)
    }

    /// The digits of `value`, made from the last in a small buffer, then appended at once.
    private static func appendDigits(_ value: UInt64, radix: UInt64, to bytes: inout [UInt8]) {
        // 20 digits hold the largest UInt64 in decimal (16 in hex).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = digits.count
            var rest = value
            repeat {
                start -= 1
                let digit = UInt8(truncatingIfNeeded: rest % radix)
                digits[start] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                rest /= radix
            } while rest > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// The last millisecond of the year 9999: beyond it (and before 1970), `CommandResult.iso8601` writes the time.
    private static let latestPlainTime: Int64 = 253_402_300_799_999

    /// `CommandResult.iso8601(milliseconds:)`: `2026-11-30T15:40:00.123Z`. The civil date comes from the day
    /// count by the proleptic Gregorian calendar (as gmtime computes it), without a libc call or a String.
    static func appendISO8601(milliseconds: Int64, to bytes: inout [UInt8]) {
        guard milliseconds >= 0 && milliseconds <= latestPlainTime else {
            bytes += CommandResult.iso8601(milliseconds: milliseconds).utf8
            return
        }
        let days = milliseconds / 86_400_000
        let inDay = milliseconds % 86_400_000
        // Days since 0000-03-01, counted in 400-year eras of 146,097 days; years starting in March put the leap
        // day at a year's end.
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        appendPadded(year, width: 4, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendPadded(month, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "-"))
        appendPadded(day, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "T"))
        appendPadded(inDay / 3_600_000, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendPadded(inDay / 60_000 % 60, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        appendPadded(inDay / 1000 % 60, width: 2, to: &bytes)
        bytes.append(UInt8(ascii: "."))
        appendPadded(inDay % 1000, width: 3, to: &bytes)
        bytes.append(UInt8(ascii: "Z"))
    }

    /// A non-negative number in `width` digits at least, zeros in front.
    private static func appendPadded(_ value: Int64, width: Int, to bytes: inout [UInt8]) {
        let start = bytes.count
        appendDigits(UInt64(value), radix: 10, to: &bytes)
        let short = width - (bytes.count - start)
        if short > 0 { bytes.insert(contentsOf: repeatElement(UInt8(ascii: "0"), count: short), at: start) }
    }
}
