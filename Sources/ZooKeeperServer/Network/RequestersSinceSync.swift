/// Whether one connection alone sent requests since the transaction log's last sync began. When it did, the log
/// may write and sync a small batch on the event loop itself even after slow syncs: no other client has work
/// waiting for the loop meanwhile, and a hand-off to the log thread would add two thread wake-ups to that
/// client's every write.
struct RequestersSinceSync {
    private var firstRequester: ConnectionID?
    private var severalRequesters = false

    /// A request (or a ConnectRequest) came in on `connection`.
    mutating func requestArrived(on connection: ConnectionID) {
        if let firstRequester {
            if firstRequester != connection { severalRequesters = true }
        } else {
            firstRequester = connection
        }
    }

    /// A sync begins: whether exactly one connection sent requests since the previous sync began (none, as when
    /// a session expires on the timer, counts as not known to be alone). Counting starts again.
    mutating func syncBegins() -> Bool {
        defer {
            firstRequester = nil
            severalRequesters = false
        }
        return firstRequester != nil && !severalRequesters
    }
}
