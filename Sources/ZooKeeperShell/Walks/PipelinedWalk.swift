import ZooKeeper

/// A depth-first walk of a subtree that keeps up to `window` reads in flight, asked in the order the walk will
/// need their answers, so that a tree of N znodes costs about N / window round trips instead of N; each znode is
/// handed to `visit` in pre-order (children sorted as zkCli sorts them) as soon as it is known, so output streams
/// while the walk goes on.
///
/// The znodes' reads go out packed in multiRead requests (`znodesPerMultiRead` znodes each): a getChildren per
/// znode, and a getData when the walk needs its data or stat (`readsData`, `readsStat`); a getACL, which a
/// multiRead cannot carry, goes alone beside it (`readsACL`). Most of what a read costs Apache is the passage of its
/// request through the server's processor chain, so packing the reads (N / 32 requests instead of N to 3N) is what
/// speeds up a walk bound by Apache. The getACLs, one request per znode, are spread over the walk's session and the
/// `readSessions` opened beside it once the walk has more than a window to read (Apache serves one session's
/// requests one after another); a getACL that one of those could not answer (its connection or its credentials
/// failed) goes again on the walk's session. The root is read alone (as the commands that read one znode read it),
/// and so is every znode once a multiRead's answer was over the client's packet limit (big data) or the server did
/// not know multiRead (before 3.6) or a multiRead was lost with the connection (how a server before 3.6 refuses
/// one with reads of ours ahead of it): the walk goes on that way. The requests go out in batches through the
/// client's `ReadPipeline`, without a task or an await each.
///
/// A znode that vanishes during the walk is skipped; one that cannot be read (NoAuth, ...) is reported to
/// `unreadable` and the walk goes on. A read lost with the connection is asked again once the client has
/// reconnected (same session); the walk fails only when the session is gone or the connection does not come back.
/// A cancelled task stops the walk within one window, saying how far it got.
///
/// `order: .paths` hands the znodes over in the order of their sorted paths instead (`/a`, `/a-1`, `/a-1/x`,
/// `/a/x`: a node's subtree comes after the siblings whose names sort before its name and `/`), so that two
/// walks can be merged path by path (`diff -r`).
struct PipelinedWalk {
    /// A znode reached by the walk.
    struct Node: Sendable {
        var path: String
        /// 0 for the root.
        var depth: Int
        var stat: Stat
        /// The names of its children, sorted (empty below `maximumDepth`, whose children are not listed).
        var children: [String]
        /// Its data, when the walk reads it (`readsData`).
        var data: [UInt8]?
        /// Its ACL, when the walk reads it (`readsACL`).
        var acl: [ACL]?
        /// For each level from the root's children down to this node: whether the node at that level is the last
        /// of its siblings (what a tree drawing needs).
        var lastAtLevel: [Bool]
    }

    /// The order in which znodes are handed over.
    enum Order {
        /// Pre-order, children sorted as zkCli sorts them (`ls -R`, `tree`).
        case preOrder
        /// The sorted order of the znodes' paths.
        case paths
    }

    let client: ZooKeeperClient
    /// Reads in flight at most (a request alone or one read of a multiRead; a znode costs one to three: see
    /// `readsData`, `readsStat`, `readsACL`). The memory held is that of the answers not yet visited.
    var window = 768
    /// Znodes deeper than this are not visited (nil: no limit).
    var maximumDepth: Int? = nil
    /// Whether each znode's data is read too (a getData sent with its getChildren2).
    var readsData = false
    /// Whether each znode's ACL is read too.
    var readsACL = false
    /// Whether each znode's stat is needed. When not (and its data is not read), a packed walk reads only the
    /// znode's children: `Node.stat` then holds only `numChildren`, the rest zero.
    var readsStat = true
    /// Whether reads go out packed in multiRead requests (else one request per read, as for a server before 3.6).
    var packsReads = true
    /// Znodes per multiRead request.
    var znodesPerMultiRead = 32
    var order = Order.preOrder
    /// More sessions like `client`'s for the getACLs (`readsACL`), opened when the walk is more than a window; nil:
    /// all on `client`. The caller closes them when the command ends.
    var readSessions: ReadSessions? = nil

