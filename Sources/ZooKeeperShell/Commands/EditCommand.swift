import ZooKeeper

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `edit path`: the znode's data in `$VISUAL` or `$EDITOR` (else vi), written back only if the znode has not
/// changed since it was read (a set at the version read). A concurrent change is refused, and the edited text
/// is kept in a file it names.
enum EditCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "edit", syntax: "path", summary: "Edit a znode's data in $VISUAL or $EDITOR, safely",
        arguments: [.path], isZkCliCommand: false)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        let client = shell.client
        let (data, stat) = try await shell.zk { () async throws(ZooKeeperError) in try await client.getData(path) }
        let original = data ?? []
        var template = Array((temporaryDirectory() + "/zkcli-edit-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw CommandFailure("edit: cannot make a temporary file") }
        let file = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard writeAll(descriptor, original) else {
            close(descriptor)
            unlink(file)
            throw CommandFailure("edit: cannot write \(file)")
        }
        close(descriptor)
        // system(3) runs it through sh with the terminal, and ignores Ctrl-C here while it runs.
        let status = system("\(editor()) \(shellQuoted(file))")
        guard status == 0 else {
            unlink(file)
            throw CommandFailure("edit: the editor failed (status \(status >> 8)); \(path) is unchanged")
        }
        guard let edited = readAll(file) else { throw CommandFailure("edit: cannot read \(file)") }
        guard edited != original else {
            unlink(file)
            shell.err("edit: no change")
            return
        }
        do {
            _ = try await client.setData(path, data: edited, version: stat.version)
            unlink(file)
        } catch  where error.code == .badVersion {
            throw CommandFailure(
                "edit: \(path) changed since it was read (data version \(stat.version)); not written, "
                    + "your text is kept in \(file)")
        } catch {
            var failure = CommandFailure(error)
            failure.message += "\nedit: your text is kept in \(file)"
            throw failure
        }
    }

    /// `$VISUAL`, else `$EDITOR`, else vi: a shell command line, given the file as its last word.
    static func editor() -> String {
        for name in ["VISUAL", "EDITOR"] {
            if let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty { return value }
        }
        return "vi"
    }

    static func temporaryDirectory() -> String {
        getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// `'...'` for sh, with `'` written as `'\''`.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    static func readAll(_ file: String) -> [UInt8]? {
        let descriptor = open(file, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}
