import ZooKeeper
import ZooKeeperProtocol

/// `delquota [-n|-b|-N|-B] path`: a znode's quota, or one of its limits.
enum DelQuotaCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "delquota", syntax: "[-n|-b|-N|-B] path", summary: "Remove a quota, or one of its limits",
        options: [
            CommandOption("n", "num soft quota", help: "Remove only the count soft limit"),
            CommandOption("b", "bytes soft quota", help: "Remove only the bytes soft limit"),
            CommandOption("N", "num hard quota", help: "Remove only the count hard limit"),
            CommandOption("B", "bytes hard quota", help: "Remove only the bytes hard limit"),
        ],
        optionGroups: [OptionGroup(names: ["n", "b", "N", "B"], isRequired: false)],
        arguments: [.path])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let line = invocation
        let path = try invocation.argument(1)
        let parentPath = QuotaPaths.quotaPath(path)
        let limitPath = QuotaPaths.limitPath(path)
        do {
            guard try await shell.client.exists(limitPath) != nil else {
                shell.out("Quota does not exist for \(path)")
                return
            }
            let data = try await shell.client.getData(limitPath).data
            var limits = QuotaStats(data.map { String(decoding: $0, as: UTF8.self) } ?? "") ?? QuotaStats()
            let flags = ["n", "b", "N", "B"].filter { line.has($0) }
            if flags.isEmpty {
                for child in try await shell.client.getChildren(parentPath) {
                    try await shell.client.delete(parentPath + "/" + child)
                }
                try await trimQuotaTree(parentPath, shell.client)
            } else {
                if line.has("n") { limits.count = -1 }
                if line.has("b") { limits.bytes = -1 }
                if line.has("N") { limits.countHardLimit = -1 }
                if line.has("B") { limits.byteHardLimit = -1 }
                try await shell.client.setData(limitPath, data: limits.bytesValue)
            }
        } catch  where error.code == .noNode {
            shell.err("quota for \(path) does not exist.")
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Deletes empty quota nodes upwards, stopping at /zookeeper/quota.
    private static func trimQuotaTree(_ path: String, _ client: ZooKeeperClient) async throws(ZooKeeperError) {
        var current = path
        while current != QuotaPaths.quotaZookeeper {
            guard try await client.getChildren(current).isEmpty else { return }
            try await client.delete(current)
            current = String(ZooKeeperPath.parent(of: current))
        }
    }
}
