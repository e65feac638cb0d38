import ZooKeeper

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `find path [-name GLOB] [-regex RE] [-type TYPE] [-size +N|-N] [-newer|-older DURATION] [-owner SESSION]`:
/// the znodes of a subtree that match every test given, streamed in pre-order.
enum FindCommand: ShellCommand {
    /// Containers and TTL znodes cannot be told apart: servers show clients an ephemeral owner of 0 for them
    /// (Apache's `DataTree.getClientEphemeralOwner`), so they are `persistent` here.
    static let types = ["persistent", "ephemeral", "sequential"]

    static let spec = CommandSpec(
        name: "find",
        syntax:
            "path [-name glob] [-regex re] [-type persistent|ephemeral|sequential] [-size +N|-N] [-newer|-older duration] [-owner session] [-d depth]",
        summary: "List the znodes of a subtree that match tests",
        options: [
            CommandOption("name", value: true, help: "The name matches this shell pattern (*, ?, [...])"),
            CommandOption("regex", value: true, help: "The whole path matches this regular expression"),
            CommandOption("type", value: true, help: "The kind of znode", valueHint: .oneOf(types)),
            CommandOption("size", value: true, help: "Data larger than +N or smaller than -N bytes"),
            CommandOption("newer", value: true, help: "Changed within this long (30s, 5m, 2h, 1d)"),
            CommandOption("older", value: true, help: "Not changed for this long (30s, 5m, 2h, 1d)"),
            CommandOption("owner", value: true, help: "Ephemeral of this session (0x... or decimal)"),
            CommandOption("d", value: true, help: "Only this many levels below the path"),
        ],
        arguments: [.path], isZkCliCommand: false, printsData: true)

    /// What a znode must be to be printed.
    struct Tests {
        var name: String?
        var regex: Regex<AnyRegexOutput>?
        var type: String?
        var larger: Int32?
        var smaller: Int32?
        var changedAfter: Int64?
        var changedBefore: Int64?
        var owner: Int64?

        /// Whether a test looks at the stat (a name or a path alone does not).
        var needStat: Bool {
            (type.map { $0 != "sequential" } ?? false) || larger != nil || smaller != nil || changedAfter != nil
                || changedBefore != nil || owner != nil
        }

        func match(_ node: PipelinedWalk.Node) -> Bool {
            let name = String(node.path.split(separator: "/").last ?? "")
            if let pattern = self.name, fnmatch(pattern, name, 0) != 0 { return false }
            if let regex, (try? regex.wholeMatch(in: node.path)) == nil { return false }
            if let type, !FindCommand.isOfType(type, name: name, stat: node.stat) { return false }
            if let larger, node.stat.dataLength <= larger { return false }
            if let smaller, node.stat.dataLength >= smaller { return false }
            if let changedAfter, node.stat.mtime < changedAfter { return false }
            if let changedBefore, node.stat.mtime >= changedBefore { return false }
            if let owner, node.stat.ephemeralOwner != owner { return false }
            return true
        }
    }

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let tests = try parseTests(invocation, now: Int64(currentMilliseconds()))
        var walk = PipelinedWalk(client: shell.client)
        walk.maximumDepth = try invocation.depthLimit()
        // Each found znode's stat is in the JSON output only.
        walk.readsStat = tests.needStat || shell.format == .json
        var failures = 0
        try await walk.run(from: path) { failed, error in
            failures += 1
            shell.report(error, at: failed)
        } visit: { node in
            if tests.match(node) { shell.emit(.found(path: node.path, stat: node.stat)) }
        }
        if failures > 0 { throw CommandFailure.partial(failures) }
    }

    static func parseTests(_ invocation: CommandInvocation, now: Int64) throws -> Tests {
        func malformed(_ message: String) -> CommandFailure {
            CommandFailure(message + "\n" + spec.usage)
        }
        var tests = Tests()
        tests.name = invocation.value("name")
        if let text = invocation.value("regex") {
            do {
                tests.regex = try Regex(text)
            } catch {
                throw malformed("-regex: not a regular expression: \(text)")
            }
        }
        if let type = invocation.value("type") {
            guard types.contains(type) else { throw malformed("-type must be one of \(types.joined(separator: "|"))") }
            tests.type = type
        }
        if let text = invocation.value("size") {
            guard let sign = text.first, sign == "+" || sign == "-", let bytes = Int32(text.dropFirst()) else {
                throw malformed("-size must be +N (larger than N bytes) or -N (smaller): \(text)")
            }
            if sign == "+" { tests.larger = bytes } else { tests.smaller = bytes }
        }
        for (option, isNewer) in [("newer", true), ("older", false)] {
            guard let text = invocation.value(option) else { continue }
            guard let span = durationMilliseconds(text) else {
                throw malformed("-\(option) must be a duration such as 30s, 5m, 2h or 1d: \(text)")
            }
            if isNewer { tests.changedAfter = now - span } else { tests.changedBefore = now - span }
        }
        if let text = invocation.value("owner") {
            let owner =
                text.hasPrefix("0x")
                ? UInt64(text.dropFirst(2), radix: 16).map { Int64(bitPattern: $0) } : Int64(text)
            guard let owner else { throw malformed("-owner must be a session id (0x... or decimal): \(text)") }
            tests.owner = owner
        }
        return tests
    }

    /// `90`, `90s`, `5m`, `2h`, `1d`, `250ms` in milliseconds.
    static func durationMilliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let count = Int64(text.dropLast(suffix.count)), count >= 0 else { return nil }
            return count * scale
        }
        return Int64(text).flatMap { $0 >= 0 ? $0 * 1000 : nil }
    }

    /// The kind of a znode, from what its stat and name say: a non-zero owner is a session; sequential znodes
    /// end in a 10-digit counter.
    static func isOfType(_ type: String, name: String, stat: Stat) -> Bool {
        switch type {
        case "persistent": return stat.ephemeralOwner == 0
        case "ephemeral": return stat.ephemeralOwner != 0
        default: return name.count >= 10 && name.suffix(10).allSatisfy { $0.isASCII && $0.isNumber }
        }
    }

    static func currentMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }
}
