/// A man(7) page read just enough to check it against the code: its sections (`.SH`), subsections (`.SS`),
/// the tags of its `.TP` paragraphs, and its text with the font escapes taken out.
struct ManPage {
    let source: String

    init(_ source: String) { self.source = source }

    var lines: [String] { source.components(separatedBy: "\n") }

    /// The `.SH` names, in order.
    var sectionNames: [String] {
        lines.filter { $0.hasPrefix(".SH ") }.map { Self.plain(Self.arguments(of: $0).joined(separator: " ")) }
    }

    /// The source lines of section `name`, up to the next `.SH`.
    func section(_ name: String) -> [String] {
        block(
            after: { $0.hasPrefix(".SH ") && Self.plain(Self.arguments(of: $0).joined(separator: " ")) == name },
            until: { $0.hasPrefix(".SH ") })
    }

    /// The source lines of subsection `name` (`.SS name`), up to the next `.SS` or `.SH`.
    func subsection(_ name: String) -> [String]? {
        let heading = lines.contains { $0.hasPrefix(".SS ") && Self.arguments(of: $0).joined(separator: " ") == name }
        guard heading else { return nil }
        return block(
            after: { $0.hasPrefix(".SS ") && Self.arguments(of: $0).joined(separator: " ") == name },
            until: { $0.hasPrefix(".SS ") || $0.hasPrefix(".SH ") })
    }

    private func block(after start: (String) -> Bool, until end: (String) -> Bool) -> [String] {
        guard let first = lines.firstIndex(where: start) else { return [] }
        let rest = lines[(first + 1)...]
        let last = rest.firstIndex(where: end) ?? lines.endIndex
        return Array(lines[(first + 1)..<last])
    }

    /// The tags of the `.TP` paragraphs among `lines` (and of `.TQ`, which adds a tag to the one before), as
    /// plain text.
    static func tags(_ lines: [String]) -> [String] {
        var tags: [String] = []
        for (index, line) in lines.enumerated() where line == ".TP" || line == ".TQ" {
            guard index + 1 < lines.count else { continue }
            tags.append(plainLine(lines[index + 1]))
        }
        return tags
    }

    /// The options a tag names: `-h, --help` gives `-h` and `--help`; `-server host:port...` gives `-server`.
    static func optionsNamed(byTag tag: String) -> [String] {
        tag.components(separatedBy: ", ").compactMap { part in
            let word = part.split(separator: " ").first.map(String.init) ?? ""
            return word.hasPrefix("-") ? word : nil
        }
    }

    /// The text lines between a subsection's heading and its first paragraph macro, joined and made plain
    /// (where zkcli.1 puts a command's usage line).
    static func leadingText(_ lines: [String]) -> String {
        lines.prefix { !$0.hasPrefix(".") }.map(plain).joined(separator: " ")
    }

    /// A line as it reads: a font macro's arguments joined as the macro joins them, escapes removed.
    static func plainLine(_ line: String) -> String {
        guard line.hasPrefix(".") else { return plain(line) }
        let macro = line.prefix { $0 != " " }
        let arguments = Self.arguments(of: line)
        switch macro {
        case ".B", ".I", ".SM", ".SB": return plain(arguments.joined(separator: " "))
        // The alternating macros put their arguments together without blanks.
        case ".BI", ".BR", ".IB", ".IR", ".RB", ".RI": return plain(arguments.joined())
        default: return plain(line)
        }
    }

    /// The arguments of a macro line: words, or "quoted strings" (a doubled quote inside is a quote).
    static func arguments(of line: String) -> [String] {
        var arguments: [String] = []
        var characters = Substring(line.drop { $0 != " " })
        while true {
            characters = characters.drop { $0 == " " }
            guard let first = characters.first else { break }
            if first == "\"" {
                var argument = ""
                characters.removeFirst()
                while let next = characters.first {
                    characters.removeFirst()
                    if next == "\"" {
                        if characters.first == "\"" {
                            argument.append("\"")
                            characters.removeFirst()
                        } else {
                            break
                        }
                    } else {
                        argument.append(next)
                    }
                }
                arguments.append(argument)
            } else {
                let word = characters.prefix { $0 != " " }
                arguments.append(String(word))
                characters = characters.dropFirst(word.count)
            }
        }
        return arguments
    }

    /// Text with font changes, zero-width and hyphen escapes taken out.
    static func plain(_ text: String) -> String {
        var result = ""
        var characters = Substring(text)
        while let character = characters.first {
            characters.removeFirst()
            guard character == "\\", let escape = characters.first else {
                result.append(character)
                continue
            }
            characters.removeFirst()
            switch escape {
            case "f": characters = characters.dropFirst()  // \fB, \fI, \fR, \fP
            case "&": break
            case "-": result.append("-")
            case "e": result.append("\\")
            case "(":
                let name = characters.prefix(2)
                characters = characters.dropFirst(2)
                result.append(name == "aq" ? "'" : name == "dq" ? "\"" : "?")
            default: result.append(escape)
            }
        }
        return result
    }
}
