/// A Java properties file read as `java.util.Properties.load` reads it, since zoo.cfg and the client
/// configuration file are such files in Apache ZooKeeper: lines end with LF, CR or CRLF; `#` and `!` start a
/// comment line; a line ending in an odd number of backslashes goes on in the next one (whose leading blanks are
/// dropped); the key ends at the first unescaped `=`, `:` or blank, and blanks with at most one `=` or `:`
/// separate it from the value; `\t`, `\n`, `\r`, `\f` and `\uXXXX` are escapes and any other escaped character
/// stands for itself (so `C:\\data` is `C:\data`). Works on Unicode scalars, as Java works on UTF-16 units,
/// so that a combining mark cannot merge with a separator.
public enum JavaProperties {
    public struct Entry: Sendable, Equatable {
        /// The line where the entry starts, from 1.
        public var line: Int
        public var key: String
        /// The value as the file gives it after its escapes: leading blanks dropped, trailing ones kept.
        public var value: String
        /// False for a line that is a key alone, with no `=`, `:` or blank after it.
        public var hasSeparator: Bool
    }

    /// A `\u` escape without four hexadecimal digits, which `Properties.load` refuses too.
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var description: String { "line \(line): malformed \\uXXXX escape" }
        public init(line: Int) { self.line = line }
    }

    public static func entries(in text: String) throws(Failure) -> [Entry] {
        var entries: [Entry] = []
        for logical in logicalLines(Array(text.unicodeScalars)) {
            if let entry = try entry(logical.scalars, line: logical.line) { entries.append(entry) }
        }
        return entries
    }

    /// The entries as a dictionary; a key given twice keeps its last value, as in Java.
    public static func dictionary(in text: String) throws(Failure) -> [String: String] {
        var result: [String: String] = [:]
        for entry in try entries(in: text) { result[entry.key] = entry.value }
        return result
    }

    /// `text` without what Java's `String.trim()` drops at both ends (every character up to U+0020), which is how
    /// Apache's configuration readers take keys and values.
    public static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { $0.value > 0x20 }),
            let last = scalars.lastIndex(where: { $0.value > 0x20 })
        else { return "" }
        return String(scalars[first...last])
    }

    private static func isBlank(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\u{0C}"
    }

    private static func isLineEnd(_ scalar: Unicode.Scalar) -> Bool { scalar == "\n" || scalar == "\r" }

    /// Joins continued lines; comment and blank lines are dropped here (a comment is never continued).
    private static func logicalLines(_ scalars: [Unicode.Scalar]) -> [(line: Int, scalars: [Unicode.Scalar])] {
        var lines: [(line: Int, scalars: [Unicode.Scalar])] = []
        var index = 0
        var lineNumber = 1
        while index < scalars.count {
            let start = lineNumber
            var logical: [Unicode.Scalar] = []
            var continuing = false
            var isComment = false
            while index < scalars.count {
                // One natural line, its leading blanks dropped.
                while index < scalars.count, isBlank(scalars[index]) { index += 1 }
                if !continuing, index < scalars.count, scalars[index] == "#" || scalars[index] == "!" {
                    isComment = true
                }
                var natural: [Unicode.Scalar] = []
                while index < scalars.count, !isLineEnd(scalars[index]) {
                    natural.append(scalars[index])
                    index += 1
                }
                if index < scalars.count {
                    index += scalars[index] == "\r" && index + 1 < scalars.count && scalars[index + 1] == "\n" ? 2 : 1
                    lineNumber += 1
                }
                let trailingBackslashes = natural.reversed().prefix { $0 == "\\" }.count
                if isComment || trailingBackslashes % 2 == 0 {
                    logical += natural
                    break
                }
                logical += natural.dropLast()
                continuing = true
            }
            if !isComment, !logical.isEmpty { lines.append((start, logical)) }
        }
        return lines
    }

    private static func entry(_ scalars: [Unicode.Scalar], line: Int) throws(Failure) -> Entry? {
        var index = 0
        var key = String.UnicodeScalarView()
        var hasSeparator = false
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\\" {
                index = try unescape(scalars, at: index, into: &key, line: line)
                continue
            }
            if scalar == "=" || scalar == ":" || isBlank(scalar) {
                hasSeparator = true
                break
            }
            key.append(scalar)
            index += 1
        }
        while index < scalars.count, isBlank(scalars[index]) { index += 1 }
        if index < scalars.count, scalars[index] == "=" || scalars[index] == ":" { index += 1 }
        while index < scalars.count, isBlank(scalars[index]) { index += 1 }
        var value = String.UnicodeScalarView()
        while index < scalars.count {
            if scalars[index] == "\\" {
                index = try unescape(scalars, at: index, into: &value, line: line)
            } else {
                value.append(scalars[index])
                index += 1
            }
        }
        return Entry(line: line, key: String(key), value: String(value), hasSeparator: hasSeparator)
    }

    /// Appends the character the escape at `index` stands for; returns the index after the escape.
    private static func unescape(
        _ scalars: [Unicode.Scalar], at index: Int, into output: inout String.UnicodeScalarView, line: Int
    ) throws(Failure) -> Int {
        guard index + 1 < scalars.count else { return index + 1 }  // A lone backslash at the end stands for nothing.
        switch scalars[index + 1] {
        case "t": output.append("\t")
        case "n": output.append("\n")
        case "r": output.append("\r")
        case "f": output.append("\u{0C}")
        case "u":
            guard let code = hexUnit(scalars, at: index + 2) else { throw Failure(line: line) }
            // `\uXXXX` is a UTF-16 unit: a surrogate pair written as two escapes is one character.
            if (0xD800..<0xDC00).contains(code), index + 7 < scalars.count, scalars[index + 6] == "\\",
                scalars[index + 7] == "u", let low = hexUnit(scalars, at: index + 8), (0xDC00..<0xE000).contains(low),
                let pair = Unicode.Scalar(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
            {
                output.append(pair)
                return index + 12
            }
            // A lone surrogate has no scalar of its own; it stands for the replacement character.
            output.append(Unicode.Scalar(code) ?? "\u{FFFD}")
            return index + 6
        case let other: output.append(other)
        }
        return index + 2
    }

    /// Four hexadecimal digits at `index` as a UTF-16 unit.
    private static func hexUnit(_ scalars: [Unicode.Scalar], at index: Int) -> UInt32? {
        guard index + 4 <= scalars.count else { return nil }
        var unit: UInt32 = 0
        for scalar in scalars[index..<(index + 4)] {
            let digit: UInt32
            switch scalar.value {
            case 0x30...0x39: digit = scalar.value - 0x30
            case 0x41...0x46: digit = scalar.value - 0x41 + 10
            case 0x61...0x66: digit = scalar.value - 0x61 + 10
            default: return nil
            }
            unit = unit << 4 | digit
        }
        return unit
    }
}
