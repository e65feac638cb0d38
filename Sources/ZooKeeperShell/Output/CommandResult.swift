import ZooKeeper
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a command prints, as data: the one formatter renders it as zkCli's text (byte for byte) or as one JSON
/// object on one line (the schema is in zkcli(1), JSON OUTPUT).
enum CommandResult: Sendable {
    /// `ls`, `ls -s`.
    case children(path: String, children: [String], stat: Stat?)
    /// One znode of a walk (`ls -R`), streamed.
    case subtreeNode(path: String)
    /// `get`: the value (nil for a null value), how text output shows it, and the stat with `-s`.
    case data(path: String, data: [UInt8]?, shownAs: DataRendering, stat: Stat?)
    case stat(path: String, stat: Stat)
    case acl(path: String, acl: [ACL], stat: Stat?)
    case ephemerals(path: String, paths: [String])
    case childCount(path: String, count: Int)
    case identities([ClientInfo])
    /// `listquota`: the limits and the usage, as their znodes hold them.
    case quota(path: String, limits: String, usage: String)
    /// `listquota` of a znode without a quota (JSON only: zkCli's text says so on stderr).
    case noQuota(path: String)
    /// `config`; with `-c` only the version and the client addresses.
    case config(data: [UInt8]?, clientOnly: Bool, stat: Stat?)
    case version(String)
    /// A znode of `tree`: drawn under its parent, with its data size and child count on `-s`.
    case treeNode(PipelinedWalk.Node, root: String, sizes: Bool)
    /// A znode `find` matched.
    case found(path: String, stat: Stat)
    /// A znode whose data `grep` matched: the matching lines, or nil for `-l`.
    case dataMatch(path: String, lines: [String]?)
    /// A subtree `du` measured.
    case diskUsage(DuCommand.Usage, humanReadable: Bool)
    /// A path where `diff`'s two sides differ.
    case difference(DiffCommand.Difference)
    /// A server's answer to a four-letter word (under a heading when several servers answer).
    case fourLetterWord(server: String, word: String, answer: String, heading: Bool)
    /// A member of the ensemble, as `srvr` described it.
    case ensembleMember(EnsembleCommand.Member)
    /// A change `watch` saw.
    case change(WatchCommand.Change)
    /// A contender of a lock or election (`locks`, `leader`).
    case contender(path: String, LockContender)
    /// A Curator SharedCount (`counter`); the version when the value was read.
    case counter(path: String, value: Int32, version: Int32?)
    /// Where a barrier stands (`barrier`): down, raised, entered, left.
    case barrier(path: String, state: String)
    /// `pwd`.
    case workingDirectory(String)
    /// A watch event (the default watcher).
    case event(WatchedEvent)

    /// How `get` shows a value as text.
    enum DataRendering: Sendable {
        case text
        case base64
        case hexDump
    }

