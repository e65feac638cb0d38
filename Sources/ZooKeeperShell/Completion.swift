import ZooKeeper

/// Tab completion: command names for the first word, the command's options for a word starting with `-`,
/// znode paths (children read live from the server, no watch) for a word starting with `/`, and the few fixed
/// values some commands take (`printwatches on|off`, `addWatch -m MODE`).
public struct CompletionProvider: Sendable {
    /// The names of a node's children, or nil when they cannot be had (no node, no permission, no server, or
    /// too slow).
    public typealias ChildLister = @Sendable (String) async -> [String]?

    /// What to insert at the cursor, and the candidates to list when the word stays ambiguous.
    public struct Result: Sendable, Hashable {
        public var insertion: String
        public var candidates: [String]

        public init(insertion: String, candidates: [String]) {
            self.insertion = insertion
            self.candidates = candidates
        }
    }

    let listChildren: ChildLister

    public init(listChildren: @escaping ChildLister) {
        self.listChildren = listChildren
    }

    /// Completes the last word of `textBeforeCursor`.
    public func complete(_ textBeforeCursor: String) async -> Result {
        let endsWithSpace = textBeforeCursor.last.map { $0 == " " || $0 == "\t" } ?? true
        let words = textBeforeCursor.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let current = endsWithSpace ? "" : (words.last ?? "")
        let previous = endsWithSpace ? words : Array(words.dropLast())
        guard let command = previous.first else {
            return Self.finish(current, among: CommandRegistry.completableNames, separator: " ")
        }
        if current.hasPrefix("/") {
            return await completePath(current)
        }
        guard let spec = CommandRegistry.spec(command) else { return Result(insertion: "", candidates: []) }
        switch spec.position(after: Array(previous.dropFirst())) {
        case .optionValue(let option):
            if case .oneOf(let values) = option.valueHint {
                return Self.finish(current, among: values, separator: " ")
            }
        case .argument(.oneOf(let values)) where !current.hasPrefix("-"):
            return Self.finish(current, among: values, separator: " ")
        case .argument(.command):
            return Self.finish(current, among: CommandRegistry.completableNames, separator: " ")
        case .argument:
            break
        }
        if current.hasPrefix("-") {
            let used = Set(previous.dropFirst())
            let options = CommandRegistry.optionNames(command).filter { !used.contains($0) }
            return Self.finish(current, among: options, separator: " ")
        }
        return Result(insertion: "", candidates: [])
    }

    private func completePath(_ word: String) async -> Result {
        let slash = word.lastIndex(of: "/")!
        let parent = slash == word.startIndex ? "/" : String(word[..<slash])
        let prefix = String(word[word.index(after: slash)...])
        guard ZooKeeperPath.problem(with: parent) == nil, let children = await listChildren(parent) else {
            return Result(insertion: "", candidates: [])
        }
        // A unique child is completed without a trailing space, so that `/` and Tab go on down the tree.
        return Self.finish(prefix, among: ShellFormat.javaSorted(children), separator: "")
    }

    /// The common extension of `typed` among the `choices` that start with it; a unique match also gets
    /// `separator`.
    static func finish(_ typed: String, among choices: [String], separator: String) -> Result {
        let matches = choices.filter { $0.hasPrefix(typed) }
        guard let first = matches.first else { return Result(insertion: "", candidates: []) }
        if matches.count == 1 {
            return Result(insertion: String(first.dropFirst(typed.count)) + separator, candidates: matches)
        }
        var common = first
        for match in matches.dropFirst() {
            while !match.hasPrefix(common) { common.removeLast() }
        }
        return Result(insertion: String(common.dropFirst(typed.count)), candidates: matches)
    }
}

extension Shell {
    /// Completion against this shell's session: children are read without a watch, and a listing that takes
    /// longer than `timeout` is given up so that typing never freezes.
    public func completionProvider(timeout: Duration = .milliseconds(500)) -> CompletionProvider {
        CompletionProvider { [self] parent in
            let client = self.client
            guard client.state == .connected || client.state == .connectedReadOnly else { return nil }
            return await firstResult(within: timeout) { try? await client.getChildren(parent) } ?? nil
        }
    }
}
