import ZooKeeper
import ZooKeeperProtocol

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

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let source = try invocation.argument(1)
        let destination = try invocation.argument(2)
        guard let file = source == "-" ? fdopen(dup(0), "r") : fopen(source, "r") else {
            throw CommandFailure("import: cannot read \(source): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var writer = ZnodeWriter(client: shell.client, command: "import")
        writer.dryRun = invocation.has("dry-run")
        writer.existing = invocation.has("overwrite") ? .overwrite : invocation.has("skip-existing") ? .skip : .refuse
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
                try await writer.write(
                    znode.target, data: znode.data, acl: znode.acl, isEphemeral: znode.isEphemeral, shell)
            }
            if root == nil { throw CommandFailure("no zkcli export header") }
        } catch let failure as CommandFailure {
            let progress = writer.progress
            throw CommandFailure(
                "import: stopped at line \(lineNumber) of \(source): \(failure.message); "
                    + "\(progress.applied) znode\(progress.applied == 1 ? "" : "s") applied before it"
                    + (progress.last.map { ", the last \($0)" } ?? ""), exitCode: failure.exitCode)
        } catch is CancellationError {
            let progress = writer.progress
            throw CommandFailure(
                "import: interrupted at line \(lineNumber); \(progress.applied) znodes applied"
                    + (progress.last.map { ", the last \($0)" } ?? ""), exitCode: ExitCode.interrupted)
        }
        let progress = writer.progress
        let verb = writer.dryRun ? "Would import" : "Imported"
        shell.err("\(verb) \(progress.applied + progress.skipped) znodes into \(destination) \(progress.counts)")
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
