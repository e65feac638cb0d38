import ZooKeeper
import ZooKeeperProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `export [-r] path FILE|-`: a znode (its subtree with `-r`) as JSON Lines, streamed to a file or stdout, for
/// `import` to restore and text tools to diff. The format (version 1, in zkcli(1)): a header line, then one
/// line per znode in pre-order (parents first): path, data in base64, ACL, mode, and the stat for information.
enum ExportCommand: ShellCommand {
    static let format = "zkcli-export"
    static let formatVersion: Int64 = 1

    static let spec = CommandSpec(
        name: "export", syntax: "[-r] path file|-", summary: "Write a znode or subtree to a file, as JSON Lines",
        options: [CommandOption("r", help: "The whole subtree")], arguments: [.path, .file],
        isZkCliCommand: false)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let destination = try invocation.argument(2)
        let sink: LineSink
        if destination == "-" {
            sink = .output(shell)
        } else {
            guard let file = fopen(destination, "w") else {
                throw CommandFailure("export: cannot write \(destination): \(String(cString: strerror(errno)))")
            }
            sink = .file(file)
        }
        defer { sink.close() }
        let readSessions = shell.readSessions()
        var walk = PipelinedWalk(client: shell.client)
        walk.readsData = true
        walk.readsACL = true
        walk.readSessions = readSessions
        walk.maximumDepth = invocation.has("r") ? nil : 0
        try sink.write(
            JSONValue.object([
                ("format", .string(format)), ("version", .integer(formatVersion)), ("root", .string(path)),
            ]).text)
        var count = 0
        var failures = 0
        try await readSessions.closing {
            try await walk.run(from: path) { failed, error in
                failures += 1
                shell.report(error, at: failed)
            } visit: { node in
                try sink.write(line(node).text)
                count += 1
            }
        }
        if destination != "-" { shell.err("Exported \(count) znode\(count == 1 ? "" : "s") to \(destination)") }
        if failures > 0 { throw CommandFailure.partial(failures) }
    }

    /// One znode's line.
    static func line(_ node: PipelinedWalk.Node) -> JSONValue {
        .object([
            ("path", .string(node.path)),
            ("data", .string(node.data.map { Base64.encode($0) })),
            (
                "acl",
                .array(
                    (node.acl ?? []).map {
                        .object([
                            ("scheme", .string($0.id.scheme)), ("id", .string($0.id.id)),
                            ("perms", .string("\($0.permissions)")),
                        ])
                    })
            ),
            ("mode", .string(node.stat.ephemeralOwner == 0 ? "persistent" : "ephemeral")),
            ("stat", CommandResult.json(node.stat)),
        ])
    }

    /// Where the lines go.
    enum LineSink {
        case output(Shell)
        case file(UnsafeMutablePointer<FILE>)

        func write(_ line: String) throws {
            switch self {
            case .output(let shell): shell.out(line)
            case .file(let file):
                guard fputs(line + "\n", file) >= 0 else {
                    throw CommandFailure("export: cannot write: \(String(cString: strerror(errno)))")
                }
            }
        }

        func close() {
            if case .file(let file) = self { fclose(file) }
        }
    }
}
