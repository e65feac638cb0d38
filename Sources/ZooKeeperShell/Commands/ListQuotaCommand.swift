import ZooKeeper
import ZooKeeperProtocol

/// `listquota path`: a znode's quota limits and the usage counted against them.
enum ListQuotaCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "listquota", syntax: "path", summary: "Print a znode's quota and usage", arguments: [.path],
        printsData: true)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let path = try invocation.argument(1)
        shell.note("absolute path is \(QuotaPaths.limitPath(path))")
        do {
            let limits = try await shell.client.getData(QuotaPaths.limitPath(path)).data
            let usage = try await shell.client.getData(QuotaPaths.statPath(path)).data
            func text(_ data: [UInt8]?) -> String { data.map { String(decoding: $0, as: UTF8.self) } ?? "" }
            shell.emit(.quota(path: path, limits: text(limits), usage: text(usage)))
        } catch  where error.code == .noNode {
            // zkCli says so on stderr and exits 0; JSON says it with null limits.
            shell.note("quota for \(path) does not exist.")
            if shell.format == .json { shell.emit(.noQuota(path: path)) }
        } catch {
            throw CommandFailure(error)
        }
    }
}
