import Synchronization
import ZooKeeper

/// Completion of a whole `zkcli` command line, for the bash, zsh and fish scripts in `completions/`: on Tab
/// they run `zkcli --complete -- WORDS...` and show what it prints. zkcli's own options come first; then a
/// one-shot command's name, its options, fixed values and znode paths, read live from the server named by
/// `-server`, as the REPL completes them.
///
/// The reply is quiet by design: nothing but candidates on stdout, and nothing at all when the server cannot
/// be reached within the timeout.
public struct CommandLineCompletion: Sendable {
    /// What the shell should do with the reply.
    public enum Kind: String, Sendable, Hashable {
        /// Offer the candidates (a unique one is completed with a space after it).
        case words
        /// Use the shell's own completion of file names.
        case files
        /// Use the shell's own completion of directory names.
        case directories
    }

    public struct Candidate: Sendable, Hashable {
        public var value: String
        /// A few words on it, for shells that show them (zsh, fish); empty for znode paths.
        public var help: String

        public init(_ value: String, help: String = "") {
            self.value = value
            self.help = help
        }
    }

    public struct Reply: Sendable, Hashable {
        public var kind: Kind
        public var candidates: [Candidate]

        public init(kind: Kind = .words, candidates: [Candidate] = []) {
            self.kind = kind
            self.candidates = candidates
        }

        /// What `zkcli --complete` prints: the kind on the first line, then one candidate per line, its help
        /// after a tab.
        public var text: String {
            var text = kind.rawValue + "\n"
            for candidate in candidates {
                text += candidate.help.isEmpty ? candidate.value : candidate.value + "\t" + candidate.help
                text += "\n"
            }
            return text
        }
    }

    /// The names of a node's children, or nil when they cannot be had.
    public typealias ChildLister = CompletionProvider.ChildLister

    public let programOptions: [ProgramOption]

    /// Completion of zkcli's options (`ProgramOptions.all` and the argument parser's own) and commands.
    public init(programOptions: [ProgramOption] = ProgramOptions.all + ProgramOptions.standard) {
        self.programOptions = programOptions
    }

    /// Completes the last of `words` (the words after the program name; the last one is the word under the
    /// cursor, empty after a space). Znode paths come from a short session with the server named by
    /// `-server` (default localhost:2181), given up after `timeout`.
    public func complete(_ words: [String], timeout: Duration = .seconds(1)) async -> Reply {
        let deadline = ContinuousClock.now + timeout
        let session = LockedValue<CompletionSession?>(nil)
        let reply = await complete(words) { server, readOnly in
            let opened = CompletionSession(server: server, readOnly: readOnly, deadline: deadline)
            session.set(opened)
            return { parent in await opened.children(of: parent) }
        }
        await session.get()?.close()
        return reply
    }

    /// `complete(_:timeout:)` with the way of listing children given: `connect(server, readOnly)` is called
    /// at most once, and only when a path is to be completed.
    func complete(_ words: [String], connect: @escaping @Sendable (String, Bool) -> ChildLister) async -> Reply {
        let current = words.last ?? ""
        let scan = scanProgramOptions(Array(words.dropLast()))
        if let option = scan.awaitingValue {
            return Self.value(of: option, current)
        }
        guard let command = scan.command else {
            if current.hasPrefix("-") {
                return Reply(
                    candidates: programOptions.filter { !$0.names.contains(where: scan.used.contains) }.flatMap {
                        option in option.names.filter { $0.hasPrefix(current) }.map { Candidate($0, help: option.help) }
                    })
            }
            return Reply(
                candidates: CommandRegistry.completableNames.filter { $0.hasPrefix(current) }.map {
                    Candidate($0, help: CommandRegistry.summary($0))
                })
        }
        // The REPL's completion does the rest. A session is opened only when a path is to be listed, and never
        // for --embedded, whose server would be a new, empty one.
        let lister = LockedValue<ChildLister?>(nil)
        let provider = CompletionProvider { parent in
            guard let server = scan.settings.completionServer else { return nil }
            let list =
                lister.get()
                ?? {
                    let opened = connect(server, scan.settings.readOnly)
                    lister.set(opened)
                    return opened
                }()
            return await list(parent)
        }
        if current.hasPrefix("/") {
            return Reply(candidates: await Self.paths(current, provider).map { Candidate($0) })
        }
        let spec = CommandRegistry.spec(command[0])
        let position = spec?.position(after: Array(command.dropFirst()))
        if current.isEmpty, case .argument(.path)? = position {
            return Reply(candidates: await Self.paths("/", provider).map { Candidate($0) })
        }
        if case .optionValue(let option)? = position, option.valueHint == .file {
            return Reply(kind: .files)
        }
        let text = (command + [current]).joined(separator: " ")
        let result = await provider.complete(text)
        let optionHelp = CommandRegistry.optionHelp(command[0])
        return Reply(candidates: result.candidates.map { Candidate($0, help: optionHelp[$0] ?? "") })
    }

