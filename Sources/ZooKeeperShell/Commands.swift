import ZooKeeper

/// The commands that need a session, each as zkCli's `CliCommand` parses and runs it.
extension Shell {
    // MARK: Helpers

    /// Parses `words` with the options of `name`; a parse error is commons-cli's message.
    func parse(_ words: [String], as name: String) throws -> (ParsedCommandLine, CommandTable.Entry) {
        guard let entry = CommandTable.entry(name) else { throw CommandFailure("unknown command \(name)") }
        do {
            return (try entry.parser.parse(words), entry)
        } catch {
            throw CommandFailure(error.message)
        }
    }

    /// zkCli's deprecated `cmd path watch` forms: with more than one argument, the note goes to stderr, the third
    /// word becomes `-w` and the words are parsed again.
    func upgradingDeprecatedWatch(
        _ line: ParsedCommandLine, _ words: [String], as name: String, use replacement: String
    ) throws -> ParsedCommandLine {
        guard line.arguments.count > 2 else { return line }
        err("'\(name) path [watch]' has been deprecated. Please use '\(replacement)' instead.")
        var rewritten = words
        rewritten[2] = "-w"
        return try parse(rewritten, as: name).0
    }

    /// Runs a client call, turning its error into zkCli's message.
    func zk<T>(_ body: () async throws(ZooKeeperError) -> T) async throws -> T {
        // A command cancelled by Ctrl-C stops before its next request.
        try Task.checkCancellation()
        do {
            return try await body()
        } catch {
            throw CommandFailure(error)
        }
    }

    /// A malformed number or value: the message, then the usage line.
    func malformed(_ message: String, _ entry: CommandTable.Entry) -> CommandFailure {
        CommandFailure(message + "\n" + entry.usage)
    }

    /// An optional `-v version` value.
    func version(_ line: ParsedCommandLine, _ entry: CommandTable.Entry) throws -> Int32 {
        guard let text = line.value("v") else { return -1 }
        guard let version = Self.javaInt(text) else {
            throw malformed("-v argument must be an int value", entry)
        }
        return version
    }

    // MARK: Reading

    func ls(_ words: [String]) async throws {
        var (line, entry) = try parse(words, as: "ls")
        if line.has("?") {
            output.write("usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch\n", to: .output)
        }
        line = try upgradingDeprecatedWatch(line, words, as: "ls", use: "ls [-w] path")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        let watch = line.has("w")
        if line.has("R") {
            try await visitSubtree(path, watch: watch) { visited in self.out(visited) }
        } else if line.has("s") {
            let (children, stat) = try await zk { () async throws(ZooKeeperError) in
                try await client.getChildrenWithStat(path, watch: watch)
            }
            out(ShellFormat.list(ShellFormat.javaSorted(children)))
            printStat(stat)
        } else {
            let children = try await zk { () async throws(ZooKeeperError) in
                try await client.getChildren(path, watch: watch)
            }
            out(ShellFormat.list(ShellFormat.javaSorted(children)))
        }
    }

    /// ZKUtil.visitSubTreeDFS: the node (read first, so that NoNode and NoAuth surface), then for each node all
    /// its sorted children's paths followed by a visit of each child. Nodes that vanish meanwhile are skipped.
    func visitSubtree(_ root: String, watch: Bool, _ visit: (String) async throws -> Void) async throws {
        _ = try await zk { () async throws(ZooKeeperError) in try await client.getData(root, watch: watch) }
        try await visit(root)
        try await visitChildren(of: root, watch: watch, visit)
    }

    private func visitChildren(of path: String, watch: Bool, _ visit: (String) async throws -> Void) async throws {
        try Task.checkCancellation()
        let children: [String]
        do {
            children = ShellFormat.javaSorted(try await client.getChildren(path, watch: watch))
        } catch  where error.code == .noNode {
            return
        } catch {
            throw CommandFailure(error)
        }
        let paths = children.map { ZooKeeperPath.join(path, $0) }
        for child in paths { try await visit(child) }
        for child in paths { try await visitChildren(of: child, watch: watch, visit) }
    }

