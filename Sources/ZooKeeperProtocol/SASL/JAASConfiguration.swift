#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A JAAS login configuration file, as Java reads the one named by `-Djava.security.auth.login.config=FILE`:
/// sections (`Client { ... };`) of login modules, each with a control flag and `name="value"` options.
///
/// ZooKeeper clients read the `Client` section (or the one named by `zookeeper.sasl.clientconfig`): a
/// `DigestLoginModule` with `username` and `password` for DIGEST-MD5, or a `Krb5LoginModule` for Kerberos.
/// Servers read the `Server` section (or `zookeeper.sasl.serverconfig`): a `DigestLoginModule` lists its users as
/// `user_NAME="password"` options.
/// Comments are `//` and `/* */`. Java's `${property}` expansion is not done.
public struct JAASConfiguration: Sendable, Hashable {
    /// Why a file cannot be used, in one line naming the file, and the line when there is one.
    public struct Error: Swift.Error, Sendable, Hashable, CustomStringConvertible {
        public enum Kind: Sendable, Hashable {
            /// The file cannot be read (missing, a directory, no permission).
            case unreadable
            /// The file does not follow the JAAS syntax.
            case syntax
            /// The file is well-formed but does not give what is asked (no such section, options missing).
            case unusable
        }

        public var kind: Kind
        public var message: String
        public var description: String { message }

        /// Line ends in `message` (from quoted values) are written as `\n`, to keep it one line.
        public init(kind: Kind, message: String) {
            self.kind = kind
            self.message = message.escapingLineEnds
        }
    }

    public enum ControlFlag: String, Sendable, Hashable {
        case required, requisite, sufficient, optional
    }

    public struct LoginModule: Sendable, Hashable {
        /// The module's class, e.g. `org.apache.zookeeper.server.auth.DigestLoginModule`.
        public var className: String
        public var flag: ControlFlag
        /// Options in file order; a name given twice keeps its last value (as Java does).
        public var options: [(name: String, value: String)]

