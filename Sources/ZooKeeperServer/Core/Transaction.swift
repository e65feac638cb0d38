import ZooKeeperProtocol

/// One state change, with everything needed to apply it again deterministically (resolved sequential paths,
/// times, session passwords). Every change to the server's state is one of these, applied in zxid order by
/// `ServerCore.apply(_:)`; a transaction log (the durability issue) stores them and replays them on restart.
struct Transaction: Sendable, Hashable {
    var zxid: Int64
    /// Wall-clock milliseconds when the change was made (becomes ctime/mtime).
    var time: Int64
    /// The session that asked for the change (0 for the server's own container/TTL sweeps).
    var sessionID: Int64
    var body: TransactionBody

    init(zxid: Int64, time: Int64, sessionID: Int64, body: TransactionBody) {
        self.zxid = zxid
        self.time = time
        self.sessionID = sessionID
        self.body = body
    }
}

/// What a transaction changes.
///
/// Counters are carried as the values they end at (a node's new version, its parent's new child-creation
/// count), not as increments: applying a transaction twice, or over a snapshot that already holds part of its
/// effect (a fuzzy snapshot), then leaves the same state as applying it once.
indirect enum TransactionBody: Sendable, Hashable {
    case createSession(timeout: Int32, password: [UInt8])
    /// Ends the session and deletes its ephemerals. `ephemeralPaths` names them as they were when the session
    /// closed, so that a replay over a fuzzy snapshot that no longer holds some of them still moves their
    /// parents' pzxid (Apache's `CloseSessionTxn`, ZOOKEEPER-3145). nil only in records written before zkserver
    /// logged the paths: those replay by deleting what the tree says the session owns.
    case closeSession(ephemeralPaths: [String]?)
    /// `ephemeralOwner` is the raw owner (session id, container or TTL marker, or 0);
    /// `parentChildCreations` the parent's child-creation count once this node is made.
    case create(path: String, data: [UInt8]?, acl: [ACL], ephemeralOwner: Int64, parentChildCreations: Int32)
    case delete(path: String)
    /// `version` is the node's data version after the change.
    case setData(path: String, data: [UInt8]?, version: Int32)
    /// `aversion` is the node's ACL version after the change.
    case setACL(path: String, acl: [ACL], aversion: Int32)
    /// A version check inside a multi: changes nothing.
    case check(path: String)
    /// A committed multi: its operations, in order, under one zxid.
    case multi([TransactionBody])
    /// A write that failed: it consumes a zxid and changes nothing.
    case error(ZooKeeperError.Code)
}

/// Where transactions go before their effects may be acknowledged: the seam for the durable log.
///
/// The server appends every transaction as it is applied and asks for a sync once per event-loop tick; replies
/// and notifications produced after a transaction wait until `durableZxid` covers it (group commit). The core
/// keeps serving meanwhile.
protocol TransactionLog: AnyObject {
    /// Records `transaction`; it is durable only once a later sync covers it.
    func append(_ transaction: Transaction)
    /// The highest zxid that is durable.
    var durableZxid: Int64 { get }
    /// Makes everything appended so far durable, then calls `completion` with the new durable zxid (on the
    /// server's event loop), or with the error that stopped the log. An in-memory log completes at once.
    func sync(completion: @escaping (Result<Int64, PersistenceError>) -> Void)
}

/// A log that keeps nothing: every transaction is "durable" as soon as it is appended. For in-memory servers.
final class InMemoryTransactionLog: TransactionLog {
    private(set) var durableZxid: Int64 = 0
    /// Transactions appended, for statistics and tests.
    private(set) var appendedCount = 0

    init() {}

    func append(_ transaction: Transaction) {
        durableZxid = transaction.zxid
        appendedCount += 1
    }

    func sync(completion: @escaping (Result<Int64, PersistenceError>) -> Void) {
        completion(.success(durableZxid))
    }
}
