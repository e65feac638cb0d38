import FuzzSupport

@testable import ZooKeeperShell

/// The shell's line tokenizer (zkCli's quoting rules), then each command's option parser and the ACL parser on
/// the words it yields: any line either parses or is refused with a message, and unquoted tokens never hold the
/// separators the tokenizer splits on.
@main struct FuzzShellTokenizerMain {
    static func main() { runFuzzer(fuzzShellTokenizer) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzShellTokenizer(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let entry = CommandRegistry.specs[input.below(CommandRegistry.specs.count)]
    let line = String(decoding: input.remaining, as: UTF8.self)
    let tokens = CommandLineTokenizer.tokenize(line)
    for token in tokens {
        // An unquoted token is `[^"']\S*`: only its first character may be a space (zkCli's regex backtracks
        // into the leading spaces when nothing else follows them).
        let quoted =
            token.unicodeScalars.contains { $0 == "\"" || $0 == "'" } || appears(token, between: "\"", in: line)
            || appears(token, between: "'", in: line)
        if !quoted {
            fuzzCheck(
                !token.unicodeScalars.dropFirst().contains(where: CommandLineTokenizer.isSpace),
                "unquoted token \(token.debugDescription) holds a space (line \(line.debugDescription))")
        }
    }
    let words = [entry.name] + tokens.dropFirst()
    if let parsed = try? entry.parser.parse(words) {
        for name in parsed.present {
            fuzzCheck(entry.parser.option(name) != nil, "\(entry.name): option \(name) is not one of its own")
        }
    }
    for token in tokens { _ = AclParser.parse(token) }
    return 0
}

/// Whether `quote + token + quote` occurs in `line`, compared scalar by scalar (a combining mark after the
/// closing quote joins it into one Character, which String's own search would not match).
private func appears(_ token: String, between quote: Unicode.Scalar, in line: String) -> Bool {
    let needle = [quote] + Array(token.unicodeScalars) + [quote]
    let haystack = Array(line.unicodeScalars)
    guard haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count)
    where haystack[start..<(start + needle.count)].elementsEqual(needle) {
        return true
    }
    return false
}