    /// Walks the subtree of `root`. A root that cannot be read fails the walk with its error; a cancelled walk
    /// stops within one window and says how far it got.
    func run(
        from root: String, unreadable: (String, ZooKeeperError) -> Void, visit: (Node) async throws -> Void
    ) async throws {
        let walker = nodes(from: root)
        var visited = 0
        do {
            while let node = try await walker.next(unreadable: unreadable) {
                visited += 1
                try await visit(node)
            }
        } catch is CancellationError where visited > 0 {
            throw walker.interruption(visited: visited)
        }
    }

    /// The walk as a sequence to pull from, for callers that interleave walks.
    func nodes(from root: String) -> Walker {
        Walker(self, root: root)
    }

    /// How many windows' worth of znodes may be asked ahead of the walk (answered and waiting for their turn, or in
    /// flight): the bound of the memory it holds, beyond the path to the current znode.
    static let aheadPerWindow = 8

    /// How many times one znode's reads are asked again after a lost connection.
    static let reconnectAttempts = 3

    /// One walk in progress: the znodes still to visit, the reads in flight and the answers not yet visited.
    final class Walker {
        private let settings: PipelinedWalk
        private let pipeline: ReadPipeline
        private let root: String
        /// Whether the next reads go out packed in multiReads: until one is refused (too large, unknown to the
        /// server).
        private var packing: Bool
        /// Whether a packed znode gets a getData beside its getChildren.
        private let packsData: Bool
        /// The reads a znode costs now (what the window counts).
        private var readsPerZnode: Int {
            (packing ? (packsData ? 2 : 1) : (settings.readsData ? 2 : 1)) + (settings.readsACL ? 1 : 0)
        }

        private struct Pending {
            var path: String
            var depth: Int
            var lastAtLevel: [Bool]
            /// Whether its reads have been sent.
            var asked = false
            /// In `.paths` order: the place of the znode's children, read with the znode and held until here.
            var expands = false
        }

        private typealias Answer = Result<
            (children: [String], stat: Stat, data: [UInt8]?, acl: [ACL]?), ZooKeeperError
        >

        /// A znode's reads in flight, until all are answered.
        private struct Reading {
            var path: String
            var remaining: Int
            var attempts: Int
            /// Whether its getChildren (and getData) went in a multiRead.
            var packed: Bool
            /// The extra session its getACL went on (an index in `lanes`); nil for the walk's.
            var aclLane: Int? = nil
            var children: [String] = []
            var stat: Stat?
            var data: [UInt8]?
            var acl: [ACL]?
            var failure: ZooKeeperError?
        }

        /// The znodes still to visit, in reverse order: the next one is last.
        private var stack: [Pending]
        /// Answers not yet visited, by path; children sorted.
        private var answers: [String: Answer] = [:]
        private var readings: [Int: Reading] = [:]
        /// The multiReads in flight, by the ticket of their first znode: their znodes' tickets, and their reads.
        private var multiReads: [Int: (tickets: [Int], reads: Int)] = [:]
        private var nextTicket = 0
        /// Reads sent and not answered: what the window bounds.
        private var inFlight = 0
        /// Znodes asked and not yet visited (in flight, or answered and waiting for their turn): what bounds the
        /// memory the walk holds, at `aheadPerWindow` windows' worth.
        private var outstanding = 0
        /// For a znode answered and not yet expanded: the paths of its sorted children asked ahead, the first ones
        /// (asked before they were put on the stack; their paths are made once).
        private var childrenAsked: [String: [String]] = [:]
        /// In `.paths` order: the sorted children of znodes visited, until their place in the walk.
        private var heldChildren: [String: [String]] = [:]
        /// The znode the walk is at (for the report of an interrupted walk).
        private(set) var current: String
        /// The extra sessions of `readSessions` in use, in the order they came up; nil once one failed a read.
        private var lanes: [ZooKeeperClient?] = []
        /// Turns through the walk's session (0) and `lanes` (1...) for the getACLs.
        private var nextLane = 0

