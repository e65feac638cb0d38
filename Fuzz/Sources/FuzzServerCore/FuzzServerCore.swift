import FuzzSupport
import NIOCore
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// The server core driven by a sequence of steps decoded from the input: connections opening and closing,
/// sessions created, moved, closed and expired, and requests of every kind from several sessions on a small set
/// of paths (so that they meet). After every step the state must be consistent (`checkInvariants`); at the end,
/// replaying the transactions the core logged into a fresh core must rebuild the same tree.
@main struct FuzzServerCoreMain {
    static func main() { runFuzzer(fuzzServerCore) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerCore(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    var run = CoreRun(&input)
    var steps = 0
    while !input.isExhausted && steps < 400 {
        // A step that did nothing (no connection to send on, none left to close...) changed no state: the
        // invariants still hold as they did after the step before.
        let transactionsBefore = run.log.transactions.count
        let nodesBefore = run.core.tree.nodeCount
        run.scratch.beginStep()
        if run.step(&input) { run.checkAfterStep(transactionsBefore: transactionsBefore, nodesBefore: nodesBefore) }
        run.lastZxid = run.core.lastZxid
        steps += 1
    }
    // The whole tree at the end, whatever the last step was.
    run.checkInvariants()
    run.checkReplay()
    return 0
}

final class ManualClock: ServerClock, @unchecked Sendable {
    var milliseconds: Int64 = 1_000_000
    func wallMilliseconds() -> Int64 { 1_700_000_000_000 + milliseconds }
    func monotonicMilliseconds() -> Int64 { milliseconds }
}

final class KeptLog: TransactionLog {
    var transactions: [Transaction] = []
    var durableZxid: Int64 { transactions.last?.zxid ?? 0 }
    func append(_ transaction: Transaction) { transactions.append(transaction) }
    func sync(completion: @escaping (Result<Int64, PersistenceError>) -> Void) { completion(.success(durableZxid)) }
}

let superCredentials = Array("super:secret".utf8)
/// Computed once: a SHA-1 per input is a cost the target does not need to pay again and again.
let superDigest = AccessControl.digest(credentials: superCredentials)
/// The digest ACL of user `u1` (password `p`), computed once for the same reason.
let userDigest = AccessControl.digest(credentials: Array("u1:p".utf8))

struct CoreRun {
    /// Which of `configurations` the input chose: an index, so that copies of this struct (closures capture it)
    /// do not copy a configuration's fifty fields.
    let configurationIndex: Int
    let clock = ManualClock()
    let log = KeptLog()
    let core: ServerCore
    var open: [ConnectionID] = []
    var nextConnection = 1
    var nextXid: Int32 = 1
    var lastZxid: Int64 = 0
    let scratch = InvariantScratch.shared

    /// The eight configurations the first byte chooses from (enforceQuota, TTL nodes, skipACL), made once.
    static let configurations: [ServerConfiguration] = (0..<8).map { choice in
        var configuration = ServerConfiguration()
        configuration.tickTime = 2000
        configuration.enforceQuota = choice & 1 != 0
        configuration.extendedTypesEnabled = choice & 2 != 0
        configuration.skipACL = choice & 4 != 0
        configuration.superDigest = superDigest
        return configuration
    }

    init(_ input: inout FuzzInput) {
        let flags = Int(input.byte())
        // skipACL only when both bits 2 and 3 are set, as before (so that most inputs check ACLs).
        configurationIndex = flags & 3 | (flags & 12 == 12 ? 4 : 0)
        core = ServerCore(
            configuration: Self.configurations[configurationIndex], clock: clock, log: log,
            makePassword: { Array(repeating: 7, count: 16) })
    }

    // MARK: Steps

    /// Runs one step; false when it did nothing to the core (its inputs are still consumed the same way).
    mutating func step(_ input: inout FuzzInput) -> Bool {
        switch input.below(16) {
        case 0:
            guard open.count < 5 else { return false }
            connect(sessionID: 0, password: [], &input)
        case 1:
            // A session moves to a new connection (a client reconnecting), with its password or a wrong one.
            guard
                let session = core.sessions.sessions.values.sorted(by: { $0.id < $1.id }).first(where: { _ in
                    input.bool()
                })
            else { return false }
            connect(sessionID: session.id, password: input.bool() ? session.password : [1, 2, 3], &input)
        case 2:
            guard !open.isEmpty else { return false }
            closeConnection(open[input.below(open.count)])
        case 3:
            clock.milliseconds += Int64(input.below(8)) * 1000
            carryOut(core.expireSessions())
        case 4:
            clock.milliseconds += Int64(input.below(4)) * 1000
            carryOut(core.sweepContainers(limit: input.below(4)))
        default:
            guard !open.isEmpty else { return false }
            let connection = open[input.below(open.count)]
            send(request(&input), on: connection, &input)
        }
        return true
    }

    mutating func connect(sessionID: Int64, password: [UInt8], _ input: inout FuzzInput) {
        let connection = ConnectionID(nextConnection)
        nextConnection += 1
        scratch.connectionsOrWatchesChanged = true
        core.connectionOpened(connection, remoteAddress: input.pick(["127.0.0.1", "10.0.0.1", "::1"]))
        open.append(connection)
        let timeout = Int32(input.pick([0, 2000, 4000, 10_000, 100_000]))
        carryOut(
            core.connect(
                connection,
                request: ConnectRequest(
                    lastZxidSeen: input.bool() ? 0 : core.lastZxid + Int64(input.below(2)), timeout: timeout,
                    sessionID: sessionID, password: password, readOnly: false)))
    }

    mutating func closeConnection(_ connection: ConnectionID) {
        core.connectionClosed(connection)
        open.removeAll { $0 == connection }
        scratch.connectionsOrWatchesChanged = true
    }

    /// Does what the network layer does with the core's outputs: closes the connections it is told to close.
    mutating func carryOut(_ outputs: [CoreOutput]) {
        for output in outputs {
            switch output {
            case .reply(_, let header, _):
                fuzzCheck(header.zxid <= core.lastZxid, "a reply with zxid \(header.zxid) after \(core.lastZxid)")
            case .notification(let connection, let zxid, _):
                fuzzCheck(zxid <= core.lastZxid, "a notification with zxid \(zxid)")
                fuzzCheck(open.contains(connection), "a notification for closed connection \(connection)")
            case .connectResponse, .close:
                break
            case .acceptKerberosToken:
                // Only with a Kerberos login configured, which this target does not configure.
                fuzzCheck(false, "a Kerberos token to accept without Kerberos")
            }
        }
        for case .close(let connection) in outputs where open.contains(connection) {
            closeConnection(connection)
        }
    }

    mutating func send(_ request: FuzzRequest, on connection: ConnectionID, _ input: inout FuzzInput) {
        let xid = nextXid
        nextXid += 1
        // One buffer for every request of the input (cleared, its storage kept): the core reads the body and
        // keeps none of it.
        var body = scratch.takeRequestBody()
        defer { scratch.requestBody = body }
        let opCode: OpCode
        switch request {
        case .record(let request):
            request.encodeBody(into: &body)
            opCode = request.opCode
        case .raw(let code, let bytes):
            body.writeBytes(bytes)
            opCode = code
        }
        let live = core.connections[connection].map { !$0.isClosing && $0.sessionID != nil } ?? false
        let outputs = core.request(connection, header: RequestHeader(xid: xid, opCode: opCode), body: &body)
        if case .raw = request { scratch.rawRequestSent = true }
        if Self.mayChangeWatchesUnlogged(request) { scratch.connectionsOrWatchesChanged = true }
        if live {
            var replies = 0
            for case .reply(let to, let header, _) in outputs
            where to == connection && (header.xid == xid || header.xid == SpecialXid.ping) {
                replies += 1
            }
            fuzzCheck(replies == 1, "\(opCode) got \(replies) replies on a live connection")
        } else {
            fuzzCheck(outputs.isEmpty, "\(opCode) on a connection without a session was answered")
        }
        carryOut(outputs)
    }

    enum FuzzRequest {
        case record(ZooKeeperRequest)
        case raw(OpCode, [UInt8])
    }

    /// Whether the request can add or remove watches without logging a transaction: a write's watches fire with
    /// its transaction (every write logs one, a failed one an error), a closed connection's go when the target
    /// carries out the close; a raw request may be any of these.
    static func mayChangeWatchesUnlogged(_ request: FuzzRequest) -> Bool {
        guard case .record(let request) = request else { return true }
        switch request {
        case .exists(let r), .getData(let r), .getChildren(let r), .getChildren2(let r):
            return r.watch
        case .setWatches, .setWatches2, .addWatch, .removeWatches:
            return true
        case .create, .create2, .createContainer, .createTTL, .delete, .setData, .getACL, .setACL, .sync, .ping,
            .check, .multi, .multiRead, .reconfig, .checkWatches, .deleteContainer, .auth, .sasl, .getEphemerals,
            .getAllChildrenNumber, .whoAmI, .closeSession:
            return false
        }
    }

    // MARK: Requests decoded from the input

    static let paths = [
        "/", "/a", "/a/b", "/a/b/c", "/b", "/b/c", "/a/s", "/zookeeper", "/zookeeper/quota", "/zookeeper/config",
        "/zookeeper/quota/a", QuotaPaths.limitPath("/a"), QuotaPaths.statPath("/a"), "", "a", "/a/", "/c\u{0}",
        "/a//b",
    ]

    /// A path for a request; every path a step names is kept in `scratch.namedPaths`, for the checks after it.
    func path(_ input: inout FuzzInput) -> String {
        let path =
            input.below(8) == 0 ? String(decoding: input.bytes(maximum: 6), as: UTF8.self) : input.pick(Self.paths)
        scratch.namedPaths.append(path)
        return path
    }

    func data(_ input: inout FuzzInput) -> [UInt8]? {
        switch input.below(6) {
        case 0: return nil
        case 1: return Array("count=-1,bytes=-1=;byteHardLimit=8;countHardLimit=3".utf8)
        case 2: return Array("count=0,bytes=0".utf8)
        default: return input.bytes(maximum: 12)
        }
    }

    func acl(_ input: inout FuzzInput) -> [ACL] {
        switch input.below(7) {
        case 0: return ACL.openUnsafe
        case 1: return ACL.readUnsafe
        case 2: return [ACL(permissions: .all, id: Id(scheme: "auth", id: ""))]
        case 3:
            return [ACL(permissions: .all, id: Id(scheme: "digest", id: userDigest))]
        case 4:
            return [
                ACL(
                    permissions: Permissions(rawValue: Int32(input.below(32))),
                    id: Id(scheme: "ip", id: input.pick(["127.0.0.1", "10.0.0.0/8", "::1", "bad"])))
            ]
        case 5: return []
        default:
            return ACL.openUnsafe + [
                ACL(
                    permissions: .read,
                    id: Id(scheme: input.pick(["world", "nosuch"]), id: input.pick(["anyone", "x"])))
            ]
        }
    }

    func version(_ input: inout FuzzInput) -> Int32 { input.bool() ? -1 : Int32(input.below(4)) }

    func createRequest(_ input: inout FuzzInput) -> CreateRequest {
        CreateRequest(
            path: path(&input), data: data(&input), acl: acl(&input),
            flags: input.below(10) == 0 ? Int32(input.below(16)) - 4 : input.pick(CreateMode.allCases).rawValue)
    }

    func multiOperation(_ input: inout FuzzInput) -> MultiOperation {
        switch input.below(8) {
        case 0: return .create(createRequest(&input))
        case 1: return .create2(createRequest(&input))
        case 2: return .delete(PathVersionRequest(path: path(&input), version: version(&input)))
        case 3: return .setData(SetDataRequest(path: path(&input), data: data(&input), version: version(&input)))
        case 4: return .check(PathVersionRequest(path: path(&input), version: version(&input)))
        case 5: return .getData(path: path(&input))
        case 6: return .getChildren(path: path(&input))
        default:
            let r = createRequest(&input)
            return .createTTL(
                CreateTTLRequest(
                    path: r.path, data: r.data, acl: r.acl, flags: r.flags, ttl: Int64(input.below(3000)) - 1))
        }
    }

    func request(_ input: inout FuzzInput) -> FuzzRequest {
        let watch = input.bool()
        switch input.below(28) {
        case 0, 1: return .record(.create(createRequest(&input)))
        case 2: return .record(.create2(createRequest(&input)))
        case 3: return .record(.createContainer(createRequest(&input)))
        case 4:
            let r = createRequest(&input)
            return .record(
                .createTTL(
                    CreateTTLRequest(
                        path: r.path, data: r.data, acl: r.acl, flags: r.flags, ttl: Int64(input.below(5000)) - 1)))
        case 5, 6: return .record(.delete(PathVersionRequest(path: path(&input), version: version(&input))))
        case 7, 8:
            return .record(.setData(SetDataRequest(path: path(&input), data: data(&input), version: version(&input))))
        case 9: return .record(.getData(PathWatchRequest(path: path(&input), watch: watch)))
        case 10: return .record(.exists(PathWatchRequest(path: path(&input), watch: watch)))
        case 11: return .record(.getChildren(PathWatchRequest(path: path(&input), watch: watch)))
        case 12: return .record(.getChildren2(PathWatchRequest(path: path(&input), watch: watch)))
        case 13: return .record(.getACL(PathRequest(path: path(&input))))
        case 14: return .record(.setACL(SetACLRequest(path: path(&input), acl: acl(&input), version: version(&input))))
        case 15: return .record(.getAllChildrenNumber(PathRequest(path: path(&input))))
        case 16: return .record(.getEphemerals(PathRequest(path: input.pick(["", "/", "/a", "/b/"]))))
        case 17: return .record(.addWatch(AddWatchRequest(path: path(&input), rawMode: Int32(input.below(3)))))
        case 18:
            let request = WatchesRequest(path: path(&input), type: WatcherType(rawValue: Int32(input.below(7))))
            return .record(input.bool() ? .checkWatches(request) : .removeWatches(request))
        case 19:
            let watches = SetWatches(
                relativeZxid: Int64(input.below(Int(max(1, min(core.lastZxid + 2, 60000))))),
                dataWatches: [path(&input)], existWatches: [path(&input)], childWatches: [path(&input)],
                persistentWatches: input.bool() ? [path(&input)] : [],
                persistentRecursiveWatches: input.bool() ? [path(&input)] : [])
            return .record(input.bool() ? .setWatches2(watches) : .setWatches(watches))
        case 20, 21:
            return .record(.multi(MultiRequest((0..<input.below(5)).map { _ in multiOperation(&input) })))
        case 22: return .record(.multiRead(MultiRequest((0..<input.below(4)).map { _ in multiOperation(&input) })))
        case 23:
            let credentials = input.pick(["u1:p", "u2:q", "super:secret", "nocolon", ""])
            return .record(
                .auth(
                    AuthPacket(scheme: input.pick(["digest", "digest", "ip", "nosuch"]), auth: Array(credentials.utf8)))
            )
        case 24: return .record(input.pick([.whoAmI, .ping, .sync(PathRequest(path: "/a"))]))
        case 25: return .record(input.bool() ? .closeSession : .deleteContainer(path: path(&input)))
        case 26:
            return .record(
                .reconfig(
                    ReconfigRequest(joiningServers: nil, leavingServers: nil, newMembers: nil, currentConfigID: -1)))
        default:
            // Any opcode with any body, as a confused or hostile client sends them.
            return .raw(OpCode(rawValue: Int32(input.below(120)) - 12), input.bytes(maximum: 40))
        }
    }

    // MARK: Invariants

    /// The checks after one step. The sessions, connections and watches are checked after every step that can have
    /// changed them: one that logged a transaction (sessions created and closed, watches fired), opened or closed a
    /// connection, or sent a request that sets or removes watches (or a raw one); the owners in the ephemerals index
    /// after every step that logged one. A step that logged no transaction (a read, a watch, a connection) changed
    /// no node. Otherwise the nodes the step can have changed are checked (`checkNode`, and their place in the
    /// indexes): the paths the request named, the paths of the transactions it logged (sequential names, the
    /// sweep's deletes, a closed session's ephemerals as its record names them), and the parents of
    /// all of them; after a write under `/zookeeper`, the quota roots too. The tree is walked in full
    /// (`checkInvariants`) when the step may have changed nodes at paths not known here: a raw request that logged
    /// something, or the node count moved without a transaction. Whatever a step changed elsewhere (a fault the
    /// core did not log, a quota's statistics node) is caught by the full walk at the end of the input and by the
    /// replay check, which compares every node with the log's account of it.
    func checkAfterStep(transactionsBefore: Int, nodesBefore: Int) {
        fuzzCheck(core.lastZxid >= lastZxid, "zxid went back")
        let logged = log.transactions[transactionsBefore...]
        // Sessions, connections and watches change only with a transaction (sessions created and closed, watches
        // fired), a connection opened or closed, or a request that sets or removes watches.
        if scratch.connectionsOrWatchesChanged || !logged.isEmpty { checkSessionsConnectionsAndWatches() }
        let tree = core.tree
        if logged.isEmpty {
            if tree.nodeCount != nodesBefore { checkInvariants() }
            return
        }
        for (owner, paths) in tree.ephemerals {
            fuzzCheck(!paths.isEmpty, "the ephemerals index keeps an owner without ephemerals")
            fuzzCheck(core.sessions.sessions[owner] != nil, "ephemerals indexed for dead session \(owner)")
        }
        if scratch.rawRequestSent {
            checkInvariants()
            return
        }
        var touched = scratch.takeTouched()
        var parents = scratch.takeParents()
        defer {
            touched.removeAll(keepingCapacity: true)
            parents.removeAll(keepingCapacity: true)
            scratch.touched = touched
            scratch.parents = parents
        }
        for transaction in logged where !Self.collectPaths(of: transaction.body, into: &touched) {
            checkInvariants()
            return
        }
        for path in scratch.namedPaths where !touched.contains(path) { touched.append(path) }
        // A write under /zookeeper can set or remove a quota.
        if touched.contains(where: { $0.utf8.starts(with: "/zookeeper".utf8) }) { checkQuotaRoots(in: tree) }
        for path in touched {
            let (parent, node) = Self.resolve(path, in: tree)
            if let node { checkNode(node, path: path, in: tree, findingChildren: false) }
            // In an index only as a node of its kind (`checkNode` checked the other way).
            let kind = node?.kind
            if tree.containersAndTTLNodes.contains(path) {
                let isContainerOrTTL: Bool
                switch kind {
                case .container, .ttl: isContainerOrTTL = true
                case .session, .persistent, nil: isContainerOrTTL = false
                }
                fuzzCheck(isContainerOrTTL, "\(path): in the container index but \(String(describing: kind))")
            }
            for (owner, paths) in tree.ephemerals where paths.contains(path) {
                fuzzCheck(kind == .session(owner), "\(path): indexed as an ephemeral of \(owner)")
            }
            // The parent of a node created or deleted, once.
            if let parent, !parents.contains(where: { $0 === parent }) {
                parents.append(parent)
                checkNode(
                    parent, path: String(ZooKeeperPath.parent(of: path)), in: tree, findingChildren: false)
            }
        }
    }

    /// The node at `path` and its parent, found in one pass (nil where there is none; both nil for a path that is
    /// not absolute).
    static func resolve(_ path: String, in tree: DataTree) -> (parent: Znode?, node: Znode?) {
        var utf8 = path.utf8[...]
        guard utf8.first == UInt8(ascii: "/") else { return (nil, nil) }
        if utf8.count == 1 { return (nil, tree.root) }
        utf8 = utf8.dropFirst()
        var current = tree.root
        while true {
            let end = utf8.firstIndex(of: UInt8(ascii: "/")) ?? utf8.endIndex
            let component = utf8[utf8.startIndex..<end]
            if end == utf8.endIndex {
                return (current, component.isEmpty ? nil : current.child(named: Substring(component)))
            }
            guard !component.isEmpty, let child = current.child(named: Substring(component)) else { return (nil, nil) }
            current = child
            utf8 = utf8[utf8.index(after: end)...]
        }
    }

    /// Adds the paths a transaction changes; false when they are not all in it (a close logged without its
    /// ephemerals' paths, which zkserver no longer writes). A closed session's ephemerals are checked at the paths
    /// its record names; had the core deleted others, the replay check (which deletes only those) would differ.
    /// A failed write names no path: what a failed multi applied and undid is at paths its request named, which
    /// the caller adds (a raw request's are not known: the caller walks the tree after those).
    static func collectPaths(of body: TransactionBody, into paths: inout [String]) -> Bool {
        switch body {
        case .createSession, .error:
            return true
        case .closeSession(let ephemeralPaths):
            guard let ephemeralPaths else { return false }
            for path in ephemeralPaths where !paths.contains(path) { paths.append(path) }
            return true
        case .create(let path, _, _, _, _), .delete(let path), .setData(let path, _, _), .setACL(let path, _, _),
            .check(let path):
            if !paths.contains(path) { paths.append(path) }
            return true
        case .multi(let bodies):
            for body in bodies where !collectPaths(of: body, into: &paths) { return false }
            return true
        }
    }

    /// What must hold of one node and its child table (run on every node by the walk, on the nodes a step touched
    /// otherwise).
    /// `findingChildren`: also look each child up by its name (the full walk does; after a step, the children the
    /// step named were found by name when their paths were resolved).
    func checkNode(_ node: Znode, path: String, in tree: DataTree, findingChildren: Bool) {
        let lastZxid = core.lastZxid
        let stat = node.stat
        fuzzCheck(stat.numChildren == Int32(node.childCount), "\(path): numChildren")
        fuzzCheck(stat.mzxid >= stat.czxid && stat.pzxid >= stat.czxid, "\(path): mzxid/pzxid before czxid")
        fuzzCheck(stat.mzxid <= lastZxid && stat.pzxid <= lastZxid, "\(path): zxid from the future")
        let initialChildren = path == "/" ? 1 : (path == "/zookeeper" ? 2 : 0)
        fuzzCheck(
            Int(node.childCreations) >= node.childCount - initialChildren,
            "\(path): \(node.childCount) children but \(node.childCreations) creations")
        fuzzCheck(stat.cversion >= -Int32(initialChildren), "\(path): cversion \(stat.cversion)")
        switch node.kind {
        case .session(let owner):
            fuzzCheck(core.sessions.sessions[owner] != nil, "\(path): ephemeral of dead session \(owner)")
            fuzzCheck(node.childCount == 0, "\(path): an ephemeral with children")
            fuzzCheck(
                tree.ephemerals[owner]?.contains(path) == true, "\(path): not in the ephemerals index of \(owner)")
        case .container, .ttl:
            fuzzCheck(tree.containersAndTTLNodes.contains(path), "\(path): not in the container index")
        case .persistent:
            break
        }
        // The child table holds childCount children, each found under its own name (so the names are
        // distinct: a second child of the same name would not be the one found).
        var children = 0
        let pzxid = node.pzxid
        for child in node.children {
            children += 1
            if findingChildren {
                fuzzCheck(node.child(named: child.name) === child, "\(path): child \(child.name) not found by name")
            }
            fuzzCheck(child.czxid <= pzxid || pzxid == 0, "\(path)/\(child.name): created after its parent's pzxid")
        }
        fuzzCheck(children == node.childCount, "\(path): child table count")
    }

    /// Watches go with their connection; sessions and connections point at each other (`open` holds each
    /// connection once).
    func checkSessionsConnectionsAndWatches() {
        let (watchersByPath, watchersIndexed) = core.watches.watchingConnections
        fuzzCheck(watchersByPath == watchersIndexed, "the watch tables disagree")
        let open = self.open
        fuzzCheck(
            watchersByPath.allSatisfy { open.contains($0) },
            "watches of closed connections \(watchersByPath.subtracting(open))")
        // The core's tables read once (each read of a class's property is an exclusivity check and a retain).
        let connections = core.connections
        let sessions = core.sessions.sessions
        fuzzCheck(
            connections.count == open.count && open.allSatisfy { connections[$0] != nil },
            "connections \(connections.keys) vs open \(open)")
        for session in sessions.values {
            if let connection = session.connection {
                fuzzCheck(
                    connections[connection]?.sessionID == session.id,
                    "session \(session.id) on a connection that does not carry it")
            }
        }
        for (connection, context) in connections {
            if let id = context.sessionID {
                fuzzCheck(sessions[id] != nil, "connection \(connection) carries dead session \(id)")
            }
        }
    }

    /// The whole state is consistent: every node (`checkNode`), reached once by a walk of the tree, counted and
    /// sized as the tree says, its indexes and quota roots as the walk finds them. Run at the end of every input and
    /// after the steps whose effect is not confined to the paths they name. Written to allocate little (under the
    /// address sanitizer allocations are most of its cost): the indexes are compared with the walk by membership
    /// and count instead of by building sets of paths.
    func checkInvariants() {
        fuzzCheck(core.lastZxid >= lastZxid, "zxid went back")
        let tree = core.tree
        var nodes = 0
        var size = 0
        var ephemeralCount = 0
        var containerCount = 0
        var stack = scratch.takeStack()
        var visited = scratch.takeVisited()
        defer {
            stack.removeAll(keepingCapacity: true)
            visited.removeAll(keepingCapacity: true)
            scratch.giveBack(stack, visited)
        }
        stack.append(("/", tree.root))
        while let (path, node) = stack.popLast() {
            nodes += 1
            // Every node is reached once: no node sits in two child tables, or twice in one.
            fuzzCheck(visited.insert(ObjectIdentifier(node)).inserted, "\(path): reached twice")
            size += (path == "/" ? 1 : path.utf8.count) + node.dataLength
            checkNode(node, path: path, in: tree, findingChildren: true)
            switch node.kind {
            case .session: ephemeralCount += 1
            case .container, .ttl: containerCount += 1
            case .persistent: break
            }
            for child in node.children {
                let name = child.name
                stack.append((path == "/" ? "/" + name : path + "/" + name, child))
            }
        }
        fuzzCheck(nodes == tree.nodeCount, "nodeCount \(tree.nodeCount), walked \(nodes)")
        fuzzCheck(size == tree.approximateDataSize, "approximateDataSize \(tree.approximateDataSize), walked \(size)")
        // Each ephemeral and container walked is in its index (checked above, and the walk's paths are distinct);
        // with as many in the index as walked, index and tree agree.
        var indexedEphemerals = 0
        for paths in tree.ephemerals.values {
            fuzzCheck(!paths.isEmpty, "the ephemerals index keeps an owner without ephemerals")
            indexedEphemerals += paths.count
        }
        fuzzCheck(indexedEphemerals == ephemeralCount, "the ephemerals index disagrees with the tree")
        fuzzCheck(tree.containersAndTTLNodes.count == containerCount, "the container index disagrees with the tree")
        checkQuotaRoots(in: tree)
        checkSessionsConnectionsAndWatches()
    }

    /// The quota roots the tree keeps are the owners of the limits nodes under `/zookeeper/quota`.
    func checkQuotaRoots(in tree: DataTree) {
        var limitOwners: Set<String> = []
        if let quota = tree.node(at: QuotaPaths.quotaZookeeper) {
            var stack = [(QuotaPaths.quotaZookeeper, quota)]
            while let (path, node) = stack.popLast() {
                for child in node.children {
                    let name = child.name
                    if name == QuotaPaths.limitNode && path.hasPrefix(QuotaPaths.quotaZookeeper + "/") {
                        // The root never has a quota (Apache's trie cannot hold it).
                        let key = DataTree.quotaKey(path.dropFirst(QuotaPaths.quotaZookeeper.count))
                        if key != "/" { limitOwners.insert(key) }
                    }
                    stack.append((path + "/" + name, child))
                }
            }
        }
        fuzzCheck(limitOwners == tree.quotaRoots, "quota roots \(tree.quotaRoots) but limits nodes for \(limitOwners)")
    }

    /// The log rebuilds the same tree.
    func checkReplay() {
        let replayed = ServerCore(
            configuration: Self.configurations[configurationIndex], clock: ManualClock(), log: KeptLog())
        for transaction in log.transactions { replayed.replay(transaction) }
        fuzzCheck(replayed.lastZxid == core.lastZxid, "replay ends at \(replayed.lastZxid), not \(core.lastZxid)")
        var stack: [(String, Znode, Znode?)] = [("/", core.tree.root, replayed.tree.root)]
        while let (path, node, other) = stack.popLast() {
            guard let other else {
                fuzzCheck(false, "\(path) is missing after replay")
                return
            }
            fuzzCheck(node.stat == other.stat, "\(path): stat \(node.stat) vs replayed \(other.stat)")
            fuzzCheck(node.data == other.data, "\(path): data differs after replay")
            fuzzCheck(core.tree.acl(of: node) == replayed.tree.acl(of: other), "\(path): ACL differs after replay")
            fuzzCheck(node.childCount == other.childCount, "\(path): children differ after replay")
            for child in node.children {
                let name = child.name
                stack.append((path == "/" ? "/" + name : path + "/" + name, child, other.child(named: name)))
            }
        }
        fuzzCheck(
            Set(replayed.sessions.sessions.keys) == Set(core.sessions.sessions.keys), "sessions differ after replay")
    }
}

/// State kept from step to step and input to input (emptied, its storage kept) so that a step does not allocate
/// it again: the invariant walk's stack and visited set, the paths a step named and touched, the request buffer.
/// libFuzzer calls the target from one thread.
final class InvariantScratch: @unchecked Sendable {
    nonisolated(unsafe) static let shared = InvariantScratch()
    private var stack: [(String, Znode)] = []
    private var visited = Set<ObjectIdentifier>()
    /// Every path the current step's request named (`CoreRun.path`).
    var namedPaths: [String] = []
    /// The current step sent a raw request (any opcode, any body: what it changed is not known here).
    var rawRequestSent = false
    /// The current step opened or closed a connection or sent a request that sets or removes watches.
    var connectionsOrWatchesChanged = false
    var touched: [String] = []
    var parents: [Znode] = []
    var requestBody = ByteBuffer()

    func beginStep() {
        namedPaths.removeAll(keepingCapacity: true)
        rawRequestSent = false
        connectionsOrWatchesChanged = false
    }

    func takeStack() -> [(String, Znode)] {
        var taken: [(String, Znode)] = []
        swap(&taken, &stack)
        return taken
    }

    func takeVisited() -> Set<ObjectIdentifier> {
        var taken = Set<ObjectIdentifier>()
        swap(&taken, &visited)
        return taken
    }

    func takeTouched() -> [String] {
        var taken: [String] = []
        swap(&taken, &touched)
        return taken
    }

    func takeParents() -> [Znode] {
        var taken: [Znode] = []
        swap(&taken, &parents)
        return taken
    }

    /// The request buffer, empty.
    func takeRequestBody() -> ByteBuffer {
        var taken = ByteBuffer()
        swap(&taken, &requestBody)
        taken.clear()
        return taken
    }

    /// Takes back the emptied stack and set.
    func giveBack(_ stack: [(String, Znode)], _ visited: Set<ObjectIdentifier>) {
        self.stack = stack
        self.visited = visited
    }
}
