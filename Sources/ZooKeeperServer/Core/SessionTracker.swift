/// The live sessions and their expiry, driven by an injected clock (monotonic milliseconds).
///
/// Expiry works as Apache's `ExpiryQueue`: each touch moves a session's deadline to the first tick boundary
/// after `now + timeout`, and the server checks deadlines on tick boundaries.
struct SessionTracker {
    struct Session {
        let id: Int64
        let password: [UInt8]
        var timeout: Int32
        /// Monotonic milliseconds, on a tick boundary.
        var expiresAt: Int64
        /// The connection that owns the session now, if any.
        var connection: ConnectionID?
    }

    let tickTime: Int64
    private(set) var sessions: [Int64: Session] = [:]
    private var nextSessionID: Int64

    /// `seedMilliseconds` (wall clock) makes ids unique across restarts: Apache's
    /// `((ms << 24) >>> 8) | (1 << 56)`, so ids look like `0x01xxxxxxxxxxxxxx`.
    init(tickTime: Int64, seedMilliseconds: Int64) {
        self.tickTime = max(1, tickTime)
        let shifted = Int64(bitPattern: UInt64(bitPattern: seedMilliseconds << 24) >> 8)
        nextSessionID = shifted | (1 << 56)
    }

    mutating func allocateID() -> Int64 {
        defer { nextSessionID &+= 1 }
        return nextSessionID
    }

    /// Makes sure a session id restored from a log is never handed out again.
    mutating func reserve(_ id: Int64) {
        if id >= nextSessionID { nextSessionID = id &+ 1 }
    }

    func expirationTime(now: Int64, timeout: Int32) -> Int64 {
        ((now + Int64(timeout)) / tickTime + 1) * tickTime
    }

    mutating func add(id: Int64, password: [UInt8], timeout: Int32, now: Int64) {
        reserve(id)
        sessions[id] = Session(
            id: id, password: password, timeout: timeout, expiresAt: expirationTime(now: now, timeout: timeout),
            connection: nil)
    }

    mutating func remove(_ id: Int64) {
        sessions[id] = nil
    }

    subscript(id: Int64) -> Session? { sessions[id] }

    /// Pushes the deadline out; false for an unknown session.
    @discardableResult
    mutating func touch(_ id: Int64, now: Int64) -> Bool {
        guard var session = sessions[id] else { return false }
        session.expiresAt = expirationTime(now: now, timeout: session.timeout)
        sessions[id] = session
        return true
    }

    mutating func attach(_ id: Int64, to connection: ConnectionID?, timeout: Int32? = nil, now: Int64) {
        guard var session = sessions[id] else { return }
        session.connection = connection
        if let timeout { session.timeout = timeout }
        session.expiresAt = expirationTime(now: now, timeout: session.timeout)
        sessions[id] = session
    }

    mutating func detach(_ id: Int64, from connection: ConnectionID) {
        guard var session = sessions[id], session.connection == connection else { return }
        session.connection = nil
        sessions[id] = session
    }

    /// Sessions whose deadline has passed, oldest id first.
    func expired(now: Int64) -> [Int64] {
        sessions.values.filter { $0.expiresAt <= now }.map(\.id).sorted()
    }

    var count: Int { sessions.count }
}