        fileprivate init(_ settings: PipelinedWalk, root: String) {
            self.settings = settings
            pipeline = ReadPipeline(client: settings.client)
            self.root = root
            packing = settings.packsReads
            packsData = settings.readsData || settings.readsStat
            stack = [Pending(path: root, depth: 0, lastAtLevel: [])]
            current = root
        }

        /// What a walk interrupted after `visited` znodes says.
        func interruption(visited: Int) -> CommandFailure {
            CommandFailure(
                "Interrupted after \(visited) znode\(visited == 1 ? "" : "s") (the next was \(current))",
                exitCode: ExitCode.interrupted)
        }

        /// The next znode of the walk; nil at its end. A root that cannot be read fails with its error; another
        /// znode that cannot be read goes to `unreadable` and the walk goes on.
        func next(unreadable: (String, ZooKeeperError) -> Void) async throws -> Node? {
            while let next = stack.last {
                if next.expands {
                    stack.removeLast()
                    push(children: heldChildren.removeValue(forKey: next.path) ?? [], of: next)
                    continue
                }
                current = next.path
                while answers[next.path] == nil {
                    askAhead(needed: !stack[stack.count - 1].asked)
                    try Task.checkCancellation()
                    try await receive(await pipeline.arrivals())
                }
                try Task.checkCancellation()
                stack.removeLast()
                outstanding -= 1
                guard let answer = answers.removeValue(forKey: next.path) else { continue }
                switch answer {
                case .failure(let error) where next.depth == 0:
                    throw CommandFailure(error)
                case .failure(let error) where error.code == .noNode:
                    continue
                case .failure(let error) where Self.endsTheWalk(error):
                    throw CommandFailure(
                        "\(Shell.message(for: error)): the connection did not come back, the walk stops at \(next.path)",
                        exitCode: 1)
                case .failure(let error):
                    unreadable(next.path, error)
                    continue
                case .success(let (children, stat, data, acl)):
                    let sorted = expands(depth: next.depth) ? children : []
                    switch settings.order {
                    case .preOrder:
                        push(children: sorted, of: next)
                    case .paths where next.depth == 0:
                        push(children: sorted, of: next)
                    case .paths:
                        if !sorted.isEmpty { heldChildren[next.path] = sorted }
                    }
                    return Node(
                        path: next.path, depth: next.depth, stat: stat, children: sorted, data: data, acl: acl,
                        lastAtLevel: next.lastAtLevel)
                }
            }
            return nil
        }

        /// Whether the children of a znode at `depth` are walked.
        private func expands(depth: Int) -> Bool {
            settings.maximumDepth.map { depth < $0 } ?? true
        }

        /// Puts the children of `parent` on the stack, the first on top.
        private func push(children sorted: [String], of parent: Pending) {
            guard !sorted.isEmpty else { return }
            let askedAhead = childrenAsked.removeValue(forKey: parent.path) ?? []
            var entries: [Pending] = []
            entries.reserveCapacity(sorted.count * 2)
            // The siblings share one array of levels; the last one's is a copy.
            var lastAtLevel = parent.lastAtLevel + [false]
            for (index, child) in sorted.enumerated() {
                let asked = index < askedAhead.count
                if index == sorted.count - 1 { lastAtLevel[lastAtLevel.count - 1] = true }
                entries.append(
                    Pending(
                        path: asked ? askedAhead[index] : ZooKeeperPath.join(parent.path, child),
                        depth: parent.depth + 1, lastAtLevel: lastAtLevel, asked: asked))
            }
            if case .paths = settings.order {
                let expandable = settings.maximumDepth.map { parent.depth + 1 < $0 } ?? true
                if expandable {
                    // Each child's subtree sorts as its name followed by `/`, among its siblings' names.
                    var keyed: [(key: String, entry: Pending)] = []
                    for (child, entry) in zip(sorted, entries) {
                        keyed.append((child, entry))
                        var expansion = entry
                        expansion.expands = true
                        keyed.append((child + "/", expansion))
                    }
                    entries = keyed.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }.map(\.entry)
                }
            }
            stack.append(contentsOf: entries.reversed())
        }

