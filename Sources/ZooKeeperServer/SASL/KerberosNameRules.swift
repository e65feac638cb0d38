/// `zookeeper.security.auth_to_local`: the Hadoop-style rules that map a Kerberos principal to the short name of
/// its `sasl` identity, as Apache's `KerberosName` applies them (default `DEFAULT`).
///
/// Each rule is `DEFAULT` (a principal of the default realm maps to its first component) or
/// `RULE:[n:format](match)s/from/to/g`: it applies to principals of `n` components; `format` builds a string from
/// `$0` (the realm), `$1` and `$2` (the components); the string must match `match` whole (when given), and the
/// substitution (Java regex syntax, `$1` groups in `to`; `g` for every occurrence) makes the short name. The first
/// rule that applies wins; a short name with `/` or `@` in it, or no rule that applies, maps nothing.
public struct KerberosNameRules: Sendable, Hashable, CustomStringConvertible {
    struct Rule: Sendable, Hashable {
        enum Kind: Sendable, Hashable {
            case defaultRealm
            case rule(components: Int, format: String, match: String?, from: String?, to: String?, global: Bool)
        }
        let kind: Kind
    }

    /// Apache's default: principals of the default realm lose it, others are left as they are.
    public static let `default` = KerberosNameRules(rules: [Rule(kind: .defaultRealm)], text: "DEFAULT")

    let rules: [Rule]
    /// The rules as given.
    public let description: String

    private init(rules: [Rule], text: String) {
        self.rules = rules
        description = text
    }

    /// Parses the property's value; a rule that does not parse, or whose pattern is no valid regular expression,
    /// is one line naming it.
    public init(_ text: String) throws(ZooCfg.Failure) {
        var rules: [Rule] = []
        var rest = Substring(text).drop { $0.isWhitespace }
        while !rest.isEmpty {
            rest = rest.drop { $0.isWhitespace }
            guard !rest.isEmpty else { break }
            if rest.hasPrefix("DEFAULT") {
                rules.append(Rule(kind: .defaultRealm))
                rest = rest.dropFirst("DEFAULT".count)
                continue
            }
            guard let (rule, after) = Self.parseRule(rest) else {
                throw ZooCfg.Failure("zookeeper.security.auth_to_local: invalid rule: \(rest)")
            }
            if case .rule(_, _, let match, let from, _, _) = rule.kind {
                for pattern in [match, from].compactMap({ $0 }) {
                    do {
                        _ = try Regex(pattern)
                    } catch {
                        throw ZooCfg.Failure(
                            "zookeeper.security.auth_to_local: '\(pattern)' is no regular expression (\(error))")
                    }
                }
            }
            rules.append(rule)
            rest = after
        }
        self.init(rules: rules, text: text)
    }

    /// `RULE:[n:format]`, then `(match)` and `s/from/to/` (then `g`) when present.
    private static func parseRule(_ text: Substring) -> (Rule, Substring)? {
        guard text.hasPrefix("RULE:[") else { return nil }
        var rest = text.dropFirst("RULE:[".count)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard let components = Int(digits), rest.dropFirst(digits.count).first == ":" else { return nil }
        rest = rest.dropFirst(digits.count + 1)
        guard let close = rest.firstIndex(of: "]") else { return nil }
        let format = String(rest[..<close])
        rest = rest[rest.index(after: close)...]
        var match: String?
        if rest.first == "(", let end = rest.firstIndex(of: ")") {
            match = String(rest[rest.index(after: rest.startIndex)..<end])
            rest = rest[rest.index(after: end)...]
        }
        var from: String?
        var to: String?
        var global = false
        if rest.hasPrefix("s/") {
            let parts = rest.dropFirst(2).split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            // s/from/to/ needs both slashes after the pattern; without them the text is no substitution.
            if parts.count == 3 {
                from = String(parts[0])
                to = String(parts[1])
                rest = parts[2]
                if rest.first == "g" {
                    global = true
                    rest = rest.dropFirst()
                }
            }
        }
        let rule = Rule(
            kind: .rule(components: components, format: format, match: match, from: from, to: to, global: global))
        return (rule, rest)
    }

