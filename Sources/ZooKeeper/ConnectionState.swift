/// Where the client's connection stands, named as Apache's `ZooKeeper.States` (what zkCli's prompt shows).
public enum ConnectionState: Sendable, Hashable, CustomStringConvertible {
    /// Looking for a server (at start, or after a connection was lost, keeping the session).
    case connecting
    /// A session is established on a read-write server.
    case connected
    /// A session is established on a read-only server: reads work, writes fail with NotReadOnly.
    case connectedReadOnly
    /// The session is over: closed by the program, or expired.
    case closed
    /// The server rejected an authentication (addAuth or SASL); the client stopped.
    case authFailed

    /// `CONNECTING`, `CONNECTED`, `CONNECTEDREADONLY`, `CLOSED`, `AUTH_FAILED`.
    public var description: String {
        switch self {
        case .connecting: "CONNECTING"
        case .connected: "CONNECTED"
        case .connectedReadOnly: "CONNECTEDREADONLY"
        case .closed: "CLOSED"
        case .authFailed: "AUTH_FAILED"
        }
    }

    /// Whether the client can still reach (or is trying to reach) a server with its session.
    public var isAlive: Bool {
        switch self {
        case .connecting, .connected, .connectedReadOnly: true
        case .closed, .authFailed: false
        }
    }
}

/// A change of the connection, as a program follows it.
///
/// Losing a connection is not losing the session: after `disconnected`, the client reconnects to another
/// server with the same session, its ephemeral nodes and its watches. One-shot watches that would have fired
/// meanwhile fire after `reconnected`. Persistent watches are re-armed, but the server does not replay what
/// they missed: on `reconnected`, re-read what you cache. After `expired` the session and its ephemerals are
/// gone for good; the client does not start a new session by itself, so open a new client.
public enum ConnectionEvent: Sendable, Hashable, CustomStringConvertible {
    /// The first session is being established.
    case connecting
    /// The first session is established, on a read-write server.
    case connected
    /// A session is established on a read-only server (only with `Configuration.canBeReadOnly`).
    case connectedReadOnly
    /// The connection was lost; requests in flight failed with ConnectionLoss; the client is reconnecting, for as
    /// long as it takes: however long no server answers, only a server can say the session expired.
    case disconnected
    /// Connected again with the same session (possibly to another server, possibly after leaving read-only).
    case reconnected
    /// A server said the session expired (on reconnecting after the session timeout, or when its password was wrong).
    case expired
    /// The server rejected credentials given with `addAuth`, or the SASL authentication failed.
    case authFailed
    /// The client was closed.
    case closed

    /// The event's name, as the case is spelled (`reconnected`).
    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .connected: "connected"
        case .connectedReadOnly: "connectedReadOnly"
        case .disconnected: "disconnected"
        case .reconnected: "reconnected"
        case .expired: "expired"
        case .authFailed: "authFailed"
        case .closed: "closed"
        }
    }
}
