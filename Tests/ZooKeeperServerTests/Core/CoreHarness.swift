import NIOConcurrencyHelpers
import NIOCore
import ZooKeeperProtocol

@testable import ZooKeeperServer

/// A clock the test moves by hand.
final class FakeClock: ServerClock, @unchecked Sendable {
    private let lock = NIOLock()
    private var wall: Int64
    private var monotonic: Int64

    init(wall: Int64 = 1_700_000_000_000, monotonic: Int64 = 1_000_000) {
        self.wall = wall
        self.monotonic = monotonic
    }

    func wallMilliseconds() -> Int64 { lock.withLock { wall } }
    func monotonicMilliseconds() -> Int64 { lock.withLock { monotonic } }

    func advance(milliseconds: Int64) {
        lock.withLock {
            wall += milliseconds
            monotonic += milliseconds
        }
    }
}

/// Drives a `ServerCore` without sockets: opens connections, sets up sessions, sends requests.
final class CoreHarness {
    let clock = FakeClock()
    let core: ServerCore
    private var nextConnection = 1
    private var nextXid: Int32 = 1

    init(log: any TransactionLog = InMemoryTransactionLog(), configure: (inout ServerConfiguration) -> Void = { _ in })
    {
        var configuration = ServerConfiguration()
        configuration.tickTime = 2000
        configure(&configuration)
        core = ServerCore(configuration: configuration, clock: clock, log: log)
    }

    /// A new connection with a new session.
    func client(ip: String = "127.0.0.1", timeout: Int32 = 10_000) -> ConnectionID {
        let connection = open(ip: ip)
        _ = core.connect(
            connection,
            request: ConnectRequest(lastZxidSeen: 0, timeout: timeout, sessionID: 0, password: [], readOnly: false))
        return connection
    }

    func open(ip: String = "127.0.0.1") -> ConnectionID {
        let connection = ConnectionID(nextConnection)
        nextConnection += 1
        core.connectionOpened(connection, remoteAddress: ip)
        return connection
    }

    /// Sends a request; returns everything the core produced.
    @discardableResult
    func send(_ connection: ConnectionID, _ request: ZooKeeperRequest, xid: Int32? = nil) -> [CoreOutput] {
        let xid = xid ?? nextXidValue()
        var body = ByteBuffer()
        request.encodeBody(into: &body)
        return core.request(connection, header: RequestHeader(xid: xid, opCode: request.opCode), body: &body)
    }

    /// Sends a request and returns its reply header and body.
    func call(_ connection: ConnectionID, _ request: ZooKeeperRequest) -> (header: ReplyHeader, body: ZooKeeperResponse)
    {
        for output in send(connection, request) {
            if case .reply(let id, let header, let body) = output, id == connection { return (header, body) }
        }
        return (ReplyHeader(xid: 0, zxid: 0, error: .systemError), .empty)
    }

    func error(_ connection: ConnectionID, _ request: ZooKeeperRequest) -> ZooKeeperError.Code {
        call(connection, request).header.error
    }

    func create(
        _ connection: ConnectionID, _ path: String, data: [UInt8]? = [], acl: [ACL] = ACL.openUnsafe,
        mode: CreateMode = .persistent
    ) -> String? {
        let (header, body) = call(connection, .create(CreateRequest(path: path, data: data, acl: acl, mode: mode)))
        guard header.error == .ok, case .path(let created) = body else { return nil }
        return created
    }

    func stat(_ connection: ConnectionID, _ path: String) -> Stat? {
        let (header, body) = call(connection, .exists(PathWatchRequest(path: path, watch: false)))
        guard header.error == .ok, case .stat(let stat) = body else { return nil }
        return stat
    }

    private func nextXidValue() -> Int32 {
        defer { nextXid += 1 }
        return nextXid
    }
}

extension [CoreOutput] {
    /// The watch events sent to `connection`, in order.
    func events(for connection: ConnectionID) -> [WatcherEvent] {
        compactMap { output in
            if case .notification(let id, _, let event) = output, id == connection { return event }
            return nil
        }
    }

    func closes(_ connection: ConnectionID) -> Bool {
        contains { output in
            if case .close(let id) = output { return id == connection }
            return false
        }
    }
}
