import FuzzSupport
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperTLS

/// The client configuration (`-client-configuration FILE`, a Java properties file) and the `-Dkey=value` words of
/// `CLIENT_JVMFLAGS`, and what the client makes of the keys: TLS settings, the packet limit, SASL switches.
///
/// What must hold: a key or value holds a line end only through an escape, values have no surrounding blanks; the
/// properties written back as escaped `key=value` lines read back the same; CRLF line ends read as LF ones do; a
/// malformed escape is refused in one line. The TLS settings either come out or
/// fail with one non-empty line; with `zookeeper.client.secure` not `true` there are none.
@main struct FuzzClientPropertiesMain {
    static func main() { runFuzzer(fuzzClientProperties) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientProperties(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: FuzzInput(start, count).remaining, as: UTF8.self)
    let values: [String: String]
    do {
        values = try ClientProperties.parse(text)
    } catch {
        fuzzCheck(!hasLineEnd(error.description), "a failure of more than one line: \(error.description)")
        return 0
    }
    for (key, value) in values {
        fuzzCheck(
            text.contains("\\") || (!hasLineEnd(key) && !hasLineEnd(value)),
            "a line end in \(key.debugDescription)=\(value.debugDescription)")
        fuzzCheck(
            value.unicodeScalars.first.map { $0 != " " && $0 != "\t" } ?? true
                && value.unicodeScalars.last.map { $0 != " " && $0 != "\t" } ?? true,
            "blanks around the value of \(key): \(value.debugDescription)")
    }
    let windows = try? ClientProperties.parse(withCRLF(text))
    fuzzCheck(windows == values, "CRLF line ends read differently: \(values) and \(String(describing: windows))")

    // Written back (Kafka's endpoint key is read as true/false, so it is written as Apache's key).
    let written = values.map { key, value in
        key == "zookeeper.ssl.endpoint.identification.algorithm" ? "" : "\(escaped(key, isKey: true))=\(escaped(value))"
    }.joined(separator: "\n")
    var expected = values
    expected["zookeeper.ssl.endpoint.identification.algorithm"] = nil
    let again = try? ClientProperties.parse(written)
    fuzzCheck(again == expected, "\(expected) written as\n\(written)\nreads \(String(describing: again))")

    for flags in [text, text.replacing("\n", with: " ")] {
        for (key, value) in JVMFlags.systemProperties(flags) {
            fuzzCheck(
                !key.unicodeScalars.contains { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "=" }
                    && !value.unicodeScalars.contains { $0 == " " || $0 == "\t" || $0 == "\n" },
                "a blank in -D\(key)=\(value)")
        }
    }

    // Password files would be read from disk: not here.
    var properties = values.filter { !$0.key.hasSuffix("passwordPath") }
    if properties["zookeeper.client.secure"] == nil && text.utf8.count % 2 == 0 {
        properties["zookeeper.client.secure"] = "true"
    }
    let client = ClientProperties(properties)
    _ = (client.packetLimit, client.isSASLEnabled, client.saslClientSection, client.jaasConfigurationFile)
    do {
        let settings = try client.tlsSettings()
        if !client.isSecure { fuzzCheck(settings == nil, "TLS settings without zookeeper.client.secure=true") }
    } catch {
        fuzzCheck(!error.message.isEmpty, "an empty failure")
        fuzzCheck(!hasLineEnd(error.message), "a failure of more than one line: \(error.message)")
    }
    return 0
}

func hasLineEnd(_ text: String) -> Bool {
    text.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }
}

/// `text` as a properties file must spell it to be read back as it is.
func escaped(_ text: String, isKey: Bool = false) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "=", ":", " ", "\t", "\u{0C}", "#", "!": result += isKey ? "\\" + String(scalar) : String(scalar)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}
