import FuzzSupport
import ZooKeeper
import ZooKeeperProtocol
import ZooKeeperServer

/// The JAAS file parser, and what the client and the server make of each section it reads.
///
/// What must hold: the text parses, or fails with one non-empty line of kind `syntax`. What parses has named,
/// distinct sections of at least one module each, and written back as JAAS text (values quoted) parses to the
/// same sections. Line endings do not matter: the same text with CRLF line ends parses to the same sections (or
/// fails too). For every section, the client's login (`SASLCredentials(jaas:section:)`) and the server's
/// (`SASLSettings.loadJAAS`) either work or fail with one line.
@main struct FuzzJAASMain {
    static func main() { runFuzzer(fuzzJAAS) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJAAS(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: FuzzInput(start, count).remaining, as: UTF8.self)
    let parsed = parse(text)
    let crlf = parse(withCRLF(text))
    switch (parsed, crlf) {
    case (let plain?, let windows?):
        // A quoted value that spans lines keeps its line ends, as Java's reader does: CRs aside, the same.
        fuzzCheck(
            withoutCR(shape(plain)) == withoutCR(shape(windows)),
            "CRLF line ends read differently: \(plain.sections) and \(windows.sections)")
    case (nil, nil):
        break
    case (let plain?, nil):
        fuzzCheck(false, "the text parses with LF line ends (\(plain.sections)) but not with CRLF")
    case (nil, let windows?):
        fuzzCheck(false, "the text parses with CRLF line ends (\(windows.sections)) but not with LF")
    }
    guard let jaas = parsed else { return 0 }

    var names = Set<String>()
    for section in jaas.sections {
        fuzzCheck(!section.name.isEmpty, "a section without a name")
        fuzzCheck(names.insert(section.name).inserted, "section \(section.name) twice")
        fuzzCheck(!section.modules.isEmpty, "section \(section.name) without a module")
        fuzzCheck(jaas.section(section.name) == section.modules, "section(\(section.name)) is not the section")
    }
    let written = write(jaas)
    if let again = parse(written) {
        fuzzCheck(again == jaas, "\(jaas.sections) written as\n\(written)\nreads \(again.sections)")
    } else {
        fuzzCheck(false, "\(jaas.sections) written as\n\(written)\ndoes not parse")
    }

    for section in jaas.sections.map(\.name) + ["Client", "Server", "absent"] {
        do {
            _ = try SASLCredentials(jaas: jaas, section: section)
        } catch {
            checkOneLine(error.message)
            fuzzCheck(error.kind == .unusable, "a parsed file's section is \(error.kind): \(error.message)")
        }
        var settings = SASLSettings()
        settings.serverSection = section
        do {
            try settings.loadJAAS(jaas)
            fuzzCheck(settings.digestUsers != nil, "a server section loaded without users")
        } catch {
            checkOneLine(error.description)
        }
    }
    return 0
}

func checkOneLine(_ message: String) {
    fuzzCheck(!message.isEmpty, "an empty failure")
    fuzzCheck(
        !message.unicodeScalars.contains { $0 == "\n" || $0 == "\r" }, "a failure of more than one line: \(message)")
}

func parse(_ text: String) -> JAASConfiguration? {
    do {
        return try JAASConfiguration(parsing: text, source: "fuzz.conf")
    } catch {
        checkOneLine(error.message)
        fuzzCheck(error.kind == .syntax, "parsing failed with \(error.kind): \(error.message)")
        fuzzCheck(error.message.hasPrefix("fuzz.conf:"), "a failure that does not name the file: \(error.message)")
        return nil
    }
}

/// JAAS text for `jaas`: names as they are (they are words), values quoted with `"` and `\` escaped.
func write(_ jaas: JAASConfiguration) -> String {
    var text = ""
    for section in jaas.sections {
        text += "\(section.name) {\n"
        for module in section.modules {
            text += "  \(module.className) \(module.flag.rawValue)"
            for option in module.options {
                var quoted = "\""
                for scalar in option.value.unicodeScalars {
                    if scalar == "\"" || scalar == "\\" { quoted += "\\" }
                    quoted.unicodeScalars.append(scalar)
                }
                text += "\n    \(option.name)=\(quoted)\""
            }
            text += ";\n"
        }
        text += "};\n"
    }
    return text
}

/// Everything the parser read, as text to compare.
func shape(_ jaas: JAASConfiguration) -> String {
    jaas.sections.map { section in
        "[\(section.name)]"
            + section.modules.map { module in
                "<\(module.className) \(module.flag)"
                    + module.options.map { "(\($0.name)=\($0.value))" }.joined() + ">"
            }.joined()
    }.joined()
}

func withoutCR(_ text: String) -> String {
    var kept = String.UnicodeScalarView()
    kept.append(contentsOf: text.unicodeScalars.filter { $0 != "\r" })
    return String(kept)
}
