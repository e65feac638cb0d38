import ZooKeeper

/// `cp [-r] [-f] [--acl] [--dry-run] src dst`: a znode (its subtree with `-r`) copied to `dst`, on this cluster
/// or between clusters (`zk://host:port[,...]/path` on either side): data always, ACLs with `--acl` (else the
/// open ACL), ephemerals skipped and said (they would go with this command's session).
enum CpCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "cp", syntax: "[-r] [-f] [--acl] [--dry-run] src dst",
        summary: "Copy a znode or subtree, here or to another cluster",
        options: [
            CommandOption("r", help: "The whole subtree"),
            CommandOption("f", help: "Overwrite the data (and ACL) of znodes that exist"),
            .long("acl", help: "Copy the ACLs too"),
            .long("dry-run", help: "Say what would be done, and do nothing"),
        ],
        arguments: [.path, .path], isZkCliCommand: false)

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        try await copy(
            invocation, in: shell, recursive: invocation.has("r"), copiesACL: invocation.has("acl"), moves: false)
    }

    /// `cp`, or `mv` (the whole subtree with its ACLs, then the source deleted once every znode is copied).
    static func copy(
        _ invocation: CommandInvocation, in shell: Shell, recursive: Bool, copiesACL: Bool, moves: Bool
    ) async throws {
        let command = invocation.spec.name
        let source = try ZnodeLocation(try invocation.argument(1))
        let destination = try ZnodeLocation(try invocation.argument(2))
        if source.cluster == destination.cluster,
            destination.path == source.path || destination.path.hasPrefix(source.path == "/" ? "/" : source.path + "/")
        {
            throw CommandFailure("\(command): cannot copy \(source.path) into itself (\(destination.path))")
        }
        let from = try source.client(shell)
        let to = try destination.client(shell)
        // Sessions of their own (other clusters) are closed, whatever happens.
        let outcome: Result<Void, any Error>
        do {
            try await transfer(
                invocation, from: from, source, to: to, destination, shell, recursive: recursive,
                copiesACL: copiesACL, moves: moves)
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        if source.cluster != nil { await from.close() }
        if destination.cluster != nil { await to.close() }
        try outcome.get()
    }

    private static func transfer(
        _ invocation: CommandInvocation, from: ZooKeeperClient, _ source: ZnodeLocation, to: ZooKeeperClient,
        _ destination: ZnodeLocation, _ shell: Shell, recursive: Bool, copiesACL: Bool, moves: Bool
    ) async throws {
        let command = invocation.spec.name
        var writer = ZnodeWriter(client: to, command: command)
        writer.dryRun = invocation.has("dry-run")
        writer.existing = invocation.has("f") ? .overwrite : .refuse
        // Written as `import` writes: consecutive znodes in multis, a refused one alone through the writer.
        var importer = BatchedImport(writer: writer, packetLimit: ImportCommand.packetLimit(shell))
        importer.keepsExistingACL = !copiesACL
        let readSessions = source.readSessions(shell, like: from)
        var walk = PipelinedWalk(client: from)
        walk.readsData = true
        walk.readsACL = copiesACL
        walk.readSessions = readSessions
        walk.maximumDepth = recursive ? nil : 0
        var copied: [String] = []
        var read = 0
        var failures = 0
        do {
            try await readSessions.closing {
                try await walk.run(from: source.path) { failed, error in
                    failures += 1
                    shell.report(error, at: failed)
                } visit: { node in
                    let below = source.path == "/" ? node.path : String(node.path.dropFirst(source.path.count))
                    let target =
                        below.isEmpty || below == "/"
                        ? destination.path : ZooKeeperPath.join(destination.path, String(below.dropFirst()))
                    let znode = ImportCommand.Znode(
                        target: target, data: node.data, acl: node.acl ?? ACL.openUnsafe,
                        isEphemeral: node.stat.ephemeralOwner != 0)
                    if moves { copied.append(node.path) }
                    read += 1
                    try await importer.add(znode, line: read, shell)
                }
            }
            try await importer.flush(shell)
        } catch let failure as CommandFailure {
            let progress = importer.writer.progress
            throw CommandFailure(
                "\(command): \(failure.message); \(progress.applied) znode\(progress.applied == 1 ? "" : "s") "
                    + "copied before it" + (progress.last.map { ", the last \($0)" } ?? ""),
                exitCode: failure.exitCode)
        }
        let progress = importer.writer.progress
        let verb = writer.dryRun ? "Would copy" : "Copied"
        let count = progress.applied
        shell.err("\(verb) \(count) znode\(count == 1 ? "" : "s") to \(destination.path) \(progress.counts)")
        if failures > 0 { throw CommandFailure.partial(failures) }
        guard moves else { return }
        guard progress.ephemerals == 0 else {
            throw CommandFailure(
                "\(command): ephemeral znodes belong to their sessions and cannot be moved; \(source.path) is left in place"
            )
        }
        // Every znode was read and written: the source goes, leaves first.
        if writer.dryRun {
            shell.out("delete \(source.path)")
            return
        }
        for start in stride(from: 0, to: copied.count, by: 1000) {
            let batch = copied.reversed().dropFirst(start).prefix(1000).map { ZooKeeperClient.Operation.delete($0) }
            _ = try await shell.zk { () async throws(ZooKeeperError) in try await from.multi(Array(batch)) }
        }
    }
}

extension ZnodeLocation {
    /// The shell's session for a path here; a session of its own for another cluster (the caller closes it).
    func client(_ shell: Shell) throws -> ZooKeeperClient {
        guard let cluster else { return shell.client }
        do {
            return try ZooKeeperClient(connectString: cluster, configuration: Self.clusterSettings(shell))
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// How a session of another cluster connects.
    private static func clusterSettings(_ shell: Shell) -> ZooKeeperClient.Configuration {
        var settings = ZooKeeperClient.Configuration()
        settings.sessionTimeout = shell.configuration.sessionTimeout
        settings.requestTimeoutWhileDisconnected = shell.configuration.requestTimeoutWhileDisconnected
        return settings
    }

    /// Sessions like `client` (this location's, from `client(_:)`) for a walk to read ACLs on (the caller closes
    /// them).
    func readSessions(_ shell: Shell, like client: ZooKeeperClient) -> ReadSessions {
        guard cluster != nil else { return shell.readSessions() }
        return ReadSessions(
            like: client, configuration: Self.clusterSettings(shell), count: shell.configuration.readSessions)
    }
}
