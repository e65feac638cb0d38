/// zkCli's line tokenizer (`ZooKeeperMain.MyCommandOptions.parseCommand`).
///
/// zkCli finds tokens with the regular expression `\s*([^"']\S*|"[^"]*"|'[^']*')\s*` and strips the quotes of
/// a token that starts and ends with the same quote. This reproduces its matches exactly, including the odd
/// corners people's scripts may rely on: quotes inside a word are kept (`a"b`), `""` is an empty argument, an
/// unterminated quote character is skipped, and there are no escapes.
public enum CommandLineTokenizer {
    public static func tokenize(_ line: String) -> [String] {
        let characters = Array(line.unicodeScalars)
        var tokens: [String] = []
        var start = 0
        while start < characters.count {
            guard let (token, end) = match(characters, at: start) else {
                start += 1
                continue
            }
            tokens.append(unquoted(token))
            start = end
        }
        return tokens
    }

    /// Java's `\s`: space, tab, newline, vertical tab, form feed, carriage return.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "\n", "\u{0B}", "\u{0C}", "\r": true
        default: false
        }
    }

    /// The regex match starting exactly at `start`: the token and the index after the trailing spaces.
    private static func match(_ characters: [Unicode.Scalar], at start: Int) -> (String, Int)? {
        var spaces = 0
        while start + spaces < characters.count, isSpace(characters[start + spaces]) { spaces += 1 }
        // The leading \s* is greedy, then backtracks one character at a time.
        for leading in stride(from: spaces, through: 0, by: -1) {
            if let tokenEnd = matchToken(characters, at: start + leading) {
                var end = tokenEnd
                while end < characters.count, isSpace(characters[end]) { end += 1 }
                var token = String.UnicodeScalarView()
                token.append(contentsOf: characters[(start + leading)..<tokenEnd])
                return (String(token), end)
            }
        }
        return nil
    }

    /// `[^"']\S*|"[^"]*"|'[^']*'` at `index`: the end of the token, or nil.
    private static func matchToken(_ characters: [Unicode.Scalar], at index: Int) -> Int? {
        guard index < characters.count else { return nil }
        let first = characters[index]
        if first != "\"" && first != "'" {
            var end = index + 1
            while end < characters.count, !isSpace(characters[end]) { end += 1 }
            return end
        }
        var end = index + 1
        while end < characters.count, characters[end] != first { end += 1 }
        return end < characters.count ? end + 1 : nil
    }

    /// `^(['"])(.*)(\1)$`: strips the quotes when the token starts and ends with the same one.
    private static func unquoted(_ token: String) -> String {
        let scalars = token.unicodeScalars
        guard scalars.count >= 2, let first = scalars.first, first == "\"" || first == "'", scalars.last == first
        else { return token }
        // `.` does not match line terminators.
        let inner = scalars.dropFirst().dropLast()
        if inner.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\u{85}" || $0 == "\u{2028}" || $0 == "\u{2029}" })
        {
            return token
        }
        return String(String.UnicodeScalarView(inner))
    }
}