    /// What the words before the cursor say.
    struct ProgramScan: Sendable {
        /// The options given so far.
        var settings = ProgramSettings()
        /// The spellings of the program options already given.
        var used: Set<String> = []
        /// The option whose value is being typed.
        var awaitingValue: ProgramOption?
        /// The command and its words so far, once it has started.
        var command: [String]?
    }

    /// zkcli reads options up to the first word that is not one; the command starts there.
    func scanProgramOptions(_ words: [String]) -> ProgramScan {
        var scan = ProgramScan()
        var index = 0
        while index < words.count, words[index].hasPrefix("-"), words[index] != "-" {
            let word = words[index]
            // `--data-dir=DIR`, `-server=HOST:PORT`: the value is attached.
            if let equals = word.firstIndex(of: "="),
                let option = programOptions.first(where: { $0.names.contains(String(word[..<equals])) }),
                option.takesValue
            {
                scan.used.insert(option.name)
                _ = option.apply(&scan.settings, String(word[word.index(after: equals)...]))
                index += 1
                continue
            }
            scan.used.insert(word)
            guard let option = programOptions.first(where: { $0.names.contains(word) }) else {
                index += 1
                continue
            }
            guard option.takesValue else {
                _ = option.apply(&scan.settings, "")
                index += 1
                continue
            }
            guard index + 1 < words.count else {
                scan.awaitingValue = option
                return scan
            }
            _ = option.apply(&scan.settings, words[index + 1])
            index += 2
        }
        if index < words.count { scan.command = Array(words[index...]) }
        return scan
    }

    private static func value(of option: ProgramOption, _ typed: String) -> Reply {
        switch option.value {
        case .file: Reply(kind: .files)
        case .directory: Reply(kind: .directories)
        case .oneOf(let values): Reply(candidates: values.filter { $0.hasPrefix(typed) }.map { Candidate($0) })
        case .none, .text, .number: Reply()
        }
    }

    /// The paths one level below `typed`'s parent that start with `typed`. When only one matches, its own
    /// children are listed too: the shell then stops at it without a space and shows what lies below, while a
    /// unique leaf is completed with a space.
    static func paths(_ typed: String, _ provider: CompletionProvider) async -> [String] {
        let slash = typed.lastIndex(of: "/")!
        let parent = slash == typed.startIndex ? "/" : String(typed[..<slash])
        let matches = await provider.complete("ls " + typed).candidates.map { ZooKeeperPath.join(parent, $0) }
        guard matches.count == 1, let only = matches.first else { return matches }
        let below = await provider.complete("ls " + only + "/").candidates.map { ZooKeeperPath.join(only, $0) }
        return matches + below
    }
}

/// A short session for completing paths from outside the shell: every listing ends by one deadline, and the
/// session is closed (within a bound too) so that none is left on the server to time out.
final class CompletionSession: Sendable {
    private let client: ZooKeeperClient?
    private let deadline: ContinuousClock.Instant

    init(server: String, readOnly: Bool, deadline: ContinuousClock.Instant) {
        self.deadline = deadline
        var settings = ZooKeeperClient.Configuration()
        // The server raises it to its minimum; if the close is lost, the session goes soon all the same.
        settings.sessionTimeout = .seconds(2)
        settings.canBeReadOnly = readOnly
        settings.requestTimeoutWhileDisconnected = deadline - ContinuousClock.now
        settings.maximumReconnectDelay = .milliseconds(100)
        client = try? ZooKeeperClient(connectString: server, configuration: settings)
    }

    func children(of parent: String) async -> [String]? {
        guard let client else { return nil }
        let remaining = deadline - ContinuousClock.now
        guard remaining > .zero else { return nil }
        return await firstResult(within: remaining) { try? await client.getChildren(parent) } ?? nil
    }

    func close() async {
        guard let client else { return }
        _ = await firstResult(within: .milliseconds(500)) { await client.close() }
    }
}

/// Runs `body` and returns its result, or nil once `timeout` has passed (the body is then abandoned, not
/// awaited: a slow server must not hold up typing).
func firstResult<T: Sendable>(within timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let resumed = Mutex(false)
        let resume: @Sendable (T?) -> Void = { result in
            let first = resumed.withLock { done in
                defer { done = true }
                return !done
            }
            if first { continuation.resume(returning: result) }
        }
        Task { resume(await body()) }
        Task {
            try? await Task.sleep(for: timeout)
            resume(nil)
        }
    }
}

/// A value shared between the closures of one completion.
final class LockedValue<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func get() -> Value { value.withLock { $0 } }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
}