    /// The short name of the principal with `components` (one or two) in `realm`, or nil when no rule maps it.
    /// As in Apache, the first rule that applies decides, and a rule whose format names no parameter ends the
    /// mapping with no name.
    public func shortName(components: [String], realm: String, defaultRealm: String?) -> String? {
        for rule in rules {
            let result: String?
            do {
                result = try rule.apply(components: components, realm: realm, defaultRealm: defaultRealm)
            } catch {
                return nil
            }
            guard let result else { continue }
            return result.contains(where: { $0 == "/" || $0 == "@" }) ? nil : result
        }
        return nil
    }
}

extension KerberosNameRules.Rule {
    struct BadFormat: Error {}

    /// The rule's result for the principal, or nil when it does not apply; BadFormat when its format names no
    /// parameter of the principal.
    func apply(components: [String], realm: String, defaultRealm: String?) throws(BadFormat) -> String? {
        switch kind {
        case .defaultRealm:
            return realm == defaultRealm ? components.first : nil
        case .rule(let count, let format, let match, let from, let to, let global):
            guard components.count == count else { return nil }
            guard let base = Self.fill(format, with: [realm] + components) else { throw BadFormat() }
            if let match {
                guard let pattern = try? Regex(match), (try? pattern.wholeMatch(in: base)) != nil else { return nil }
            }
            guard let from, let to, let pattern = try? Regex(from) else { return base }
            return Self.substitute(pattern, in: base, with: to, global: global)
        }
    }

    /// `format` with `$N` replaced by `parameters[N]`; nil when `$` has no number or the number is out of range.
    static func fill(_ format: String, with parameters: [String]) -> String? {
        var result = ""
        var rest = Substring(format)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard let index = Int(digits), index < parameters.count else { return nil }
            result += parameters[index]
            rest = rest.dropFirst(digits.count)
        }
        return result + rest
    }

    /// Java's `replaceFirst` / `replaceAll`: `$N` in `replacement` is group N, a backslash takes the next character
    /// as it is.
    static func substitute(_ pattern: Regex<AnyRegexOutput>, in base: String, with replacement: String, global: Bool)
        -> String
    {
        var result = ""
        var position = base.startIndex
        var searchFrom = base.startIndex
        while searchFrom <= base.endIndex, let match = try? pattern.firstMatch(in: base[searchFrom...]) {
            result += base[position..<match.range.lowerBound]
            result += expand(replacement, match)
            position = match.range.upperBound
            guard global else { break }
            if match.range.isEmpty {
                // An empty match: keep the next character and search after it, as Java does.
                guard position < base.endIndex else { break }
                result.append(base[position])
                position = base.index(after: position)
            }
            searchFrom = position
        }
        return result + base[position...]
    }

    private static func expand(_ replacement: String, _ match: Regex<AnyRegexOutput>.Match) -> String {
        var result = ""
        var characters = Substring(replacement)
        while let character = characters.popFirst() {
            switch character {
            case "\\":
                if let next = characters.popFirst() { result.append(next) }
            case "$":
                // Java takes the first digit, then more while the number still names a group.
                guard let first = characters.first, let firstDigit = first.wholeNumberValue, first.isASCII else {
                    result.append(character)
                    continue
                }
                characters = characters.dropFirst()
                var group = firstDigit
                while let next = characters.first, next.isASCII, let digit = next.wholeNumberValue,
                    group * 10 + digit < match.output.count
                {
                    group = group * 10 + digit
                    characters = characters.dropFirst()
                }
                if group < match.output.count, let text = match.output[group].substring { result += text }
            default:
                result.append(character)
            }
        }
        return result
    }
}
