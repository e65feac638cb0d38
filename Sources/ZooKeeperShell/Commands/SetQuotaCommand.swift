import ZooKeeper
import ZooKeeperProtocol

/// `setquota -n|-b|-N|-B val path`: a count or bytes limit on a subtree (soft: warned of; hard: enforced).
enum SetQuotaCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "setquota", syntax: "-n|-b|-N|-B val path", summary: "Set a count or bytes quota on a znode",
        options: [
            CommandOption("n", value: true, "num soft quota", help: "Count soft limit (warns)"),
            CommandOption("b", value: true, "bytes soft quota", help: "Bytes soft limit (warns)"),
            CommandOption("N", value: true, "num hard quota", help: "Count hard limit (enforced)"),
            CommandOption("B", value: true, "bytes hard quota", help: "Bytes hard limit (enforced)"),
        ],
        optionGroups: [OptionGroup(names: ["n", "b", "N", "B"], isRequired: true)],
        arguments: [.path])

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let line = invocation
        let path = try invocation.argument(1)
        if path.hasPrefix(QuotaPaths.quotaZookeeper) {
            // zkCli prints this and exits 0; here it is a failure.
            throw CommandFailure("cannot set a quota under the path: \(QuotaPaths.quotaZookeeper)")
        }
        var quota = QuotaStats()
        quota.count = -1
        quota.bytes = -1
        quota.countHardLimit = -1
        quota.byteHardLimit = -1
        let numberError = "NumberFormatException happens when parsing the option value"
        if let text = line.value("n") {
            guard let count = Shell.javaInt(text) else { throw CommandFailure(numberError) }
            guard count > 0 else { throw CommandFailure("the num quota must be greater than zero") }
            quota.count = Int64(count)
        }
        if let text = line.value("b") {
            guard let bytes = Shell.javaLong(text) else { throw CommandFailure(numberError) }
            guard bytes >= 0 else { throw CommandFailure("the bytes quota must be greater than or equal to zero") }
            quota.bytes = bytes
        }
        if let text = line.value("N") {
            guard let count = Shell.javaInt(text) else { throw CommandFailure(numberError) }
            guard count > 0 else { throw CommandFailure("the num quota must be greater than zero") }
            quota.countHardLimit = Int64(count)
        }
        if let text = line.value("B") {
            guard let bytes = Shell.javaLong(text) else { throw CommandFailure(numberError) }
            guard bytes >= 0 else { throw CommandFailure("the bytes quota must be greater than or equal to zero") }
            quota.byteHardLimit = bytes
        }
        try await createQuota(path, quota, shell)
    }

    private static func createQuota(_ path: String, _ quota: QuotaStats, _ shell: Shell) async throws {
        let exists = try await shell.zk { () async throws(ZooKeeperError) in try await shell.client.exists(path) }
        guard exists != nil else { throw CommandFailure("\(path) does not exist.") }
        try await checkNoChildQuota(path, shell)
        try await checkNoParentQuota(path, shell)
        if try await shell.zk({ () async throws(ZooKeeperError) in
            try await shell.client.exists(QuotaPaths.quotaZookeeper)
        })
            == nil
        {
            for node in [QuotaPaths.procZookeeper, QuotaPaths.quotaZookeeper] {
                do {
                    try await shell.client.create(node)
                } catch  where error.code == .nodeExists {
                } catch {
                    throw CommandFailure(error)
                }
            }
        }
        var quotaPath = QuotaPaths.quotaZookeeper
        for component in path.split(separator: "/") {
            quotaPath += "/" + component
            let node = quotaPath
            if try await shell.zk({ () async throws(ZooKeeperError) in try await shell.client.exists(node) }) == nil {
                do {
                    try await shell.client.create(node)
                } catch  where error.code == .nodeExists {
                } catch {
                    throw CommandFailure(error)
                }
            }
        }
        let statPath = quotaPath + "/" + QuotaPaths.statNode
        let limitPath = quotaPath + "/" + QuotaPaths.limitNode
        if try await shell.zk({ () async throws(ZooKeeperError) in try await shell.client.exists(limitPath) }) == nil {
            var stats = QuotaStats()
            stats.count = 0
            stats.bytes = 0
            _ = try await shell.zk { () async throws(ZooKeeperError) in
                try await shell.client.create(limitPath, data: quota.bytesValue)
                try await shell.client.create(statPath, data: stats.bytesValue)
            }
            let limits = try await readStats(limitPath, shell)
            let current = try await readStats(statPath, shell)
            warnIfBelow(limits, current, shell)
        } else {
            var limits = try await readStats(limitPath, shell)
            if quota.count > -1 { limits.count = quota.count }
            if quota.bytes > -1 { limits.bytes = quota.bytes }
            if quota.countHardLimit > -1 { limits.countHardLimit = quota.countHardLimit }
            if quota.byteHardLimit > -1 { limits.byteHardLimit = quota.byteHardLimit }
            let current = try await readStats(statPath, shell)
            warnIfBelow(limits, current, shell)
            let updated = limits
            _ = try await shell.zk { () async throws(ZooKeeperError) in
                try await shell.client.setData(limitPath, data: updated.bytesValue)
            }
        }
    }

    private static func readStats(_ path: String, _ shell: Shell) async throws -> QuotaStats {
        let (data, _) = try await shell.zk { () async throws(ZooKeeperError) in try await shell.client.getData(path) }
        let text = data.map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard let stats = QuotaStats(text) else { throw CommandFailure("cannot parse the quota node \(path): \(text)") }
        return stats
    }

    private static func warnIfBelow(_ limits: QuotaStats, _ current: QuotaStats, _ shell: Shell) {
        if (limits.count > -1 && limits.count < current.count)
            || (limits.countHardLimit > -1 && limits.countHardLimit < current.count)
        {
            shell.out("[Warning]: the count quota you create is less than the existing count:\(current.count)")
        }
        if (limits.bytes > -1 && limits.bytes < current.bytes)
            || (limits.byteHardLimit > -1 && limits.byteHardLimit < current.bytes)
        {
            shell.out("[Warning]: the bytes quota you create is less than the existing bytes:\(current.bytes)")
        }
    }

    /// No node below `path` may have a quota of its own.
    private static func checkNoChildQuota(_ path: String, _ shell: Shell) async throws {
        let realPath = QuotaPaths.quotaPath(path)
        var conflict: String?
        do {
            try await shell.visitSubtree(realPath, watch: false) { quotaPath in
                guard conflict == nil else { return }
                let children: [String]
                do {
                    children = try await shell.client.getChildren(quotaPath)
                } catch {
                    return
                }
                if quotaPath != QuotaPaths.quotaZookeeper + path && children.contains(QuotaPaths.limitNode) {
                    conflict = String(quotaPath.dropFirst(QuotaPaths.quotaZookeeper.count))
                }
            }
        } catch let failure as CommandFailure where failure.message.hasPrefix("Node does not exist") {
            return
        }
        if let conflict { throw CommandFailure("\(path) has a child \(conflict) which has a quota") }
    }

    /// No ancestor of `path` may have a quota.
    private static func checkNoParentQuota(_ path: String, _ shell: Shell) async throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        var quotaPath = QuotaPaths.quotaZookeeper
        guard components.count > 2 else { return }
        for index in 1..<(components.count - 1) {
            quotaPath += "/" + components[index]
            let node = quotaPath
            let children: [String]
            do {
                children = try await shell.client.getChildren(node)
            } catch  where error.code == .noNode {
                return
            } catch {
                throw CommandFailure(error)
            }
            if children.isEmpty { return }
            if quotaPath != QuotaPaths.quotaPath(path) && children.contains(QuotaPaths.limitNode) {
                let parent = String(quotaPath.dropFirst(QuotaPaths.quotaZookeeper.count))
                throw CommandFailure("\(path) has a parent \(parent) which has a quota")
            }
        }
    }
}