        /// Sends the reads of the next znodes not yet asked, in the order the walk will visit them, as far as the
        /// window allows: the znodes on the stack from the top down and, for those already answered, their
        /// children (which the stack gets only when their parent is visited: without them a walk would wait a
        /// round trip for each parent's children). At once when the walk waits for a znode not asked (`needed`),
        /// else only once a good part of the window is free, so that the look through the stack is paid for by
        /// many answers.
        private func askAhead(needed: Bool) {
            // In znodes: the window's room, and what may be held answered.
            let capacity = max(1, settings.window / readsPerZnode)
            let room = min(capacity - inFlight / readsPerZnode, capacity * PipelinedWalk.aheadPerWindow - outstanding)
            // The next znode is always asked: what is asked ahead of it must not hold it up.
            guard needed || room >= max(1, capacity / 8) else { return }
            takeReadSessions(capacity: capacity)
            var budget = max(room, needed ? 1 : 0)
            var batch = Outgoing()
            var index = stack.count - 1
            while index >= 0 && budget > 0 {
                defer { index -= 1 }
                let entry = stack[index]
                if entry.expands {
                    if let held = heldChildren[entry.path] {
                        askChildren(of: entry.path, held, budget: &budget, into: &batch)
                    }
                    continue
                }
                if !entry.asked {
                    stack[index].asked = true
                    add(entry.path, attempts: 0, to: &batch)
                    budget -= 1
                    continue
                }
                guard expands(depth: entry.depth), case .success(let answer)? = answers[entry.path] else { continue }
                askChildren(of: entry.path, answer.children, budget: &budget, into: &batch)
            }
            outstanding += batch.znodes
            send(batch)
        }

        /// Opens the extra sessions once the walk has asked more than a window of znodes, and takes those that
        /// came up since the last look.
        private func takeReadSessions(capacity: Int) {
            guard settings.readsACL, let sessions = settings.readSessions, nextTicket >= capacity else { return }
            sessions.open()
            let ready = sessions.ready
            if ready.count > lanes.count { lanes += ready[lanes.count...].map { Optional($0) } }
        }

        /// The extra session for the next getACL (an index in `lanes`), or nil for the walk's own: each in turn.
        private func laneForACL() -> Int? {
            guard !lanes.isEmpty else { return nil }
            for _ in 0...lanes.count {
                let lane = nextLane
                nextLane = (nextLane + 1) % (lanes.count + 1)
                if lane == 0 { return nil }
                if lanes[lane - 1] != nil { return lane - 1 }
            }
            return nil
        }

        /// Asks ahead the children of `parent` not asked yet, in order, as far as `budget` (znodes) goes.
        private func askChildren(
            of parent: String, _ sorted: [String], budget: inout Int,
            into batch: inout Outgoing
        ) {
            let asked = childrenAsked[parent]?.count ?? 0
            guard asked < sorted.count else { return }
            let end = min(sorted.count, asked + budget)
            var paths = childrenAsked.removeValue(forKey: parent) ?? []
            for child in sorted[asked..<end] {
                let path = ZooKeeperPath.join(parent, child)
                paths.append(path)
                add(path, attempts: 0, to: &batch)
            }
            budget -= end - asked
            childrenAsked[parent] = paths
        }

        /// Reads to send together.
        private struct Outgoing {
            /// Requests of their own.
            var requests: [(tag: Int, path: String, read: ReadPipeline.Read)] = []
            /// Znodes whose getChildren (and getData) go in multiRead requests.
            var packed: [(ticket: Int, path: String)] = []
            /// getACLs for the extra sessions, by lane.
            var elsewhere: [Int: [(tag: Int, path: String, read: ReadPipeline.Read)]] = [:]
            var znodes = 0
        }

