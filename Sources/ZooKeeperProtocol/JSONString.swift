/// JSON string literals (RFC 8259 escaping: quotes, backslashes and control characters; everything else as
/// UTF-8), for the shell's JSON output and zkserver's JSON log lines: one escaper for both.
public enum JSONString {
    /// Appends `value` as a quoted JSON string to `text`.
    public static func write(_ value: String, to text: inout String) {
        text += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case "\u{08}": text += "\\b"
            case "\u{0C}": text += "\\f"
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }

    /// `value` as a quoted JSON string.
    public static func quoted(_ value: String) -> String {
        var text = ""
        write(value, to: &text)
        return text
    }
}