        public subscript(option name: String) -> String? {
            options.last { $0.name == name }?.value
        }

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.className == rhs.className && lhs.flag == rhs.flag
                && lhs.options.elementsEqual(rhs.options) { $0.name == $1.name && $0.value == $1.value }
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(className)
            hasher.combine(flag)
            for option in options {
                hasher.combine(option.name)
                hasher.combine(option.value)
            }
        }
    }

    /// The Kerberos options of a `Krb5LoginModule`, as Java's module reads them; kept for GSSAPI.
    public struct KerberosOptions: Sendable, Hashable {
        public var useKeyTab: Bool
        public var keyTab: String?
        public var principal: String?
        public var useTicketCache: Bool
        public var ticketCache: String?
        public var storeKey: Bool
        public var doNotPrompt: Bool

        public init(
            useKeyTab: Bool = false, keyTab: String? = nil, principal: String? = nil, useTicketCache: Bool = false,
            ticketCache: String? = nil, storeKey: Bool = false, doNotPrompt: Bool = false
        ) {
            self.useKeyTab = useKeyTab
            self.keyTab = keyTab
            self.principal = principal
            self.useTicketCache = useTicketCache
            self.ticketCache = ticketCache
            self.storeKey = storeKey
            self.doNotPrompt = doNotPrompt
        }
    }

    /// What a ZooKeeper client section asks for.
    public enum ClientLogin: Sendable, Hashable {
        case digest(username: String, password: String)
        case kerberos(KerberosOptions)
    }

    public static let digestLoginModule = "org.apache.zookeeper.server.auth.DigestLoginModule"
    public static let kerberosLoginModule = "com.sun.security.auth.module.Krb5LoginModule"
    /// The section ZooKeeper clients read unless `zookeeper.sasl.clientconfig` names another.
    public static let defaultClientSection = "Client"

    /// Sections by name, in file order.
    public private(set) var sections: [(name: String, modules: [LoginModule])]
    /// The file name used in messages.
    public let source: String

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.source == rhs.source
            && lhs.sections.elementsEqual(rhs.sections) { $0.name == $1.name && $0.modules == $1.modules }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(source)
        for section in sections {
            hasher.combine(section.name)
            hasher.combine(section.modules)
        }
    }

    public func section(_ name: String) -> [LoginModule]? {
        sections.first { $0.name == name }?.modules
    }

    /// Reads and parses the file at `path`.
    public init(contentsOf path: String) throws(Error) {
        guard let text = Self.readFile(path) else {
            let reason = String(cString: strerror(errno))
            throw Error(kind: .unreadable, message: "\(path): cannot read the JAAS file: \(reason)")
        }
        try self.init(parsing: text, source: path)
    }

    /// Parses JAAS text; `source` names it in messages.
    public init(parsing text: String, source: String = "JAAS configuration") throws(Error) {
        self.source = source
        var parser = Parser(text: text, source: source)
        sections = try parser.parseFile()
    }

    /// The login a ZooKeeper client makes with section `name` (`Client` by default).
    public func clientLogin(section name: String = defaultClientSection) throws(Error) -> ClientLogin {
        guard let modules = section(name) else {
            let known = sections.map(\.name)
            throw Error(
                kind: .unusable,
                message:
                    "\(source): no section '\(name)'"
                    + (known.isEmpty ? "" : " (it has: \(known.joined(separator: ", ")))"))
        }
        for module in modules {
            switch module.className {
            case Self.digestLoginModule:
                guard let username = module[option: "username"], let password = module[option: "password"] else {
                    throw Error(
                        kind: .unusable,
                        message: "\(source): section '\(name)': DigestLoginModule needs both username and password")
                }
                return .digest(username: username, password: password)
            case Self.kerberosLoginModule:
                return .kerberos(try kerberosOptions(module, section: name))
            default:
                continue
            }
        }
        throw Error(
            kind: .unusable,
            message: "\(source): section '\(name)' has neither a DigestLoginModule nor a Krb5LoginModule")
    }

    /// The options of `module`, a `Krb5LoginModule` of `section`, checked as Java checks them.
    public func kerberosOptions(_ module: LoginModule, section: String) throws(Error) -> KerberosOptions {
        func flag(_ option: String) throws(Error) -> Bool {
            switch module[option: option]?.lowercased() {
            case nil, "false": return false
            case "true": return true
            case let other?:
                throw Error(
                    kind: .unusable,
                    message: "\(source): section '\(section)': \(option) must be true or false, not '\(other)'")
            }
        }
        let options = KerberosOptions(
            useKeyTab: try flag("useKeyTab"), keyTab: module[option: "keyTab"], principal: module[option: "principal"],
            useTicketCache: try flag("useTicketCache"), ticketCache: module[option: "ticketCache"],
            storeKey: try flag("storeKey"), doNotPrompt: try flag("doNotPrompt"))
        if options.useKeyTab && options.keyTab == nil {
            throw Error(kind: .unusable, message: "\(source): section '\(section)': useKeyTab=true needs keyTab")
        }
        return options
    }

    private static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes += chunk[0..<count]
            if count < chunk.count {
                if ferror(file) != 0 { return nil }
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A tokenizer and parser for the JAAS syntax (Java's `ConfigFile`): words, quoted strings, `{ } ; =`.
private struct Parser {
    enum Token: Equatable {
        case word(String)
        case quoted(String)
        case symbol(Character)
        case end

        var shown: String {
            switch self {
            case .word(let text): "'\(text)'"
            case .quoted(let text): "\"\(text)\""
            case .symbol(let symbol): "'\(symbol)'"
            case .end: "the end of the file"
            }
        }
    }

    /// Scalars, not Characters: a blank and the combining mark after it are one Character, which would hide the
    /// blank (Java's reader goes by UTF-16 units).
    private let characters: [Unicode.Scalar]
    private let source: String
    private var index = 0
    private var line = 1
    private var tokenLine = 1

    init(text: String, source: String) {
        characters = Array(text.unicodeScalars)
        self.source = source
    }

    private func error(_ message: String) -> JAASConfiguration.Error {
        JAASConfiguration.Error(kind: .syntax, message: "\(source):\(tokenLine): \(message)")
    }

    mutating func parseFile() throws(JAASConfiguration.Error) -> [(
        name: String, modules: [JAASConfiguration.LoginModule]
    )] {
        var sections: [(name: String, modules: [JAASConfiguration.LoginModule])] = []
        while true {
            let token = try next()
            if token == .end { break }
            guard case .word(let name) = token else { throw error("expected a section name, found \(token.shown)") }
            guard try next() == .symbol("{") else { throw error("expected '{' after section \(name)") }
            var modules: [JAASConfiguration.LoginModule] = []
            while true {
                let token = try next()
                if token == .symbol("}") { break }
                guard case .word(let className) = token else {
                    throw error("expected a login module class or '}' in section \(name), found \(token.shown)")
                }
                modules.append(try parseModule(className))
            }
            guard try next() == .symbol(";") else { throw error("expected ';' after the '}' of section \(name)") }
            if sections.contains(where: { $0.name == name }) { throw error("section \(name) is given twice") }
            if modules.isEmpty { throw error("section \(name) has no login module") }
            sections.append((name, modules))
        }
        return sections
    }

    private mutating func parseModule(_ className: String) throws(JAASConfiguration.Error)
        -> JAASConfiguration.LoginModule
    {
        let flagToken = try next()
        guard case .word(let flagText) = flagToken,
            let flag = JAASConfiguration.ControlFlag(rawValue: flagText.lowercased())
        else {
            throw error(
                "expected a control flag (required, requisite, sufficient, optional) after \(className), found \(flagToken.shown)"
            )
        }
        var options: [(name: String, value: String)] = []
        while true {
            let token = try next()
            if token == .symbol(";") { break }
            guard case .word(let name) = token else {
                throw error("expected an option name or ';' after the options of \(className), found \(token.shown)")
            }
            guard try next() == .symbol("=") else { throw error("expected '=' after option \(name)") }
            switch try next() {
            case .word(let value), .quoted(let value):
                options.append((name, value))
            case let other:
                throw error("expected a value for option \(name), found \(other.shown)")
            }
        }
        return JAASConfiguration.LoginModule(className: className, flag: flag, options: options)
    }

    private mutating func next() throws(JAASConfiguration.Error) -> Token {
        try skipWhitespaceAndComments()
        tokenLine = line
        guard index < characters.count else { return .end }
        let character = characters[index]
        switch character {
        case "{", "}", ";", "=":
            index += 1
            return .symbol(Character(character))
        case "\"":
            index += 1
            var value = String.UnicodeScalarView()
            while index < characters.count, characters[index] != "\"" {
                if isLineEnd(at: index) { line += 1 }
                if characters[index] == "\\", index + 1 < characters.count {
                    index += 1
                }
                value.append(characters[index])
                index += 1
            }
            guard index < characters.count else { throw error("unterminated quoted string") }
            index += 1
            return .quoted(String(value))
        default:
            var word = String.UnicodeScalarView()
            while index < characters.count, !Self.isDelimiter(characters[index]) {
                word.append(characters[index])
                index += 1
            }
            guard !word.isEmpty else { throw error("unexpected character '\(character)'") }
            return .word(String(word))
        }
    }

    /// Whether a line ends at `position`: LF, CR, or the CR of a CRLF (its LF then ends nothing more).
    private func isLineEnd(at position: Int) -> Bool {
        switch characters[position] {
        case "\n": position == 0 || characters[position - 1] != "\r"
        case "\r": true
        default: false
        }
    }

    private static func isDelimiter(_ character: Unicode.Scalar) -> Bool {
        character.properties.isWhitespace || "{};=\"/".unicodeScalars.contains(character)
    }

    private mutating func skipWhitespaceAndComments() throws(JAASConfiguration.Error) {
        while index < characters.count {
            let character = characters[index]
            if isLineEnd(at: index) {
                line += 1
                index += 1
            } else if character.properties.isWhitespace {
                index += 1
            } else if character == "/", index + 1 < characters.count, characters[index + 1] == "/" {
                while index < characters.count, characters[index] != "\n", characters[index] != "\r" { index += 1 }
            } else if character == "/", index + 1 < characters.count, characters[index + 1] == "*" {
                tokenLine = line
                index += 2
                while index + 1 < characters.count, !(characters[index] == "*" && characters[index + 1] == "/") {
                    if isLineEnd(at: index) { line += 1 }
                    index += 1
                }
                guard index + 1 < characters.count else { throw error("unterminated /* comment") }
                index += 2
            } else {
                return
            }
        }
    }
}
