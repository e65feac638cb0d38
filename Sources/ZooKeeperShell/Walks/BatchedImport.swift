import ZooKeeper

/// Applies an import's znodes (or those `cp` reads), in the file's order, in multis of consecutive znodes instead of an exists and a
/// create per znode: a million znodes cost a thousand round trips, not two million. A multi is all or nothing, so
/// a failing znode is found exactly: the znodes before it go again as one multi, the failing one goes alone
/// through `ZnodeWriter` (which refuses, skips or overwrites it as asked, with its messages), and what follows
/// starts again with small multis. So the import applies exactly what a znode-by-znode import would, in the same
/// order, and stops at the same line. Multis grow from 1 znode to `largestBatch` (doubling after each success),
/// and stay under half the packet limit.
struct BatchedImport {
    /// Applies single znodes (the first, the failing, an ephemeral, any in a dry run) and keeps the progress.
    var writer: ZnodeWriter
    /// jute.maxbuffer: a multi is kept under half of it.
    let packetLimit: Int
    /// The most znodes in one multi.
    static let largestBatch = 1000
    /// Whether a znode that exists keeps its ACL when it is overwritten (`cp` without `--acl`: the znodes carry
    /// the open ACL for their create only).
    var keepsExistingACL = false

    /// Znodes read and not yet sent, with their lines in the file.
    private var pending: [(znode: ImportCommand.Znode, line: Int)] = []
    private var pendingBytes = 0
    /// How many znodes the next multi may hold.
    private var batchLimit = 1
    /// The line of the znode being applied when the import stopped: the znode refused, or the first one not known
    /// to be applied (interrupted, connection lost).
    private(set) var stoppedLine: Int?
    /// The znodes of the multi sent and not answered.
    private var unansweredBatch: [String] = []

    init(writer: ZnodeWriter, packetLimit: Int) {
        self.writer = writer
        self.packetLimit = packetLimit
    }

    /// The znodes whose write was sent and not answered (one create, or a multi's, all or none applied).
    var unanswered: [String] {
        unansweredBatch.isEmpty ? writer.progress.unanswered.map { [$0] } ?? [] : unansweredBatch
    }

    /// Takes the next znode of the file; sends what is pending once there is a multi's worth.
    mutating func add(_ znode: ImportCommand.Znode, line: Int, _ shell: Shell) async throws {
        if writer.dryRun || znode.isEphemeral {
            // Nothing to create (a dry run only says what it would do; an ephemeral is skipped): in order, alone.
            try await flush(shell)
            try await writeAlone((znode, line), shell)
            return
        }
        let size = znode.encodedCreateSize
        if !pending.isEmpty && pendingBytes + size > packetLimit / 2 { try await flush(shell) }
        pending.append((znode, line))
        pendingBytes += size
        if pending.count >= batchLimit || pendingBytes >= packetLimit / 2 { try await flush(shell) }
    }

    /// Applies everything pending.
    mutating func flush(_ shell: Shell) async throws {
        // Where, among the pending znodes, is the one that failed the last multi: those before it go again
        // together (none of them failed), then it goes alone.
        var failing: Int?
        while !pending.isEmpty {
            let take = failing ?? min(pending.count, batchLimit)
            if take <= 1 {
                if let index = failing { failing = index == 0 ? nil : index - 1 }
                try await writeAlone(pending.removeFirst(), shell)
                continue
            }
            let batch = pending.prefix(take)
            stoppedLine = batch.first?.line
            try Task.checkCancellation()
            unansweredBatch = batch.map(\.znode.target)
            do throws(ZooKeeperError) {
                try await writer.client.multi(
                    batch.map { .create($0.znode.target, data: $0.znode.data, acl: $0.znode.acl) })
            } catch {
                guard let results = error.multiResults, let index = results.firstIndex(where: Self.failed) else {
                    throw CommandFailure(error)
                }
                // Nothing of the multi was applied.
                unansweredBatch = []
                batchLimit = 1
                failing = index
                continue
            }
            unansweredBatch = []
            pending.removeFirst(batch.count)
            writer.progress.created += batch.count
            writer.progress.last = batch.last?.znode.target
            if writer.recordsPaths { writer.progress.appliedPaths += batch.map(\.znode.target) }
            batchLimit = min(batchLimit * 2, Self.largestBatch)
            failing = failing.map { $0 - batch.count }
        }
        pendingBytes = 0
        stoppedLine = nil
    }

    /// Whether a multi's result is its failing operation.
    private static func failed(_ result: MultiResult) -> Bool {
        if case .error(let code) = result { code != .ok } else { false }
    }

    /// One znode through `ZnodeWriter`: an exists, then a create (or what `existing` says).
    private mutating func writeAlone(_ item: (znode: ImportCommand.Znode, line: Int), _ shell: Shell) async throws {
        stoppedLine = item.line
        let created = writer.progress.created
        try await writer.write(
            item.znode.target, data: item.znode.data, acl: keepsExistingACL ? nil : item.znode.acl,
            isEphemeral: item.znode.isEphemeral, shell)
        stoppedLine = nil
        // Multis grow again only once znodes are being created (not while they exist, as in a re-import).
        if !writer.dryRun && writer.progress.created > created { batchLimit = min(batchLimit * 2, Self.largestBatch) }
    }
}
