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
        var sink: LineSink
        if destination == "-" {
            sink = LineSink(.output(shell))
        } else {
            guard let file = fopen(destination, "w") else {
                throw CommandFailure("export: cannot write \(destination): \(String(cString: strerror(errno)))")
            }
            sink = LineSink(.file(file))
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
                try sink.write(node)
                count += 1
            }
        }
        try sink.flush()
        if destination != "-" { shell.err("Exported \(count) znode\(count == 1 ? "" : "s") to \(destination)") }
        if failures > 0 { throw CommandFailure.partial(failures) }
    }

    /// Where the lines go: a file, in blocks of `blockSize` bytes, or the shell's output, a line at a time.
    struct LineSink {
        enum Destination {
            case output(Shell)
            case file(UnsafeMutablePointer<FILE>)
        }

        /// Lines are gathered up to this many bytes before they are written to a file.
        static let blockSize = 1 << 16

        let destination: Destination
        /// Lines not yet written, each with its newline.
        private var pending: [UInt8] = []
        private var closed = false

        init(_ destination: Destination) {
            self.destination = destination
            if case .file = destination { pending.reserveCapacity(Self.blockSize + 4096) }
        }

        mutating func write(_ line: String) throws {
            switch destination {
            case .output(let shell): shell.out(line)
            case .file:
                pending += line.utf8
                try endLine()
            }
        }

        mutating func write(_ node: PipelinedWalk.Node) throws {
            switch destination {
            case .output(let shell):
                var line: [UInt8] = []
                ExportLine.append(node, to: &line)
                shell.out(String(decoding: line, as: UTF8.self))
            case .file:
                ExportLine.append(node, to: &pending)
                try endLine()
            }
        }

        private mutating func endLine() throws {
            pending.append(UInt8(ascii: "\n"))
            if pending.count >= Self.blockSize { try flush() }
        }

        /// Writes the lines gathered so far.
        mutating func flush() throws {
            guard case .file(let file) = destination, !pending.isEmpty else { return }
            defer { pending.removeAll(keepingCapacity: true) }
            let written = pending.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
            guard written == pending.count, fflush(file) == 0 else {
                throw CommandFailure("export: cannot write: \(String(cString: strerror(errno)))")
            }
        }

        /// Writes what is left (the lines of an interrupted walk too) and closes the file.
        mutating func close() {
            guard !closed else { return }
            closed = true
            try? flush()
            if case .file(let file) = destination { fclose(file) }
        }
    }
}
