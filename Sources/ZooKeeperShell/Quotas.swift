import ZooKeeper
import ZooKeeperProtocol

extension Shell {
    func setQuota(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "setquota")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
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
            guard let count = Self.javaInt(text) else { throw CommandFailure(numberError) }
            guard count > 0 else { throw CommandFailure("the num quota must be greater than zero") }
            quota.count = Int64(count)
        }
        if let text = line.value("b") {
            guard let bytes = Self.javaLong(text) else { throw CommandFailure(numberError) }
            guard bytes >= 0 else { throw CommandFailure("the bytes quota must be greater than or equal to zero") }
            quota.bytes = bytes
        }
        if let text = line.value("N") {
            guard let count = Self.javaInt(text) else { throw CommandFailure(numberError) }
            guard count > 0 else { throw CommandFailure("the num quota must be greater than zero") }
            quota.countHardLimit = Int64(count)
        }
        if let text = line.value("B") {
            guard let bytes = Self.javaLong(text) else { throw CommandFailure(numberError) }
            guard bytes >= 0 else { throw CommandFailure("the bytes quota must be greater than or equal to zero") }
            quota.byteHardLimit = bytes
        }
        try await createQuota(path, quota)
    }

    private func createQuota(_ path: String, _ quota: QuotaStats) async throws {
        let exists = try await zk { () async throws(ZooKeeperError) in try await client.exists(path) }
        guard exists != nil else { throw CommandFailure("\(path) does not exist.") }
        try await checkNoChildQuota(path)
        try await checkNoParentQuota(path)
        if try await zk({ () async throws(ZooKeeperError) in try await client.exists(QuotaPaths.quotaZookeeper) })
            == nil
        {
            for node in [QuotaPaths.procZookeeper, QuotaPaths.quotaZookeeper] {
                do {
                    try await client.create(node)
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
            if try await zk({ () async throws(ZooKeeperError) in try await client.exists(node) }) == nil {
                do {
                    try await client.create(node)
                } catch  where error.code == .nodeExists {
                } catch {
                    throw CommandFailure(error)
                }
            }
        }
        let statPath = quotaPath + "/" + QuotaPaths.statNode
        let limitPath = quotaPath + "/" + QuotaPaths.limitNode
        if try await zk({ () async throws(ZooKeeperError) in try await client.exists(limitPath) }) == nil {
            var stats = QuotaStats()
            stats.count = 0
            stats.bytes = 0
            _ = try await zk { () async throws(ZooKeeperError) in
                try await client.create(limitPath, data: quota.bytesValue)
                try await client.create(statPath, data: stats.bytesValue)
            }
            let limits = try await readStats(limitPath)
            let current = try await readStats(statPath)
            warnIfBelow(limits, current)
        } else {
            var limits = try await readStats(limitPath)
            if quota.count > -1 { limits.count = quota.count }
            if quota.bytes > -1 { limits.bytes = quota.bytes }
            if quota.countHardLimit > -1 { limits.countHardLimit = quota.countHardLimit }
            if quota.byteHardLimit > -1 { limits.byteHardLimit = quota.byteHardLimit }
            let current = try await readStats(statPath)
            warnIfBelow(limits, current)
            let updated = limits
            _ = try await zk { () async throws(ZooKeeperError) in
                try await client.setData(limitPath, data: updated.bytesValue)
            }
        }
    }

    private func readStats(_ path: String) async throws -> QuotaStats {
        let (data, _) = try await zk { () async throws(ZooKeeperError) in try await client.getData(path) }
        let text = data.map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard let stats = QuotaStats(text) else { throw CommandFailure("cannot parse the quota node \(path): \(text)") }
        return stats
    }

    private func warnIfBelow(_ limits: QuotaStats, _ current: QuotaStats) {
        if (limits.count > -1 && limits.count < current.count)
            || (limits.countHardLimit > -1 && limits.countHardLimit < current.count)
        {
            out("[Warning]: the count quota you create is less than the existing count:\(current.count)")
        }
        if (limits.bytes > -1 && limits.bytes < current.bytes)
            || (limits.byteHardLimit > -1 && limits.byteHardLimit < current.bytes)
        {
            out("[Warning]: the bytes quota you create is less than the existing bytes:\(current.bytes)")
        }
    }

    /// No node below `path` may have a quota of its own.
    private func checkNoChildQuota(_ path: String) async throws {
        let realPath = QuotaPaths.quotaPath(path)
        var conflict: String?
        do {
            try await visitSubtree(realPath, watch: false) { quotaPath in
                guard conflict == nil else { return }
                let children: [String]
                do {
                    children = try await self.client.getChildren(quotaPath)
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
    private func checkNoParentQuota(_ path: String) async throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        var quotaPath = QuotaPaths.quotaZookeeper
        guard components.count > 2 else { return }
        for index in 1..<(components.count - 1) {
            quotaPath += "/" + components[index]
            let node = quotaPath
            let children: [String]
            do {
                children = try await client.getChildren(node)
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

    func listQuota(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "listquota")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        err("absolute path is \(QuotaPaths.limitPath(path))")
        do {
            let limits = try await client.getData(QuotaPaths.limitPath(path)).data
            let stats = try await client.getData(QuotaPaths.statPath(path)).data
            for (index, data) in [limits, stats].enumerated() {
                let text = data.map { String(decoding: $0, as: UTF8.self) } ?? ""
                let rendered = QuotaStats(text)?.description ?? text
                out(index == 0 ? "Output quota for \(path) \(rendered)" : "Output stat for \(path) \(rendered)")
            }
        } catch  where error.code == .noNode {
            err("quota for \(path) does not exist.")
        } catch {
            throw CommandFailure(error)
        }
    }

    func delQuota(_ words: [String]) async throws {
        let (line, entry) = try parse(words, as: "delquota")
        guard line.arguments.count >= 2 else { throw CommandFailure(entry.usage) }
        let path = line.arguments[1]
        let parentPath = QuotaPaths.quotaPath(path)
        let limitPath = QuotaPaths.limitPath(path)
        do {
            guard try await client.exists(limitPath) != nil else {
                out("Quota does not exist for \(path)")
                return
            }
            let data = try await client.getData(limitPath).data
            var limits = QuotaStats(data.map { String(decoding: $0, as: UTF8.self) } ?? "") ?? QuotaStats()
            let flags = ["n", "b", "N", "B"].filter { line.has($0) }
            if flags.isEmpty {
                for child in try await client.getChildren(parentPath) {
                    try await client.delete(parentPath + "/" + child)
                }
                try await trimQuotaTree(parentPath)
            } else {
                if line.has("n") { limits.count = -1 }
                if line.has("b") { limits.bytes = -1 }
                if line.has("N") { limits.countHardLimit = -1 }
                if line.has("B") { limits.byteHardLimit = -1 }
                try await client.setData(limitPath, data: limits.bytesValue)
            }
        } catch  where error.code == .noNode {
            err("quota for \(path) does not exist.")
        } catch {
            throw CommandFailure(error)
        }
    }

    /// Deletes empty quota nodes upwards, stopping at /zookeeper/quota.
    private func trimQuotaTree(_ path: String) async throws(ZooKeeperError) {
        var current = path
        while current != QuotaPaths.quotaZookeeper {
            guard try await client.getChildren(current).isEmpty else { return }
            try await client.delete(current)
            current = String(ZooKeeperPath.parent(of: current))
        }
    }
}
