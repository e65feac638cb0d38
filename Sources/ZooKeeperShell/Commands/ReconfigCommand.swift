import ZooKeeper

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `reconfig ...`: changes the ensemble's membership, incrementally (`-add`, `-remove`) or as a whole (`-file`,
/// `-members`).
enum ReconfigCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "reconfig",
        syntax:
            "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]",
        summary: "Change the ensemble's membership",
        options: [
            CommandOption("s", help: "Print the stat of the new configuration"),
            CommandOption("v", value: true, help: "Only from this configuration version (hex)"),
            CommandOption("file", value: true, help: "The new membership, from a file", valueHint: .file),
            CommandOption("members", value: true, help: "The new membership, comma separated"),
            CommandOption("add", value: true, help: "Servers to add"),
            CommandOption("remove", value: true, help: "Server ids to remove"),
        ])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let hasFile = invocation.has("file")
        let hasMembers = invocation.has("members")
        let hasAdd = invocation.has("add")
        let hasRemove = invocation.has("remove")
        guard hasFile || hasMembers || hasAdd || hasRemove else { throw invocation.usageFailure }
        var fromConfig: Int64 = -1
        if let text = invocation.value("v") {
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
        let joining = invocation.value("add")?.lowercased()
        let leaving = invocation.value("remove")?.lowercased()
        var members = invocation.value("members")?.lowercased()
        if let file = invocation.value("file") {
            guard let text = readFile(file) else {
                throw CommandFailure("Error processing \(file): cannot read the file")
            }
            // The dynamic configuration's server lines (and version), as the server expects them.
            members = text.split(separator: "\n").map { $0.trimmingWhitespace() }
                .filter { $0.hasPrefix("server.") || $0.hasPrefix("version=") }.map(String.init)
                .joined(separator: "\n")
        }
        let client = shell.client
        let (data, stat) = try await shell.zk { () async throws(ZooKeeperError) in
            try await client.reconfig(joining: joining, leaving: leaving, newMembers: members, fromConfig: fromConfig)
        }
        shell.out("Committed new configuration:\n" + ShellFormat.text(data))
        if invocation.has("s") { shell.emit(.stat(path: "/zookeeper/config", stat: stat)) }
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

extension Substring {
    func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" || first == "\r" { result.removeFirst() }
        while let last = result.last, last == " " || last == "\t" || last == "\r" { result.removeLast() }
        return result
    }
}