    /// zkCli's text, each line ending in a newline.
    var text: String {
        switch self {
        case .children(_, let children, let stat):
            return ShellFormat.list(ShellFormat.javaSorted(children)) + "\n" + (stat.map(ShellFormat.stat) ?? "")
        case .subtreeNode(let path):
            return path + "\n"
        case .data(_, let data, let shownAs, let stat):
            let bytes = data ?? Array("null".utf8)
            let value =
                switch shownAs {
                case .text: ShellFormat.text(data)
                case .base64: Base64.encode(bytes)
                case .hexDump: ShellFormat.hexDump(bytes)
                }
            return value + "\n" + (stat.map(ShellFormat.stat) ?? "")
        case .stat(_, let stat):
            return ShellFormat.stat(stat)
        case .acl(_, let acl, let stat):
            return acl.map { ShellFormat.acl($0) + "\n" }.joined() + (stat.map(ShellFormat.stat) ?? "")
        case .ephemerals(_, let paths):
            return ShellFormat.list(paths) + "\n"
        case .childCount(_, let count):
            return "\(count)\n"
        case .identities(let identities):
            return "Auth scheme: User\n" + identities.map { "\($0.authScheme): \($0.user)\n" }.joined()
        case .quota(let path, let limits, let usage):
            return "Output quota for \(path) \(QuotaStats(limits)?.description ?? limits)\n"
                + "Output stat for \(path) \(QuotaStats(usage)?.description ?? usage)\n"
        case .noQuota:
            return ""
        case .config(let data, let clientOnly, let stat):
            let text = ShellFormat.text(data)
            return (clientOnly ? ConfigCommand.clientConfigString(text) : text) + "\n"
                + (stat.map(ShellFormat.stat) ?? "")
        case .version(let version):
            return "ZooKeeper CLI version: \(version)\n"
        case .treeNode(let node, let root, let sizes):
            var line = ""
            if node.depth == 0 {
                line = root
            } else {
                for isLast in node.lastAtLevel.dropLast() { line += isLast ? "    " : "│   " }
                line += node.lastAtLevel.last == true ? "└── " : "├── "
                line += node.path.split(separator: "/").last.map(String.init) ?? node.path
            }
            if sizes {
                let children = node.stat.numChildren == 1 ? "child" : "children"
                line += " (\(node.stat.dataLength) B, \(node.stat.numChildren) \(children))"
            }
            return line + "\n"
        case .found(let path, _):
            return path + "\n"
        case .dataMatch(let path, let lines):
            guard let lines else { return path + "\n" }
            return lines.map { "\(path):\($0)\n" }.joined()
        case .diskUsage(let usage, let humanReadable):
            let bytes = humanReadable ? DuCommand.humanReadable(usage.bytes) : "\(usage.bytes)"
            return "\(bytes)\t\(usage.znodes)\t\(usage.path)\n"
        case .workingDirectory(let path):
            return path + "\n"
        case .contender(_, let contender):
            let role =
                contender.kind == .curatorLatch
                ? (contender.isHolder ? "leads" : "follows")
                : (contender.isHolder ? "holds" : "waits")
            let name = contender.node.split(separator: "/").last.map(String.init) ?? contender.node
            return "\(role) \(name) session 0x\(ShellFormat.hex(contender.sessionID)) owner "
                + "\(contender.owner ?? "-") since \(Self.iso8601(milliseconds: contender.since))\n"
        case .counter(_, let value, _):
            return "\(value)\n"
        case .barrier(let path, let state):
            return "\(path) \(state)\n"
        case .difference(let difference):
            switch difference.kind {
            case .removed: return "- \(difference.path)\n"
            case .added: return "+ \(difference.path)\n"
            case .changed:
                let what = [difference.data ? "data" : nil, difference.acl ? "acl" : nil].compactMap { $0 }
                return "~ \(difference.path) \(what.joined(separator: ","))\n"
            }
        case .fourLetterWord(let server, _, let answer, let heading):
            let text = answer.hasSuffix("\n") || answer.isEmpty ? answer : answer + "\n"
            return heading ? "== \(server) ==\n" + text : text
        case .ensembleMember(let member):
            return EnsembleCommand.table([member])
        case .change(let change):
            var line = "\(Self.iso8601(milliseconds: change.timeMilliseconds)) \(change.event) \(change.path)"
            if let version = change.version {
                line += " version \(version)"
                if let previous = change.previousVersion, previous != version { line += " (was \(previous))" }
            }
            if change.whileDisconnected { line += " while disconnected" }
            if let data = change.data { line += "\t" + ShellFormat.text(data) }
            return line + "\n"
        case .event(let event):
            return "\nWATCHER::\n\n\(event)\n"
        }
    }