    func get(_ words: [String]) async throws {
        var (line, entry) = try parse(words, as: "get")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        line = try upgradingDeprecatedWatch(line, words, as: "get", use: "get [-s] [-w] path")
        let path = line.arguments[1]
        let watch = line.has("w")
        let (data, stat) = try await zk { () async throws(ZooKeeperError) in
            try await client.getData(path, watch: watch)
        }
        let bytes = data ?? Array("null".utf8)
        if line.has("x") {
            out(ShellFormat.hexDump(bytes))
        } else if line.has("b") {
            out(Base64.encode(bytes))
        } else {
            out(ShellFormat.text(data))
        }
        if line.has("s") { printStat(stat) }
    }

    func stat(_ words: [String]) async throws {
        var (line, entry) = try parse(words, as: "stat")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        line = try upgradingDeprecatedWatch(line, words, as: "stat", use: "stat [-w] path")
        let path = line.arguments[1]
        let watch = line.has("w")
        let stat = try await zk { () async throws(ZooKeeperError) in try await client.exists(path, watch: watch) }
        guard let stat else { throw CommandFailure(ZooKeeperError(.noNode, path: path)) }
        printStat(stat)
    }

    func getAcl(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "getAcl")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        let (acl, stat) = try await zk { () async throws(ZooKeeperError) in try await client.getACL(path) }
        for item in acl { out(ShellFormat.acl(item)) }
        if line.has("s") { printStat(stat) }
    }

    func getEphemerals(_ words: [String]) async throws {
        let (line, _) = try parse(words, as: "getEphemerals")
        let path = line.arguments.count >= 2 ? line.arguments[1] : "/"
        let ephemerals = try await zk { () async throws(ZooKeeperError) in try await client.getEphemerals(path) }
        out(ShellFormat.list(ephemerals))
    }

    func getAllChildrenNumber(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "getAllChildrenNumber")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        let count = try await zk { () async throws(ZooKeeperError) in try await client.getAllChildrenNumber(path) }
        out("\(count)")
    }

    func whoAmI() async throws {
        let identities = try await zk { () async throws(ZooKeeperError) in try await client.whoAmI() }
        out("Auth scheme: User")
        for identity in identities { out("\(identity.authScheme): \(identity.user)") }
    }

    func sync(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "sync")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        do {
            try await client.sync(path)
            out("Sync is OK")
        } catch  where error.code == .invalidPath {
            throw CommandFailure(error)
        } catch {
            // zkCli prints this on stdout and exits 0; a failed sync exits 1 here.
            out("Sync has failed. rc=\(error.code.rawValue)")
            throw CommandFailure.silent
        }
    }

    func config(_ words: [String]) async throws {
        let (line, _) = try parse(words, as: "config")
        let watch = line.has("w")
        let (data, stat) = try await zk { () async throws(ZooKeeperError) in try await client.getConfig(watch: watch) }
        let text = ShellFormat.text(data)
        out(line.has("c") ? Self.clientConfigString(text) : text)
        if line.has("s") { printStat(stat) }
    }

    /// `ConfigUtils.getClientConfigStr`: the config version, a space, and the servers' client addresses.
    static func clientConfigString(_ config: String) -> String {
        var version = ""
        var addresses: [String] = []
        for rawLine in config.split(separator: "\n") {
            guard let equals = rawLine.firstIndex(of: "=") else { continue }
            let key = rawLine[..<equals].trimmingWhitespace()
            let value = rawLine[rawLine.index(after: equals)...].trimmingWhitespace()
            if key == "version" { version = String(value) }
            guard key.hasPrefix("server.") else { continue }
            // server.N=host:quorum:election[:role][;[clientHost:]clientPort]
            guard let semicolon = value.firstIndex(of: ";") else {
                addresses.append("")
                continue
            }
            // `host:port`, or a bare port that Apache reads as 0.0.0.0:port.
            let client = value[value.index(after: semicolon)...]
            addresses.append(client.contains(":") ? String(client) : "0.0.0.0:\(client)")
        }
        return version + " " + addresses.joined(separator: ",")
    }

    func version(_ words: [String]) throws {
        let (line, entry) = try parse(words, as: "version")
        guard line.arguments.count <= 1 else { throw CommandFailure(entry.usage) }
        out("ZooKeeper CLI version: \(configuration.versionText)")
    }

    // MARK: Writing

    func create(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "create")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let ephemeral = line.has("e")
        let sequential = line.has("s")
        let container = line.has("c")
        let hasTTL = line.has("t")
        if container && (ephemeral || sequential) {
            throw CommandFailure(
                "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.")
        }
        var ttl: Int64 = 0
        if hasTTL {
            guard let value = Self.javaLong(line.value("t") ?? "") else {
                throw CommandFailure("-t argument must be a long value")
            }
            ttl = value
        }
        if hasTTL && ephemeral { throw CommandFailure("TTLs cannot be used with Ephemeral znodes") }
        if hasTTL && container { throw CommandFailure("TTLs cannot be used with Container znodes") }
        let mode: CreateMode =
            if ephemeral && sequential {
                .ephemeralSequential
            } else if ephemeral {
                .ephemeral
            } else if sequential {
                hasTTL ? .persistentSequentialWithTTL : .persistentSequential
            } else if container {
                .container
            } else {
                hasTTL ? .persistentWithTTL : .persistent
            }
        if hasTTL && (ttl <= 0 || ttl > ZooKeeperClient.maximumTTL) {
            throw CommandFailure("ttl must be positive and cannot be larger than: \(ZooKeeperClient.maximumTTL)")
        }
        let path = line.arguments[1]
        let data = line.arguments.count > 2 ? Array(line.arguments[2].utf8) : nil
        var acl = ACL.openUnsafe
        if line.arguments.count > 3 {
            let parsed = AclParser.parse(line.arguments[3])
            for warning in parsed.warnings { err(warning) }
            acl = parsed.acl
        }
        // The Java client checks the path, then refuses an empty ACL before sending anything.
        if let problem = ZooKeeperPath.problem(with: mode.isSequential ? path + "1" : path) {
            throw CommandFailure(problem, showsUsage: true)
        }
        if acl.isEmpty {
            let error = ZooKeeperError(.invalidACL)
            err(error.description)
            throw CommandFailure(error)
        }
        do {
            let created = try await client.create(path, data: data, acl: acl, mode: mode, ttl: hasTTL ? ttl : nil)
            err("Created \(created)")
        } catch {
            switch error.code {
            case .ephemeralOnLocalSession: err("Unable to create ephemeral node on a local session")
            case .invalidACL: err(error.description)
            default: break
            }
            throw CommandFailure(error)
        }
    }

    func set(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "set")
        guard line.arguments.count >= 3 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        var data = Array(line.arguments[2].utf8)
        if line.has("b") {
            guard let decoded = Base64.decode(line.arguments[2]) else {
                throw malformed("-b: the data is not valid base64", entry)
            }
            data = decoded
        }
        let version = try version(line, entry)
        let stat = try await zk { () async throws(ZooKeeperError) in
            try await client.setData(path, data: data, version: version)
        }
        if line.has("s") { printStat(stat) }
    }

    func delete(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "delete")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        if line.arguments.count > 2 {
            // As zkCli: the note, and the positional version is ignored.
            err("'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.")
        }
        let path = line.arguments[1]
        let version = try version(line, entry)
        try await zk { () async throws(ZooKeeperError) in try await client.delete(path, version: version) }
    }

    func deleteAll(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "deleteall")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        var batchSize: Int32 = 1000
        if let text = line.value("b") {
            guard let value = Self.javaInt(text) else { throw CommandFailure("-b argument must be an int value") }
            batchSize = value
        }
        let root = line.arguments[1]
        if let problem = ZooKeeperPath.problem(with: root) { throw CommandFailure(problem, showsUsage: true) }
        // ZKUtil.listSubTreeBFS, then delete leaves first.
        var tree = [root]
        var next = 0
        while next < tree.count {
            let node = tree[next]
            next += 1
            let children = try await zk { () async throws(ZooKeeperError) in try await client.getChildren(node) }
            tree.append(contentsOf: children.map { ZooKeeperPath.join(node, $0) })
        }
        if batchSize <= 0 {
            for node in tree.reversed() {
                try await zk { () async throws(ZooKeeperError) in try await client.delete(node) }
            }
            return
        }
        var failed = false
        var batch: [ZooKeeperClient.Operation] = []
        for (position, node) in tree.enumerated().reversed() {
            try Task.checkCancellation()
            batch.append(.delete(node))
            if batch.count == Int(batchSize) || position == 0 {
                do {
                    try await client.multi(batch)
                } catch {
                    failed = true
                    break
                }
                batch = []
            }
        }
        if failed {
            // zkCli prints this and exits 0; here it is a failure.
            throw CommandFailure("Failed to delete some node(s) in the subtree!")
        }
    }

    func setAcl(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "setAcl")
        guard line.arguments.count >= 3 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        let parsed = AclParser.parse(line.arguments[2])
        for warning in parsed.warnings { err(warning) }
        let version = try version(line, entry)
        if let problem = ZooKeeperPath.problem(with: path) { throw CommandFailure(problem, showsUsage: true) }
        if parsed.acl.isEmpty { throw CommandFailure(ZooKeeperError(.invalidACL)) }
        if line.has("R") {
            var failures = 0
            try await visitSubtree(path, watch: false) { node in
                do throws(ZooKeeperError) {
                    try await self.client.setACL(node, acl: parsed.acl, version: version)
                } catch {
                    // zkCli prints these on stdout without a newline; each gets its own line on stderr here.
                    failures += 1
                    self.err(error.description)
                }
            }
            if failures > 0 { throw CommandFailure.silent }
        } else {
            let stat = try await zk { () async throws(ZooKeeperError) in
                try await client.setACL(path, acl: parsed.acl, version: version)
            }
            if line.has("s") { printStat(stat) }
        }
    }

    func addWatch(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "addWatch")
        guard line.arguments.count == 2 else { throw CommandFailure(entry.usage) }
        var mode = AddWatchMode.persistentRecursive
        if let text = line.value("m") {
            guard let chosen = AddWatchMode.allCases.first(where: { $0.description == text.uppercased() }) else {
                throw CommandFailure(entry.usage)
            }
            mode = chosen
        }
        let path = line.arguments[1]
        try await zk { () async throws(ZooKeeperError) in try await client.addWatch(path, mode: mode) }
    }

    func removeWatches(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "removewatches")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        let type: WatcherType =
            if line.has("c") {
                .children
            } else if line.has("d") {
                .data
            } else if line.has("p") {
                .persistent
            } else if line.has("r") {
                .persistentRecursive
            } else {
                .any
            }
        let local = line.has("l")
        try await zk { () async throws(ZooKeeperError) in
            try await client.removeWatches(path, type: type, local: local)
        }
    }

    func addAuth(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "addauth")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let scheme = line.arguments[1]
        let auth = line.arguments.count >= 3 ? Array(line.arguments[2].utf8) : nil
        // zkCli returns at once and learns of a rejection from the AuthFailed event; here the command waits for
        // the server's answer and fails when the credentials are rejected.
        try await zk { () async throws(ZooKeeperError) in try await client.addAuth(scheme: scheme, auth: auth) }
    }

    func reconfig(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "reconfig")
        let hasFile = line.has("file")
        let hasMembers = line.has("members")
        let hasAdd = line.has("add")
        let hasRemove = line.has("remove")
        guard hasFile || hasMembers || hasAdd || hasRemove else { throw CommandFailure(entry.usage) }
        var fromConfig: Int64 = -1
        if let text = line.value("v") {
            guard let value = Int64(text, radix: 16) else {
                throw CommandFailure("-v must be followed by a long (configuration version)")
            }
            fromConfig = value
        }
        if (hasFile || hasMembers) && (hasAdd || hasRemove) {
            throw CommandFailure(
                "Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)"
            )
        }
        if hasFile && hasMembers {
            throw CommandFailure("Can't use -file and -members together (conflicting non-incremental modes)")
        }
        let joining = line.value("add")?.lowercased()
        let leaving = line.value("remove")?.lowercased()
        var members = line.value("members")?.lowercased()
        if let file = line.value("file") {
            guard let text = Self.readFile(file) else {
                throw CommandFailure("Error processing \(file): cannot read the file")
            }
            // The dynamic configuration's server lines (and version), as the server expects them.
            members = text.split(separator: "\n").map { $0.trimmingWhitespace() }
                .filter { $0.hasPrefix("server.") || $0.hasPrefix("version=") }.map(String.init)
                .joined(separator: "\n")
        }
        let (data, stat) = try await zk { () async throws(ZooKeeperError) in
            try await client.reconfig(joining: joining, leaving: leaving, newMembers: members, fromConfig: fromConfig)
        }
        out("Committed new configuration:\n" + ShellFormat.text(data))
        if line.has("s") { printStat(stat) }
    }

    static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Substring {
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" || first == "\r" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result.removeLast() }
        return result
    }
}
