import DequeModule
import ZooKeeperProtocol

/// The credentials given with `addAuth` and their replay: every connection of the session sends them again
/// (xid -4) before the watches and any caller's request. The server answers auth packets in the order they
/// were sent, each with a header only, so the waiters form a queue per connection.
struct AuthenticationStateMachine<Token: Sendable> {
    /// Every distinct credential given so far, in the order given: what a new connection replays.
    private(set) var credentials: [AuthPacket] = []
    /// `addAuth` calls made while no connection was ready: sent, with their waiters, on the next one.
    private var unsent: [(packet: AuthPacket, waiter: Token)] = []
    /// Waiters of the auth packets on the current connection, in send order; nil for replays.
    private var inFlight = Deque<Token?>()

    /// What a reply to an auth packet means.
    enum ReplyOutcome {
        /// Completes the waiter, if any, with this result; the session goes on.
        case answered(Token?, Result<ZooKeeperResponse, ZooKeeperError>)
        /// The server rejected the credential (AuthFailed): the client stops; the waiter, if any, fails.
        case rejected(Token?)
    }

    /// `addAuth`: with a ready connection the packet goes out now (returned); otherwise it waits for one.
    mutating func add(_ packet: AuthPacket, waiter: Token, connectionReady: Bool) -> AuthPacket? {
        if !credentials.contains(packet) { credentials.append(packet) }
        if connectionReady {
            inFlight.append(waiter)
            return packet
        }
        unsent.append((packet, waiter))
        return nil
    }

    /// A connection is ready for requests: the packets to send now, in order. Credentials added while
    /// disconnected go with their waiters; sending one twice is harmless.
    mutating func connectionReady() -> [AuthPacket] {
        var packets: [AuthPacket] = []
        for packet in credentials where !unsent.contains(where: { $0.packet == packet }) {
            packets.append(packet)
            inFlight.append(nil)
        }
        for (packet, waiter) in unsent {
            packets.append(packet)
            inFlight.append(waiter)
        }
        unsent = []
        return packets
    }

    mutating func replyReceived(_ error: ZooKeeperError.Code) -> ReplyOutcome {
        let waiter = inFlight.popFirst() ?? nil
        if error == .authFailed { return .rejected(waiter) }
        return .answered(waiter, error == .ok ? .success(.empty) : .failure(ZooKeeperError(error)))
    }

    /// The connection is gone: the waiters of packets in flight, to fail. Credentials stay for the next one.
    mutating func connectionLost() -> [Token] {
        defer { inFlight = [] }
        return inFlight.compactMap { $0 }
    }

    /// The session is over: every waiter, in flight or not yet sent, to fail.
    mutating func sessionEnded() -> [Token] {
        let waiters = connectionLost() + unsent.map(\.waiter)
        unsent = []
        return waiters
    }
}
