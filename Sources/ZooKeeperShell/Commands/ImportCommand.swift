import ZooKeeper

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `import [--overwrite|--skip-existing] [--dry-run] file|- path`: the znodes of an `export` file created under
/// `path` (the exported root becomes `path`), line by line as the file is read, parents first. It stops at the
/// first line it cannot apply, naming it, and says how many znodes were applied before.
enum ImportCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "import", syntax: "[--overwrite|--skip-existing] [--dry-run] file|- path",
        summary: "Create the znodes of an export file under a path",
        options: [
            .long("overwrite", help: "Set the data and ACL of znodes that exist"),
            .long("skip-existing", help: "Leave znodes that exist as they are"),
            .long("dry-run", help: "Say what would be done, and do nothing"),
        ],
        optionGroups: [OptionGroup(names: ["overwrite", "skip-existing"], isRequired: false)],
        arguments: [.file, .path], isZkCliCommand: false)

    /// What was done so far.
    struct Progress {
        var created = 0
        var overwritten = 0
        var skipped = 0
        var last: String?
        var applied: Int { created + overwritten }
    }

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let source = try invocation.argument(1)
        let destination = try invocation.argument(2)
        guard let file = source == "-" ? fdopen(dup(0), "r") : fopen(source, "r") else {
            throw CommandFailure("import: cannot read \(source): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        let dryRun = invocation.has("dry-run")
        var progress = Progress()
        var lineNumber = 0
        var root: String?
        do {
            while let text = readLine(file) {
                lineNumber += 1
                if text.isEmpty { continue }
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
                    continue
                }
                let znode = try Znode(value, exportRoot: exportRoot, destination: destination)
                try await apply(znode, invocation, dryRun: dryRun, &progress, shell)
            }
            if root == nil { throw CommandFailure("no zkcli export header") }
        } catch let failure as CommandFailure {
            throw CommandFailure(
                "import: stopped at line \(lineNumber) of \(source): \(failure.message); "
                    + "\(progress.applied) znode\(progress.applied == 1 ? "" : "s") applied before it"
                    + (progress.last.map { ", the last \($0)" } ?? ""), exitCode: failure.exitCode)
        } catch is CancellationError {
            throw CommandFailure(
                "import: interrupted at line \(lineNumber); \(progress.applied) znodes applied"
                    + (progress.last.map { ", the last \($0)" } ?? ""), exitCode: ExitCode.interrupted)
        }
        let verb = dryRun ? "Would import" : "Imported"
        shell.err(
            "\(verb) \(progress.applied + progress.skipped) znodes into \(destination) (created \(progress.created), "
                + "overwritten \(progress.overwritten), skipped \(progress.skipped))")
    }

    /// A line of the file, ready to apply.
    struct Znode {
        var target: String
        var data: [UInt8]?
        var acl: [ACL]
        var isEphemeral: Bool

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

    static func apply(
        _ znode: Znode, _ invocation: CommandInvocation, dryRun: Bool, _ progress: inout Progress, _ shell: Shell
    ) async throws {
        try Task.checkCancellation()
        if znode.isEphemeral {
            // An ephemeral would go with this command's session: it is not created, and that is said.
            shell.err("import: skipped the ephemeral \(znode.target)")
            progress.skipped += 1
            return
        }
        let client = shell.client
        let exists = try await shell.zk { () async throws(ZooKeeperError) in try await client.exists(znode.target) }
        switch (exists != nil, invocation.has("overwrite"), invocation.has("skip-existing")) {
        case (false, _, _):
            if dryRun {
                shell.out("create \(znode.target)")
            } else {
                _ = try await shell.zk { () async throws(ZooKeeperError) in
                    try await client.create(znode.target, data: znode.data, acl: znode.acl)
                }
            }
            progress.created += 1
        case (true, true, _):
            if dryRun {
                shell.out("overwrite \(znode.target)")
            } else {
                try await shell.zk { () async throws(ZooKeeperError) in
                    _ = try await client.setData(znode.target, data: znode.data)
                    _ = try await client.setACL(znode.target, acl: znode.acl)
                }
            }
            progress.overwritten += 1
        case (true, false, true):
            if dryRun { shell.out("skip \(znode.target)") }
            progress.skipped += 1
            return
        case (true, false, false):
            throw CommandFailure(Shell.message(for: ZooKeeperError(.nodeExists, path: znode.target)))
        }
        progress.last = znode.target
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
