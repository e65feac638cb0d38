import Logging
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A log handler that writes one line per message to standard error, in a format a log collector parses:
/// `logfmt` (`time=… level=info logger=zkserver msg="…" key=value`) or JSON Lines (one object per line).
/// Each line leaves in one `write(2)`, so lines from several threads never interleave.
public struct LineLogHandler: LogHandler {
    public enum Format: String, CaseIterable, Sendable {
        case logfmt
        case json
    }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: Format
    private let fileDescriptor: Int32

    public init(label: String, format: Format, fileDescriptor: Int32 = 2) {
        self.label = label
        self.format = format
        self.fileDescriptor = fileDescriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let line = Self.line(
            format: format, time: Self.timestamp(), level: event.level, label: label, message: "\(event.message)",
            metadata: merged, source: event.source)
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// One formatted line, without its newline. Metadata keys are sorted so that lines are stable.
    static func line(
        format: Format, time: String, level: Logger.Level, label: String, message: String,
        metadata: Logger.Metadata, source: String
    ) -> String {
        let fields =
            [
                ("time", time), ("level", level.rawValue), ("logger", label),
                (format == .json ? "message" : "msg", message),
            ]
            + metadata.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        switch format {
        case .logfmt:
            return fields.map { "\($0.0)=\(logfmtValue($0.1))" }.joined(separator: " ")
        case .json:
            return "{" + fields.map { "\(JSONString.quoted($0.0)):\(JSONString.quoted($0.1))" }.joined(separator: ",")
                + "}"
        }
    }

    /// A logfmt value: bare when it is a plain word, quoted with JSON's escapes (which logfmt readers accept)
    /// when it has a space, a quote, an equals sign, a backslash or a control character, or is empty.
    static func logfmtValue(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 }
        return needsQuotes ? JSONString.quoted(value) : value
    }

    /// Now, in ISO 8601 UTC with milliseconds: `2026-11-29T20:30:51.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func padded(_ number: Int32, _ width: Int) -> String {
            let digits = String(number)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return padded(parts.tm_year + 1900, 4) + "-" + padded(parts.tm_mon + 1, 2) + "-" + padded(parts.tm_mday, 2)
            + "T" + padded(parts.tm_hour, 2) + ":" + padded(parts.tm_min, 2) + ":" + padded(parts.tm_sec, 2) + "."
            + padded(Int32(now.tv_nsec / 1_000_000), 3) + "Z"
    }
}
