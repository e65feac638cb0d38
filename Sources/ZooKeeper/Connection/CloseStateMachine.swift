import NIOCore

/// Ending a session that a server may still hold: closeSession goes out as soon as a connection carries the
/// session, and the close gives up (ending the session locally) if that takes longer than its bound. The
/// callers of `close()` wait here until the session is over, however it ends.
struct CloseStateMachine<Token: Sendable> {
    enum State: Equatable {
        /// Asked for while no connection carried the session: closeSession goes out on the next one.
        case waitingForConnection(giveUpAt: NIODeadline)
        /// closeSession was sent with this xid; its reply (or the server closing the socket) ends the session.
        case closeSessionSent(xid: Int32, giveUpAt: NIODeadline)
    }

    private(set) var state: State
    /// Everyone who called `close()`, completed when the session is over.
    private(set) var waiters: [Token]

    /// A close asked for while reconnecting: a short bound, because the caller is waiting and the server
    /// expires the session by itself anyway.
    static func whileReconnecting(now: NIODeadline, bound: TimeAmount, waiter: Token?) -> Self {
        Self(state: .waitingForConnection(giveUpAt: now + bound), waiters: waiter.map { [$0] } ?? [])
    }

    /// A close asked for while connected: closeSession is on its way with `xid`.
    static func sent(xid: Int32, now: NIODeadline, replyTimeout: TimeAmount, waiter: Token?) -> Self {
        Self(
            state: .closeSessionSent(xid: xid, giveUpAt: now + replyTimeout), waiters: waiter.map { [$0] } ?? [])
    }

    var giveUpAt: NIODeadline {
        switch state {
        case .waitingForConnection(let deadline), .closeSessionSent(_, let deadline): deadline
        }
    }

    func hasGivenUp(now: NIODeadline) -> Bool { now >= giveUpAt }

    mutating func add(waiter: Token?) {
        if let waiter { waiters.append(waiter) }
    }

    /// A connection carries the session again: closeSession goes out with `xid`.
    mutating func connected(xid: Int32, now: NIODeadline, replyTimeout: TimeAmount) {
        switch state {
        case .waitingForConnection:
            state = .closeSessionSent(xid: xid, giveUpAt: now + replyTimeout)
        case .closeSessionSent:
            preconditionFailure("closeSession sent twice")
        }
    }
}