        private func add(_ path: String, attempts: Int, to batch: inout Outgoing) {
            let ticket = nextTicket
            nextTicket += 1
            // The tag: the znode's ticket, and which of its reads (3: a multiRead, by its first znode's ticket).
            // The root is read alone: its errors are those of the commands that read one znode.
            let packs = packing && path != root
            var reads = 0
            if packs {
                batch.packed.append((ticket, path))
                reads += 1
            } else {
                batch.requests.append((ticket << 2, path, .childrenWithStat))
                reads += 1
                if settings.readsData {
                    batch.requests.append((ticket << 2 | 1, path, .data))
                    reads += 1
                }
            }
            var aclLane: Int?
            if settings.readsACL {
                aclLane = laneForACL()
                if let aclLane {
                    batch.elsewhere[aclLane, default: []].append((ticket << 2 | 2, path, .acl))
                } else {
                    batch.requests.append((ticket << 2 | 2, path, .acl))
                }
                reads += 1
            }
            readings[ticket] = Reading(
                path: path, remaining: reads, attempts: attempts, packed: packs, aclLane: aclLane)
            batch.znodes += 1
        }

        private func send(_ batch: Outgoing) {
            var requests = batch.requests
            var reads = requests.count
            var start = 0
            while start < batch.packed.count {
                let members = batch.packed[start..<min(batch.packed.count, start + max(1, settings.znodesPerMultiRead))]
                start = members.endIndex
                var operations: [ZooKeeperClient.ReadOperation] = []
                operations.reserveCapacity(members.count * 2)
                for member in members {
                    operations.append(.getChildren(member.path))
                    if packsData { operations.append(.getData(member.path)) }
                }
                let first = batch.packed[members.startIndex]
                multiReads[first.ticket] = (members.map(\.ticket), operations.count)
                requests.append((first.ticket << 2 | 3, first.path, .several(operations)))
                reads += operations.count
            }
            for (lane, acls) in batch.elsewhere {
                if let session = lanes[lane] {
                    pipeline.send(acls, on: session)
                } else {
                    requests += acls
                }
                reads += acls.count
            }
            inFlight += reads
            if !requests.isEmpty { pipeline.send(requests) }
        }

        /// Files the answers that arrived; a znode whose reads are all answered gets its answer, or is asked
        /// again once the client is connected again when the connection was lost.
        private func receive(_ arrivals: [ReadPipeline.Arrival]) async throws {
            var again: [Reading] = []
            var onOwnSession: [(tag: Int, path: String, read: ReadPipeline.Read)] = []
            for (tag, result) in arrivals {
                if tag & 3 == 3 {
                    receiveMultiRead(first: tag >> 2, result, again: &again)
                    continue
                }
                inFlight -= 1
                let ticket = tag >> 2
                guard var reading = readings[ticket] else { continue }
                if tag & 3 == 2, let lane = reading.aclLane, case .failure(let error) = result,
                    Self.endsTheWalk(error) || error.code == .authFailed
                {
                    // An extra session lost (or refused): its reads go on the walk's session, and it takes no more.
                    lanes[lane] = nil
                    reading.aclLane = nil
                    readings[ticket] = reading
                    onOwnSession.append((tag, reading.path, .acl))
                    continue
                }
                switch result {
                case .success(.children(let children, let stat)):
                    reading.children = children
                    reading.stat = stat
                case .success(.data(let data, let stat)):
                    reading.data = data
                    if reading.stat == nil { reading.stat = stat }
                case .success(.acl(let acl, _)):
                    reading.acl = acl
                case .success(.results), .success(.written):
                    if reading.failure == nil {
                        reading.failure = ZooKeeperError(.marshallingError, path: reading.path)
                    }
                case .failure(let error):
                    // The children's read says first why a znode cannot be read (what a walk asking it alone saw).
                    if tag & 3 == 0 || reading.failure == nil { reading.failure = error }
                }
                complete(ticket, reading, again: &again)
            }
            if !onOwnSession.isEmpty {
                inFlight += onOwnSession.count
                pipeline.send(onOwnSession)
            }
            guard !again.isEmpty else { return }
            // The session, and so what the walk saw, survives a reconnect: ask again once connected.
            if let failure = await PipelinedWalk.waitForReconnect(settings.client) {
                for reading in again { answers[reading.path] = .failure(failure) }
                return
            }
            var batch = Outgoing()
            for reading in again { add(reading.path, attempts: reading.attempts + 1, to: &batch) }
            send(batch)
        }