    /// The result as one JSON object.
    var json: JSONValue {
        switch self {
        case .children(let path, let children, let stat):
            return .object(
                [("path", .string(path)), ("children", .strings(ShellFormat.javaSorted(children)))]
                    + Self.statMember(stat))
        case .subtreeNode(let path):
            return .object([("path", .string(path))])
        case .data(let path, let data, let shownAs, let stat):
            return .object([("path", .string(path))] + Self.dataMembers(data, shownAs) + Self.statMember(stat))
        case .stat(let path, let stat):
            return .object([("path", .string(path))] + Self.statMember(stat))
        case .acl(let path, let acl, let stat):
            return .object([("path", .string(path)), ("acl", .array(acl.map(Self.json)))] + Self.statMember(stat))
        case .ephemerals(let path, let paths):
            return .object([("path", .string(path)), ("ephemerals", .strings(paths))])
        case .childCount(let path, let count):
            return .object([("path", .string(path)), ("count", .number(count))])
        case .identities(let identities):
            return .object([
                (
                    "identities",
                    .array(
                        identities.map { .object([("scheme", .string($0.authScheme)), ("user", .string($0.user))]) })
                )
            ])
        case .quota(let path, let limits, let usage):
            return .object([
                ("path", .string(path)), ("limits", Self.quotaJSON(limits)), ("usage", Self.quotaJSON(usage)),
            ])
        case .noQuota(let path):
            return .object([("path", .string(path)), ("limits", .null), ("usage", .null)])
        case .config(let data, let clientOnly, let stat):
            let text = ShellFormat.text(data)
            var members: [(String, JSONValue)] = []
            if clientOnly {
                let line = ConfigCommand.clientConfigString(text)
                let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                let addresses = parts.count > 1 ? parts[1].split(separator: ",").map(String.init) : []
                members = [("version", .string(String(parts[0]))), ("clientAddresses", .strings(addresses))]
            } else {
                members = [("config", data == nil ? .null : .string(text))]
            }
            return .object(members + Self.statMember(stat))
        case .version(let version):
            return .object([("version", .string(version))])
        case .treeNode(let node, _, _):
            return .object([
                ("path", .string(node.path)), ("depth", .number(node.depth)),
                ("dataLength", .number(node.stat.dataLength)), ("numChildren", .number(node.stat.numChildren)),
            ])
        case .found(let path, let stat):
            return .object([("path", .string(path))] + Self.statMember(stat))
        case .dataMatch(let path, let lines):
            return .object([("path", .string(path))] + (lines.map { [("lines", .strings($0))] } ?? []))
        case .diskUsage(let usage, _):
            return .object([
                ("path", .string(usage.path)), ("bytes", .number(usage.bytes)), ("znodes", .number(usage.znodes)),
            ])
        case .workingDirectory(let path):
            return .object([("path", .string(path))])
        case .contender(let path, let contender):
            return .object([
                ("path", .string(path)), ("node", .string(contender.node)), ("kind", .string(contender.kind.rawValue)),
                ("holds", .bool(contender.isHolder)), ("sequence", .string(contender.sequence)),
                ("session", .number(contender.sessionID)),
                ("sessionHex", .string("0x" + ShellFormat.hex(contender.sessionID))),
                ("owner", .string(contender.owner)), ("since", .string(Self.iso8601(milliseconds: contender.since))),
                ("sinceMs", .number(contender.since)), ("czxid", .number(contender.creationZxid)),
            ])
        case .counter(let path, let value, let version):
            return .object([
                ("path", .string(path)), ("count", .number(value)), ("version", version.map { .number($0) } ?? .null),
            ])
        case .barrier(let path, let state):
            return .object([("path", .string(path)), ("barrier", .string(state))])
        case .difference(let difference):
            return .object([
                ("path", .string(difference.path)), ("change", .string(difference.kind.rawValue)),
                ("data", .bool(difference.data)), ("acl", .bool(difference.acl)),
            ])
        case .fourLetterWord(let server, let word, let answer, _):
            return .object([("server", .string(server)), ("word", .string(word)), ("answer", .string(answer))])
        case .ensembleMember(let member):
            return .object([
                ("server", .string(member.server)), ("up", .bool(member.mode != nil)), ("mode", .string(member.mode)),
                ("zxid", member.zxid.map { .number($0) } ?? .null), ("latency", .string(member.latency)),
                ("connections", member.connections.map { .number($0) } ?? .null),
                ("outstanding", member.outstanding.map { .number($0) } ?? .null),
                ("lag", member.lag.map { .number($0) } ?? .null),
            ])
        case .change(let change):
            var members: [(String, JSONValue)] = [
                ("time", .string(Self.iso8601(milliseconds: change.timeMilliseconds))),
                ("timeMs", .number(change.timeMilliseconds)), ("event", .string("\(change.event)")),
                ("path", .string(change.path)), ("version", change.version.map { .number($0) } ?? .null),
                ("previousVersion", change.previousVersion.map { .number($0) } ?? .null),
            ]
            if change.whileDisconnected { members.append(("whileDisconnected", .bool(true))) }
            if let data = change.data { members += Self.dataMembers(data, .text) }
            return .object(members)
        case .event(let event):
            return .object([
                ("event", .string("\(event.type)")), ("state", .string("\(event.state)")),
                ("path", .string(event.path)), ("zxid", .number(event.zxid)),
            ])
        }
    }

