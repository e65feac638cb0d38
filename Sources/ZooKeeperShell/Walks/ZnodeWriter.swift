import ZooKeeper

/// Writes znodes read elsewhere (an export file, another subtree, another cluster) one at a time, parents
/// first, keeping count of what it did; `import`, `cp` and `mv` share it.
struct ZnodeWriter {
    /// What to do with a znode that exists already.
    enum Existing {
        /// Stop, with NodeExists.
        case refuse
        /// Set its data (and ACL, when one is given).
        case overwrite
        /// Leave it as it is.
        case skip
    }

    /// What was done so far.
    struct Progress {
        var created = 0
        var overwritten = 0
        var skipped = 0
        /// Of the skipped, the ephemerals.
        var ephemerals = 0
        var last: String?
        /// Every znode applied, in order, when `recordsPaths` (an interrupted import lists them in JSON).
        var appliedPaths: [String] = []
        /// The znode whose create or setData was sent and not answered: after a lost connection, it may or may not
        /// have been applied.
        var unanswered: String?
        var applied: Int { created + overwritten }

        /// `(created 3, overwritten 0, skipped 1)`.
        var counts: String { "(created \(created), overwritten \(overwritten), skipped \(skipped))" }
    }

    let client: ZooKeeperClient
    var existing = Existing.refuse
    /// Say what would be done (on stdout), and do nothing.
    var dryRun = false
    /// The command, for its notes (`import: skipped the ephemeral /a`).
    var command: String
    var progress = Progress()
    /// Whether `progress` keeps every path applied (memory in proportion to the znodes written).
    var recordsPaths = false

    /// Writes one znode at `target`; `acl` nil keeps an existing znode's ACL and gives a new one the open ACL.
    mutating func write(
        _ target: String, data: [UInt8]?, acl: [ACL]?, isEphemeral: Bool, _ shell: Shell
    ) async throws {
        try Task.checkCancellation()
        if isEphemeral {
            // An ephemeral would go with this command's session: it is not created, and that is said.
            shell.err("\(command): skipped the ephemeral \(target)")
            progress.skipped += 1
            progress.ephemerals += 1
            return
        }
        let client = self.client
        let exists = try await shell.zk { () async throws(ZooKeeperError) in try await client.exists(target) }
        switch (exists != nil, existing) {
        case (false, _):
            if dryRun {
                shell.out("create \(target)")
            } else {
                progress.unanswered = target
                _ = try await shell.zk { () async throws(ZooKeeperError) in
                    try await client.create(target, data: data, acl: acl ?? ACL.openUnsafe)
                }
            }
            progress.created += 1
        case (true, .overwrite):
            if dryRun {
                shell.out("overwrite \(target)")
            } else {
                progress.unanswered = target
                try await shell.zk { () async throws(ZooKeeperError) in
                    _ = try await client.setData(target, data: data)
                    if let acl { _ = try await client.setACL(target, acl: acl) }
                }
            }
            progress.overwritten += 1
        case (true, .skip):
            if dryRun { shell.out("skip \(target)") }
            progress.skipped += 1
            return
        case (true, .refuse):
            throw CommandFailure(Shell.message(for: ZooKeeperError(.nodeExists, path: target)))
        }
        progress.unanswered = nil
        progress.last = target
        if recordsPaths { progress.appliedPaths.append(target) }
    }
}
