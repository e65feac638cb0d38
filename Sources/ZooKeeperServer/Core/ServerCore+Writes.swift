import ZooKeeperProtocol

/// Builds a write's reply once its transaction is applied.
typealias ResponseBuilder = (ServerCore) -> ZooKeeperResponse

extension TransactionBody {
    /// The path a create transaction made.
    var createdPath: String {
        if case .create(let path, _, _, _, _) = self { return path }
        return ""
    }
}

extension ServerCore {
    func stat(at path: String) -> Stat {
        tree.node(at: path)?.stat ?? Stat()
    }

    /// Runs a write: on success its transaction is committed and the reply built from the new state; on
    /// failure an error transaction still consumes a zxid (as Apache's error txns do) and the reply carries it.
    func write(
        _ connection: ConnectionID, xid: Int32, sessionID: Int64,
        _ prepare: () throws(KeeperFailure) -> (TransactionBody, ResponseBuilder)
    ) {
        do throws(KeeperFailure) {
            let (body, response) = try prepare()
            // A transaction too large to read back is refused before it is logged (ZOOKEEPER-3496).
            if TransactionCodec.encodedSize(of: body) > transactionSizeLimit { throw KeeperFailure(.badArguments) }
            let zxid = commit(sessionID: sessionID, body: body)
            outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: zxid), response(self)))
        } catch {
            let zxid = commit(sessionID: sessionID, body: .error(error.code))
            outputs.append(.reply(connection, ReplyHeader(xid: xid, zxid: zxid, error: error.code), .empty))
        }
    }

    // MARK: Validation (Apache's PrepRequestProcessor order; the first failure wins)

    /// Apache's `getParentPathAndValidate` for create and delete: a path needs a slash and no NUL.
    private func parentPath(of path: String) throws(KeeperFailure) -> String {
        guard path.utf8.contains(UInt8(ascii: "/")), !path.utf8.contains(0) else {
            throw KeeperFailure(.badArguments)
        }
        return String(ZooKeeperPath.parent(of: path))
    }

    func prepareCreate(
        _ r: CreateTTLRequest, connection: ConnectionID, sessionID: Int64
    ) throws(KeeperFailure) -> TransactionBody {
        let create = CreateRequest(path: r.path, data: r.data, acl: r.acl, flags: r.flags)
        return try prepareCreate(create, ttl: r.ttl, connection: connection, sessionID: sessionID)
    }

    func prepareCreate(
        _ r: CreateRequest, ttl: Int64, connection: ConnectionID, sessionID: Int64
    ) throws(KeeperFailure) -> TransactionBody {
        guard let mode = CreateMode(rawValue: r.flags) else { throw KeeperFailure(.badArguments) }
        if mode.isTTL && !configuration.extendedTypesEnabled { throw KeeperFailure(.unimplemented) }
        if mode.isTTL {
            guard ttl > 0, ttl <= EphemeralKind.maximumTTL else { throw KeeperFailure(.badArguments) }
        } else if ttl >= 0 {
            throw KeeperFailure(.badArguments)
        }
        let parentPath = try parentPath(of: r.path)
        let ids = ids(of: connection)
        guard let acl = AccessControl.fixUp(r.acl, ids: ids, saslEnabled: configuration.sasl.providerEnabled) else {
            throw KeeperFailure(.invalidACL)
        }
        guard let parent = tree.node(at: parentPath) else { throw KeeperFailure(.noNode) }
        guard isAllowed(.create, parent, ids: ids) else { throw KeeperFailure(.noAuth) }
        let path = mode.isSequential ? r.path + DataTree.sequenceSuffix(parent.childCreations) : r.path
        if ZooKeeperPath.problem(with: path) != nil { throw KeeperFailure(.badArguments) }
        if tree.node(at: path) != nil { throw KeeperFailure(.nodeExists) }
        if case .session = parent.kind { throw KeeperFailure(.noChildrenForEphemerals) }
        try checkQuota(path, bytesDifference: Int64(r.data?.count ?? 0), countDifference: 1)
        let owner: EphemeralKind
        if mode.isEphemeral {
            owner = .session(sessionID)
        } else if mode.isContainer {
            owner = .container
        } else if mode.isTTL {
            owner = .ttl(ttl)
        } else {
            owner = .persistent
        }
        return .create(
            path: path, data: r.data, acl: acl, ephemeralOwner: owner.rawOwner,
            parentChildCreations: parent.childCreations &+ 1)
    }

    func prepareDelete(_ r: PathVersionRequest, connection: ConnectionID) throws(KeeperFailure) -> TransactionBody {
        let parentPath = try parentPath(of: r.path)
        if DataTree.specialPaths.contains(r.path) { throw KeeperFailure(.badArguments) }
        guard let parent = tree.node(at: parentPath) else { throw KeeperFailure(.noNode) }
        guard isAllowed(.delete, parent, ids: ids(of: connection)) else { throw KeeperFailure(.noAuth) }
        guard let node = parent.child(named: ZooKeeperPath.name(of: r.path)) else {
            throw KeeperFailure(.noNode)
        }
        if r.version != -1 && r.version != node.version { throw KeeperFailure(.badVersion) }
        if node.childCount > 0 { throw KeeperFailure(.notEmpty) }
        return .delete(path: r.path)
    }

    /// deleteContainer from a client: only empty containers and TTL nodes, with the same permission as delete.
    func prepareDeleteContainer(_ path: String, connection: ConnectionID) throws(KeeperFailure) -> TransactionBody {
        let parentPath = try parentPath(of: path)
        if DataTree.specialPaths.contains(path) { throw KeeperFailure(.badArguments) }
        guard let parent = tree.node(at: parentPath), let node = tree.node(at: path) else {
            throw KeeperFailure(.noNode)
        }
        guard isAllowed(.delete, parent, ids: ids(of: connection)) else { throw KeeperFailure(.noAuth) }
        switch node.kind {
        case .container, .ttl: break
        case .persistent, .session: throw KeeperFailure(.badArguments)
        }
        if node.childCount > 0 { throw KeeperFailure(.notEmpty) }
        return .delete(path: path)
    }

    func prepareSetData(_ r: SetDataRequest, connection: ConnectionID) throws(KeeperFailure) -> TransactionBody {
        if ZooKeeperPath.problem(with: r.path) != nil { throw KeeperFailure(.badArguments) }
        guard let node = tree.node(at: r.path) else { throw KeeperFailure(.noNode) }
        guard isAllowed(.write, node, ids: ids(of: connection)) else { throw KeeperFailure(.noAuth) }
        try checkQuota(
            r.path, bytesDifference: Int64(r.data?.count ?? 0) - Int64(node.dataLength), countDifference: 0)
        if r.version != -1 && r.version != node.version { throw KeeperFailure(.badVersion) }
        return .setData(path: r.path, data: r.data, version: node.version &+ 1)
    }

    func prepareSetACL(_ r: SetACLRequest, connection: ConnectionID) throws(KeeperFailure) -> TransactionBody {
        if ZooKeeperPath.problem(with: r.path) != nil { throw KeeperFailure(.badArguments) }
        let ids = ids(of: connection)
        // The ACL is checked before the node, so a bad ACL on a missing node reports InvalidACL (as Apache).
        guard let acl = AccessControl.fixUp(r.acl, ids: ids, saslEnabled: configuration.sasl.providerEnabled) else {
            throw KeeperFailure(.invalidACL)
        }
        guard let node = tree.node(at: r.path) else { throw KeeperFailure(.noNode) }
        guard isAllowed(.admin, node, ids: ids) else { throw KeeperFailure(.noAuth) }
        if r.version != -1 && r.version != node.aversion { throw KeeperFailure(.badVersion) }
        return .setACL(path: r.path, acl: acl, aversion: node.aversion &+ 1)
    }

    func prepareCheck(_ r: PathVersionRequest, connection: ConnectionID) throws(KeeperFailure) -> TransactionBody {
        if ZooKeeperPath.problem(with: r.path) != nil { throw KeeperFailure(.badArguments) }
        guard let node = tree.node(at: r.path) else { throw KeeperFailure(.noNode) }
        guard isAllowed(.read, node, ids: ids(of: connection)) else { throw KeeperFailure(.noAuth) }
        if r.version != -1 && r.version != node.version { throw KeeperFailure(.badVersion) }
        return .check(path: r.path)
    }

    /// Apache's `checkQuota` (3.7+, only with `zookeeper.enforceQuota`): QuotaExceeded when the change would take
    /// the subtree of the deepest quota above `path` past a hard limit (`countHardLimit`, `byteHardLimit`); the
    /// soft limits (`count`, `bytes`) never refuse anything. Only a change in a figure is checked against it, and
    /// a change that leaves a figure above its hard limit is refused even when it shrinks it, as in Apache.
    ///
    /// The figures are those of the tree as it stands, which inside a multi includes the operations before this
    /// one (Apache checks each operation of a multi against the state before the multi).
    func checkQuota(_ path: String, bytesDifference: Int64, countDifference: Int64) throws(KeeperFailure) {
        guard configuration.enforceQuota, let root = tree.quotaRoot(of: path),
            let limits = QuotaStats(data: tree.node(at: QuotaPaths.limitPath(root))?.data)
        else { return }
        let checksCount = countDifference != 0 && (limits.count > -1 || limits.countHardLimit > -1)
        let checksBytes = bytesDifference != 0 && (limits.bytes > -1 || limits.byteHardLimit > -1)
        guard checksCount || checksBytes,
            let current = QuotaStats(data: tree.node(at: QuotaPaths.statPath(root))?.data)
        else { return }
        if checksCount && limits.countHardLimit > -1 && current.count &+ countDifference > limits.countHardLimit
            || checksBytes && limits.byteHardLimit > -1 && current.bytes &+ bytesDifference > limits.byteHardLimit
        {
            activity.recordQuotaExceeded(path: path)
            throw KeeperFailure(.quotaExceeded)
        }
    }

    // MARK: Multi

    /// All or nothing: each operation is validated against the state left by the ones before it (they are
    /// applied as we go and taken back if a later one fails). One zxid either way; the reply header's error
    /// stays 0 and the results carry the failure (§4.8).
    func multi(_ operations: [MultiOperation], xid: Int32, connection: ConnectionID, sessionID: Int64) {
        let transaction = Transaction(
            zxid: lastZxid + 1, time: clock.wallMilliseconds(), sessionID: sessionID, body: .multi([]))
        var bodies: [TransactionBody] = []
        var undos: [Undo] = []
        var results: [MultiResult] = []
        var events: [WatchTrigger] = []
        var size = 8
        tree.quotaTextJournal = []
        defer { tree.quotaTextJournal = nil }
        for (index, operation) in operations.enumerated() {
            do throws(KeeperFailure) {
                let body = try prepare(operation, connection: connection, sessionID: sessionID)
                size += TransactionCodec.encodedSize(of: body)
                if size > transactionSizeLimit { throw KeeperFailure(.badArguments) }
                undos.append(applyBody(body, transaction: transaction, events: &events))
                // After the operation's own undo: its statistics rewrites are taken back before it is.
                for (node, data) in tree.quotaTextJournal ?? [] { undos.append(.quotaText(node: node, data: data)) }
                tree.quotaTextJournal?.removeAll(keepingCapacity: true)
                bodies.append(body)
                results.append(result(of: operation, body: body))
            } catch {
                tree.quotaTextJournal = nil
                tree.quotaStatisticsFrozen = true
                for undo in undos.reversed() { self.undo(undo) }
                tree.quotaStatisticsFrozen = false
                activity.discardWrites()
                var failed: [MultiResult] = Array(repeating: .error(.ok), count: index)
                failed.append(.error(error.code))
                failed.append(
                    contentsOf: repeatElement(.error(.runtimeInconsistency), count: operations.count - index - 1))
                var errorTransaction = transaction
                errorTransaction.body = .error(error.code)
                recordApplied(errorTransaction)
                outputs.append(
                    .reply(connection, ReplyHeader(xid: xid, zxid: transaction.zxid), .multi(MultiResponse(failed))))
                return
            }
        }
        var committed = transaction
        committed.body = .multi(bodies)
        recordApplied(committed)
        dispatch(events, zxid: committed.zxid)
        outputs.append(
            .reply(connection, ReplyHeader(xid: xid, zxid: committed.zxid), .multi(MultiResponse(results))))
    }

    private func prepare(
        _ operation: MultiOperation, connection: ConnectionID, sessionID: Int64
    ) throws(KeeperFailure) -> TransactionBody {
        switch operation {
        case .create(let r), .create2(let r), .createContainer(let r):
            return try prepareCreate(r, ttl: -1, connection: connection, sessionID: sessionID)
        case .createTTL(let r):
            return try prepareCreate(r, connection: connection, sessionID: sessionID)
        case .delete(let r):
            return try prepareDelete(r, connection: connection)
        case .setData(let r):
            return try prepareSetData(r, connection: connection)
        case .check(let r):
            return try prepareCheck(r, connection: connection)
        case .getChildren, .getData:
            throw KeeperFailure(.marshallingError)
        }
    }

    /// A successful operation's result, read right after it was applied (as Apache records it).
    private func result(of operation: MultiOperation, body: TransactionBody) -> MultiResult {
        switch operation {
        case .create:
            return .create(path: body.createdPath)
        case .create2, .createContainer, .createTTL:
            return .create2(path: body.createdPath, stat: stat(at: body.createdPath))
        case .delete:
            return .delete
        case .setData(let r):
            return .setData(stat: stat(at: r.path))
        case .check:
            return .check
        case .getChildren, .getData:
            return .error(.marshallingError)
        }
    }

    /// The transaction that ends `sessionID`, for a client's closeSession and for expiry alike. It names the
    /// session's ephemerals (deleted in this order), so that its replay does not depend on which of them a fuzzy
    /// snapshot caught.
    func closeSessionBody(_ sessionID: Int64) -> TransactionBody {
        .closeSession(ephemeralPaths: (tree.ephemerals[sessionID] ?? []).sorted(by: >))
    }

    // MARK: Time-driven work

    /// Expires sessions whose deadline has passed: their ephemerals go (firing watches) and their connection
    /// is closed. Call on tick boundaries.
    func expireSessions() -> [CoreOutput] {
        let now = clock.monotonicMilliseconds()
        for sessionID in sessions.expired(now: now) {
            let connection = sessions[sessionID]?.connection
            if refusesWrites {
                // Without a log the ephemerals stay; the session is restored and expires again after a restart.
                sessions.remove(sessionID)
            } else {
                commit(sessionID: sessionID, body: closeSessionBody(sessionID))
            }
            if let connection {
                connections[connection]?.sessionID = nil
                connections[connection]?.isClosing = true
                outputs.append(.close(connection))
            }
        }
        return takeOutputs()
    }

    /// Deletes containers that had children and have none now, and TTL nodes that are childless and older
    /// than their TTL (Apache's `ContainerManager`), at most `limit` of them.
    func sweepContainers(limit: Int = .max) -> [CoreOutput] {
        if refusesWrites { return [] }
        let now = clock.wallMilliseconds()
        var candidates: [String] = []
        for path in tree.containersAndTTLNodes {
            guard let node = tree.node(at: path), node.childCount == 0 else { continue }
            switch node.kind {
            case .container:
                if node.childCreations > 0 { candidates.append(path) }
            case .ttl(let ttl):
                if now - node.mtime > ttl { candidates.append(path) }
            case .persistent, .session:
                break
            }
        }
        for path in candidates.sorted().prefix(max(0, limit)) {
            commit(sessionID: 0, body: .delete(path: path))
        }
        return takeOutputs()
    }
}