    /// The result as `format` prints it (JSON: one line).
    func rendered(as format: OutputFormat) -> String {
        switch format {
        case .text: text
        case .json: json.text + "\n"
        }
    }

    // MARK: JSON pieces

    private static func statMember(_ stat: Stat?) -> [(String, JSONValue)] {
        guard let stat else { return [] }
        return [("stat", json(stat))]
    }

    /// The stat with zkCli's field names, numbers as numbers, times in ISO 8601 UTC and epoch milliseconds.
    static func json(_ stat: Stat) -> JSONValue {
        .object([
            ("cZxid", .number(stat.czxid)),
            ("ctime", .string(iso8601(milliseconds: stat.ctime))),
            ("ctimeMs", .number(stat.ctime)),
            ("mZxid", .number(stat.mzxid)),
            ("mtime", .string(iso8601(milliseconds: stat.mtime))),
            ("mtimeMs", .number(stat.mtime)),
            ("pZxid", .number(stat.pzxid)),
            ("cversion", .number(stat.cversion)),
            ("dataVersion", .number(stat.version)),
            ("aclVersion", .number(stat.aversion)),
            ("ephemeralOwner", .number(stat.ephemeralOwner)),
            // Session ids pass 2^53, beyond what doubles (JavaScript, jq before 1.7) keep exactly.
            ("ephemeralOwnerHex", .string("0x" + ShellFormat.hex(stat.ephemeralOwner))),
            ("dataLength", .number(stat.dataLength)),
            ("numChildren", .number(stat.numChildren)),
        ])
    }

    /// `data` and `encoding`: UTF-8 text when the bytes are valid UTF-8 (and not asked otherwise), else
    /// base64; `hex` for `-x`. A null value is `"data": null`.
    static func dataMembers(_ data: [UInt8]?, _ shownAs: DataRendering) -> [(String, JSONValue)] {
        guard let data else { return [("data", .null), ("encoding", .null)] }
        switch shownAs {
        case .text:
            if let text = String(validating: data, as: UTF8.self) {
                return [("data", .string(text)), ("encoding", "utf-8")]
            }
            return [("data", .string(Base64.encode(data))), ("encoding", "base64")]
        case .base64:
            return [("data", .string(Base64.encode(data))), ("encoding", "base64")]
        case .hexDump:
            let digits = Array("0123456789abcdef")
            var hex = ""
            for byte in data {
                hex.append(digits[Int(byte >> 4)])
                hex.append(digits[Int(byte & 0xF)])
            }
            return [("data", .string(hex)), ("encoding", "hex")]
        }
    }

    static func json(_ acl: ACL) -> JSONValue {
        .object([
            ("scheme", .string(acl.id.scheme)), ("id", .string(acl.id.id)), ("perms", .string("\(acl.permissions)")),
            ("permissions", .number(acl.permissions.rawValue)),
        ])
    }

    /// A quota znode's `count=..,bytes=..` text as an object of numbers (-1: no limit); the text itself when it
    /// does not parse.
    static func quotaJSON(_ text: String) -> JSONValue {
        guard let stats = QuotaStats(text) else { return .string(text) }
        let keys = ["count", "bytes"] + stats.values.keys.filter { $0 != "count" && $0 != "bytes" }.sorted()
        return .object(keys.map { ($0, .number(stats[$0])) })
    }

    /// `2026-11-29T20:25:00.123Z`.
    static func iso8601(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var fraction = milliseconds % 1000
        if fraction < 0 {
            seconds -= 1
            fraction += 1000
        }
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return String(milliseconds) }
        func padded(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(Int64(parts.tm_year) + 1900, 4))-\(padded(Int64(parts.tm_mon) + 1, 2))-"
            + "\(padded(Int64(parts.tm_mday), 2))T\(padded(Int64(parts.tm_hour), 2)):\(padded(Int64(parts.tm_min), 2)):"
            + "\(padded(Int64(parts.tm_sec), 2)).\(padded(fraction, 3))Z"
    }
}
