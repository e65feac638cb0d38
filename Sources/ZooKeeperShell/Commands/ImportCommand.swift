import ZooKeeper
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `import [--overwrite|--skip-existing] [--dry-run] file|- path`: the znodes of an `export` file created under
/// `path` (the exported root becomes `path`), as the file is read, parents first, in multis of consecutive lines
/// (`BatchedImport`). It stops at the first line it cannot apply, naming it, and says how many znodes were
/// applied before; nothing after that line is applied. With `--atomic` the whole file is read first and applied
/// as one multi: all of it or nothing.
enum ImportCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "import", syntax: "[--overwrite|--skip-existing] [--atomic] [--dry-run] file|- path",
        summary: "Create the znodes of an export file under a path",
        options: [
            .long("overwrite", help: "Set the data and ACL of znodes that exist"),
            .long("skip-existing", help: "Leave znodes that exist as they are"),
            .long("atomic", help: "Apply the whole file as one multi, or nothing"),
            .long("dry-run", help: "Say what would be done, and do nothing"),
        ],
        optionGroups: [OptionGroup(names: ["overwrite", "skip-existing"], isRequired: false)],
        arguments: [.file, .path], isZkCliCommand: false)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let source = try invocation.argument(1)
        let destination = try invocation.argument(2)
        guard let file = source == "-" ? fdopen(dup(0), "r") : fopen(source, "r") else {
            throw CommandFailure("import: cannot read \(source): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        if invocation.has("atomic") {
            try await importAtomically(file, source: source, destination: destination, invocation, shell)
            return
        }
        var writer = ZnodeWriter(client: shell.client, command: "import")
        writer.dryRun = invocation.has("dry-run")
        writer.existing = invocation.has("overwrite") ? .overwrite : invocation.has("skip-existing") ? .skip : .refuse
        // Only JSON has room for the list of what was applied.
        writer.recordsPaths = shell.format == .json
        var importer = BatchedImport(writer: writer, packetLimit: packetLimit(shell))
        let total = source == "-" ? nil : countZnodes(source)
        var lineNumber = 0
        var root: String?
        do {
            while let text = readLine(file) {
                lineNumber += 1
                let parsed: Znode?
                do {
                    parsed = try Znode(line: text, root: &root, destination: destination)
                } catch {
                    // Everything before the line is applied, nothing after it.
                    try await importer.flush(shell)
                    throw error
                }
                guard let znode = parsed else { continue }
                try await importer.add(znode, line: lineNumber, shell)
            }
            try await importer.flush(shell)
            if root == nil { throw CommandFailure("no zkcli export header") }
        } catch let failure as CommandFailure where failure.zooKeeperError.map({ losesTheLink($0.code) }) ?? false {
            var report = interruption(
                "the connection was lost (\(failure.message))", line: importer.stoppedLine ?? lineNumber,
                source: source, total: total, importer.writer.progress, exitCode: failure.exitCode,
                unanswered: importer.unanswered)
            report.zooKeeperError = failure.zooKeeperError
            throw report
        } catch is CancellationError {
            throw interruption(
                "interrupted", line: importer.stoppedLine ?? lineNumber, source: source, total: total,
                importer.writer.progress, exitCode: ExitCode.interrupted, unanswered: [])
        } catch let failure as CommandFailure {
            let progress = importer.writer.progress
            throw CommandFailure(
                "import: stopped at line \(importer.stoppedLine ?? lineNumber) of \(source): \(failure.message); "
                    + "\(progress.applied) znode\(progress.applied == 1 ? "" : "s") applied before it"
                    + (progress.last.map { ", the last \($0)" } ?? ""), exitCode: failure.exitCode)
        }
        let progress = importer.writer.progress
        let verb = writer.dryRun ? "Would import" : "Imported"
        shell.err("\(verb) \(progress.applied + progress.skipped) znodes into \(destination) \(progress.counts)")
    }

    /// Whether a request's failure means the link to the server (the connection, or the session) is gone.
    static func losesTheLink(_ code: ZooKeeperError.Code) -> Bool {
        code == .connectionLoss || code == .sessionExpired || code == .sessionMoved || code == .clientClosed
    }

    /// The report of an import stopped part-way (Ctrl-C, or the connection or session lost): exactly what was
    /// applied, in the file's order, so that it can be resumed with `--skip-existing`; the paths themselves in
    /// JSON. `unanswered` are the znodes whose writes (one create, or one multi) were sent but not answered:
    /// applied or not, nobody knows; a multi's all or none.
    static func interruption(
        _ why: String, line: Int, source: String, total: Int?, _ progress: ZnodeWriter.Progress, exitCode: Int32,
        unanswered: [String]
    ) -> CommandFailure {
        var message =
            "import: \(why) at line \(line) of \(source): applied \(progress.applied)"
            + (total.map { " of \($0)" } ?? "") + " znode\((total ?? progress.applied) == 1 ? "" : "s")"
        if progress.skipped > 0 { message += " (\(progress.skipped) skipped)" }
        message += progress.last.map { ", the last applied was \($0)" } ?? ""
        switch unanswered.count {
        case 0: break
        case 1: message += "; \(unanswered[0]) was sent without an answer: it may be applied too"
        default:
            message +=
                "; the \(unanswered.count) znodes from \(unanswered[0]) to \(unanswered[unanswered.count - 1]) were "
                + "sent in one multi without an answer: all or none of them may be applied too"
        }
        message += "; resume with --skip-existing"
        var failure = CommandFailure(message, exitCode: exitCode)
        failure.details = [
            ("applied", .number(progress.applied)), ("skipped", .number(progress.skipped)),
            ("total", total.map { .number($0) } ?? .null), ("line", .number(line)),
            ("lastApplied", .string(progress.last)),
            ("unanswered", .string(unanswered.count == 1 ? unanswered[0] : nil)),
            ("unansweredPaths", .strings(unanswered)), ("appliedPaths", .strings(progress.appliedPaths)),
        ]
        return failure
    }

    /// The znodes of an export file (its non-empty lines but the header); nil unless it is a regular file (a
    /// pipe cannot be read twice).
    static func countZnodes(_ source: String) -> Int? {
        var status = stat()
        guard stat(source, &status) == 0, status.st_mode & S_IFMT == S_IFREG, let file = fopen(source, "r") else {
            return nil
        }
        defer { fclose(file) }
        var lines = 0
        while let text = readLine(file) {
            if !text.isEmpty { lines += 1 }
        }
        return max(lines - 1, 0)
    }

    /// The limit of a multi's size: jute.maxbuffer, the largest packet the server takes (the client's setting,
    /// ZooKeeper's default unless the client configuration sets it).
    static func packetLimit(_ shell: Shell) -> Int {
        shell.configuration.packetLimit ?? ZooKeeperFrameDecoder.defaultPacketLimit
    }

    /// `--atomic`: every line read and checked first, what exists looked up, then one multi; a malformed line, a
    /// znode that exists (without `--skip-existing`), a file too big for one multi or a failing operation
    /// applies nothing.
    static func importAtomically(
        _ file: UnsafeMutablePointer<FILE>, source: String, destination: String, _ invocation: CommandInvocation,
        _ shell: Shell
    ) async throws {
        let nothing = "nothing applied"
        guard !invocation.has("overwrite") else {
            throw CommandFailure(
                "import: --atomic cannot --overwrite (a multi has no setACL); \(nothing). "
                    + "Use --skip-existing, or import without --atomic")
        }
        let limit = packetLimit(shell)
        // The request header and the multi's end marker, then each operation's size as it is encoded.
        var size = 8 + 9
        var znodes: [Znode] = []
        var lineNumber = 0
        var root: String?
        do {
            while let text = readLine(file) {
                lineNumber += 1
                guard let znode = try Znode(line: text, root: &root, destination: destination) else { continue }
                size += znode.encodedCreateSize
                if size > limit { break }
                znodes.append(znode)
            }
            if root == nil { throw CommandFailure("no zkcli export header") }
        } catch let failure as CommandFailure {
            throw CommandFailure(
                "import: stopped at line \(lineNumber) of \(source): \(failure.message); \(nothing)",
                exitCode: failure.exitCode)
        }
        if size > limit {
            throw CommandFailure(
                "import: \(source) does not fit in one multi (more than jute.maxbuffer, \(limit) bytes, by line "
                    + "\(lineNumber)); \(nothing). Import it without --atomic")
        }
        let client = shell.client
        let dryRun = invocation.has("dry-run")
        var operations: [ZooKeeperClient.Operation] = []
        var skipped = 0
        for znode in znodes {
            if znode.isEphemeral {
                shell.err("import: skipped the ephemeral \(znode.target)")
                skipped += 1
                continue
            }
            let target = znode.target
            // A parent created earlier in the same multi does not exist yet: neither does its child.
            let exists = try await shell.zk { () async throws(ZooKeeperError) in try await client.exists(target) }
            if exists != nil {
                guard invocation.has("skip-existing") else {
                    throw CommandFailure(
                        "import: \(Shell.message(for: ZooKeeperError(.nodeExists, path: target))); \(nothing)")
                }
                if dryRun { shell.out("skip \(target)") }
                skipped += 1
                continue
            }
            if dryRun { shell.out("create \(target)") }
            operations.append(.create(target, data: znode.data, acl: znode.acl))
        }
        let counts = "(created \(operations.count), overwritten 0, skipped \(skipped))"
        if dryRun {
            shell.err("Would import \(operations.count + skipped) znodes into \(destination) in one multi \(counts)")
            return
        }
        do throws(ZooKeeperError) {
            try await client.multi(operations)
        } catch  where error.code == .packetTooLarge {
            throw CommandFailure(
                "import: \(source) does not fit in one multi (more than jute.maxbuffer, \(limit) bytes); "
                    + "\(nothing). Import it without --atomic")
        } catch  where error.code == .connectionLoss {
            throw CommandFailure(
                "import: the connection was lost before the multi's answer: all of it or nothing was applied; "
                    + "look at \(destination)")
        } catch {
            throw CommandFailure("import: \(Shell.message(for: error)); \(nothing)")
        }
        shell.err("Imported \(operations.count + skipped) znodes into \(destination) in one multi \(counts)")
    }

    /// A line of the file, ready to apply.
    struct Znode {
        var target: String
        var data: [UInt8]?
        var acl: [ACL]
        var isEphemeral: Bool

        /// The znode of one line of the file; nil for an empty line or the header (which sets `root`).
        init?(line text: String, root: inout String?, destination: String) throws {
            if text.isEmpty { return nil }
            let value: JSONValue
            do {
                value = try JSONValue(parsing: text)
            } catch {
                throw CommandFailure("not JSON (\(error))")
            }
            guard let exportRoot = root else {
                guard value["format"]?.stringValue == ExportCommand.format,
                    value["version"]?.integerValue == ExportCommand.formatVersion,
                    let exported = value["root"]?.stringValue
                else { throw CommandFailure("not a zkcli export (version 1) header") }
                root = exported
                return nil
            }
            try self.init(value, exportRoot: exportRoot, destination: destination)
        }

        /// Its create in a multi, as jute encodes it: the operation's header (type, done, error), then path,
        /// data, ACL entries (perms, scheme, id) and flags.
        var encodedCreateSize: Int {
            let entries = acl.reduce(0) { $0 + 4 + 4 + $1.id.scheme.utf8.count + 4 + $1.id.id.utf8.count }
            return 9 + 4 + target.utf8.count + 4 + (data?.count ?? 0) + 4 + entries + 4
        }

        /// A znode read elsewhere (`cp`), to be created at `target`.
        init(target: String, data: [UInt8]?, acl: [ACL], isEphemeral: Bool) {
            self.target = target
            self.data = data
            self.acl = acl
            self.isEphemeral = isEphemeral
        }

        init(_ value: JSONValue, exportRoot: String, destination: String) throws {
            guard let path = value["path"]?.stringValue,
                path == exportRoot || path.hasPrefix(exportRoot == "/" ? "/" : exportRoot + "/")
            else { throw CommandFailure("no path under \(exportRoot)") }
            let below = exportRoot == "/" ? path : String(path.dropFirst(exportRoot.count))
            target = below.isEmpty || below == "/" ? destination : (destination == "/" ? below : destination + below)
            switch value["data"] {
            case .null?: data = nil
            case .string(let text)?:
                guard let bytes = Base64.decode(text) else { throw CommandFailure("data that is not base64") }
                data = bytes
            default: throw CommandFailure("no data")
            }
            guard let entries = value["acl"]?.arrayValue else { throw CommandFailure("no acl") }
            acl = try entries.map { entry in
                guard let scheme = entry["scheme"]?.stringValue, let id = entry["id"]?.stringValue,
                    let perms = entry["perms"]?.stringValue
                else { throw CommandFailure("an acl entry without scheme, id and perms") }
                let (permissions, unknown) = Permissions.parse(perms)
                guard unknown.isEmpty else { throw CommandFailure("unknown permissions \(perms)") }
                return ACL(permissions: permissions, id: Id(scheme: scheme, id: id))
            }
            isEphemeral = value["mode"]?.stringValue == "ephemeral"
        }
    }

    /// The next line of `file` without its newline, however long; nil at the end.
    static func readLine(_ file: UnsafeMutablePointer<FILE>) -> String? {
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        let count = getline(&buffer, &capacity, file)
        guard count >= 0, let buffer else { return nil }
        var length = count
        if length > 0 && buffer[length - 1] == 0x0A { length -= 1 }
        return String(decoding: UnsafeRawBufferPointer(start: buffer, count: length), as: UTF8.self)
    }
}