        /// Files a multiRead's answer: each of its znodes gets its children (and data and stat), or the error of
        /// its first read that failed, or the error of the whole request.
        private func receiveMultiRead(
            first: Int, _ result: Result<ReadPipeline.Answer, ZooKeeperError>, again: inout [Reading]
        ) {
            guard let (tickets, reads) = multiReads.removeValue(forKey: first) else { return }
            inFlight -= reads
            let perZnode = reads / tickets.count
            for (index, ticket) in tickets.enumerated() {
                guard var reading = readings[ticket] else { continue }
                var failure: ZooKeeperError?
                switch result {
                case .success(.results(let results)) where results.count == reads:
                    for read in results[index * perZnode..<(index + 1) * perZnode] {
                        switch read {
                        case .getChildren(let children):
                            reading.children = children
                        case .getData(let data, let stat):
                            reading.data = data
                            reading.stat = stat
                        case .error(let code):
                            if failure == nil { failure = ZooKeeperError(code, path: reading.path) }
                        case .create, .create2, .delete, .setData, .check:
                            if failure == nil { failure = ZooKeeperError(.marshallingError, path: reading.path) }
                        }
                    }
                case .success:
                    failure = ZooKeeperError(.marshallingError, path: reading.path)
                case .failure(let error):
                    failure = error
                }
                // Its children's read: says first why the znode cannot be read (over a getACL's answer).
                if let failure { reading.failure = failure }
                complete(ticket, reading, again: &again)
            }
        }

        /// Counts one answer of a znode's; once all are in, files the znode's answer, or puts it in `again` to be
        /// asked again (alone when its multiRead could not be).
        private func complete(_ ticket: Int, _ reading: Reading, again: inout [Reading]) {
            var reading = reading
            reading.remaining -= 1
            guard reading.remaining == 0 else {
                readings[ticket] = reading
                return
            }
            readings[ticket] = nil
            if let failure = reading.failure {
                if failure.code == .connectionLoss && reading.attempts < PipelinedWalk.reconnectAttempts {
                    // A server before 3.6 answers a multiRead it does not know at once, ahead of the reads sent
                    // before it still in its processor chain, then closes the connection; the client takes the
                    // answer out of turn for a broken connection, so the UNIMPLEMENTED never arrives. A multiRead
                    // lost with the connection is then all the walk can see of it: the rest of the walk reads
                    // alone (after a real cut, only slower).
                    if reading.packed { packing = false }
                    again.append(reading)
                } else if reading.packed && (failure.code == .packetTooLarge || failure.code == .unimplemented) {
                    // Too much data for one answer, or a server before 3.6: the rest of the walk reads alone.
                    packing = false
                    again.append(reading)
                } else {
                    answers[reading.path] = .failure(failure)
                }
                return
            }
            let stat: Stat
            if let read = reading.stat {
                stat = read
            } else if reading.packed && !packsData {
                stat = Stat(numChildren: Int32(clamping: reading.children.count))
            } else {
                answers[reading.path] = .failure(ZooKeeperError(.marshallingError, path: reading.path))
                return
            }
            answers[reading.path] = .success(
                (
                    ShellFormat.javaSorted(reading.children), stat, settings.readsData ? reading.data : nil,
                    reading.acl
                ))
        }

        /// Whether a read's failure ends the walk rather than just its znode: the connection or session is gone.
        private static func endsTheWalk(_ error: ZooKeeperError) -> Bool {
            error.code == .connectionLoss || error.code == .sessionExpired || error.code == .clientClosed
                || error.code == .sessionMoved
        }
    }

    /// Waits until `client` is connected again, in short slices so that a cancelled walk (Ctrl-C) is not held
    /// up; nil once connected, else why not (the connection is not back within the session timeout, after which
    /// the server has expired the session anyway).
    fileprivate static func waitForReconnect(_ client: ZooKeeperClient) async -> ZooKeeperError? {
        let deadline = ContinuousClock.now + client.negotiatedTimeout
        while true {
            do throws(ZooKeeperError) {
                try await client.waitUntilConnected(timeout: .milliseconds(250))
                return nil
            } catch  where error.code == .connectionLoss && ContinuousClock.now < deadline && !Task.isCancelled {
                continue
            } catch {
                return error
            }
        }
    }
}
