/// A JSON value with its object keys in the order given, written compactly on one line (the shell's output and
/// export files) or spread over lines as Jackson's default pretty printer does (zkserver's AdminServer).
public enum JSONValue: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    case null
    case bool(Bool)
    case integer(Int64)
    /// A number with a fraction, written as Java writes a double (`0.0`, `3.25`).
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(nilLiteral: ()) { self = .null }

    public static func number(_ value: some BinaryInteger) -> JSONValue { .integer(Int64(value)) }

    public static func string(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }

    public static func strings(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }

    /// The value as JSON text, without a trailing newline.
    public var text: String {
        var text = ""
        write(to: &text)
        return text
    }

    private func write(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let value): text += value ? "true" : "false"
        case .integer(let value): text += String(value)
        case .double(let value): text += Self.javaDouble(value)
        case .string(let value): JSONString.write(value, to: &text)
        case .array(let values):
            text += "["
            for (index, value) in values.enumerated() {
                if index > 0 { text += "," }
                value.write(to: &text)
            }
            text += "]"
        case .object(let members):
            text += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { text += "," }
                JSONString.write(key, to: &text)
                text += ":"
                value.write(to: &text)
            }
            text += "}"
        }
    }

    /// The value as Jackson's default pretty printer writes it: objects one member a line (`"key" : value`,
    /// indented by two spaces a level), arrays on the line (`[ 1, 2 ]`), empty ones as `{ }` and `[ ]`.
    public var prettyText: String {
        var text = ""
        writePretty(to: &text, indent: 0)
        return text
    }

    private func writePretty(to text: inout String, indent: Int) {
        switch self {
        case .null, .bool, .integer, .double, .string: write(to: &text)
        case .array(let values):
            guard !values.isEmpty else {
                text += "[ ]"
                return
            }
            text += "[ "
            for (index, value) in values.enumerated() {
                if index > 0 { text += ", " }
                value.writePretty(to: &text, indent: indent)
            }
            text += " ]"
        case .object(let members):
            guard !members.isEmpty else {
                text += "{ }"
                return
            }
            text += "{"
            let padding = String(repeating: " ", count: indent + 2)
            for (index, (key, value)) in members.enumerated() {
                text += index > 0 ? ",\n" : "\n"
                text += padding
                JSONString.write(key, to: &text)
                text += " : "
                value.writePretty(to: &text, indent: indent + 2)
            }
            text += "\n" + String(repeating: " ", count: indent) + "}"
        }
    }

    /// Java's `Double.toString` for the values a server reports: always a fraction (`0.0`, `8.8333`).
    static func javaDouble(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Infinity" : "Infinity") }
        let text = "\(value)"
        return text.contains(".") || text.contains("e") ? text : text + ".0"
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.text == rhs.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
}

extension JSONValue {
    /// A JSON text that does not parse: what was expected, and where (a byte offset).
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String
        public var offset: Int
        public var description: String { "\(message) at byte \(offset + 1)" }
    }

    /// Parses one JSON value (RFC 8259); a number with a fraction or an exponent becomes `.double`.
    public init(parsing text: String) throws(ParseError) {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipSpace()
        self = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.error("text after the value") }
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        if case .double(let value) = self { return value }
        return nil
    }

    public var objectValue: [(String, JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        func error(_ message: String) -> ParseError { ParseError(message: message, offset: index) }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws(ParseError) {
            for byte in literal.utf8 {
                guard index < bytes.count, bytes[index] == byte else { throw error("expected \(literal)") }
                index += 1
            }
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            guard depth < 64 else { throw error("nested too deeply") }
            guard index < bytes.count else { throw error("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(String, JSONValue)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    let key = try string()
                    skipSpace()
                    try expect(":")
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard index < bytes.count else { throw error("unexpected end") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else {
                        try expect("}")
                        return .object(members)
                    }
                }
            case UInt8(ascii: "["):
                index += 1
                var values: [JSONValue] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(values)
                }
                while true {
                    skipSpace()
                    values.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw error("unexpected end") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else {
                        try expect("]")
                        return .array(values)
                    }
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            default:
                let start = index
                if bytes[index] == UInt8(ascii: "-") { index += 1 }
                /// Skips the digits at the index; whether there was at least one.
                func digits() -> Bool {
                    let first = index
                    while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                        index += 1
                    }
                    return index > first
                }
                _ = digits()
                var isInteger = true
                if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                    isInteger = false
                    index += 1
                    guard digits() else { throw error("expected a digit") }
                }
                if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                    isInteger = false
                    index += 1
                    if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                        index += 1
                    }
                    guard digits() else { throw error("expected a digit") }
                }
                let literal = String(decoding: bytes[start..<index], as: UTF8.self)
                if isInteger, let number = Int64(literal) { return .integer(number) }
                guard !isInteger, let number = Double(literal), number.isFinite else {
                    index = start
                    throw error("expected a value")
                }
                return .double(number)
            }
        }

        mutating func string() throws(ParseError) -> String {
            try expect("\"")
            var scalars = String.UnicodeScalarView()
            var run: [UInt8] = []
            func flush() {
                scalars.append(contentsOf: String(decoding: run, as: UTF8.self).unicodeScalars)
                run.removeAll(keepingCapacity: true)
            }
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush()
                    guard index < bytes.count else { throw error("unterminated string") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code) {
                            try expect("\\u")
                            let low = try hex4()
                            guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw error("a lone surrogate") }
                        scalars.append(scalar)
                    default: throw error("an unknown escape")
                    }
                case 0..<0x20:
                    index -= 1
                    throw error("a control character in a string")
                default: run.append(byte)
                }
            }
        }

        mutating func hex4() throws(ParseError) -> UInt32 {
            guard index + 4 <= bytes.count,
                let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
            else { throw error("expected four hex digits") }
            index += 4
            return code
        }
    }
}
