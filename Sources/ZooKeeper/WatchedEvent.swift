import ZooKeeperProtocol

/// A watch notification, or a connection change delivered to watchers (type `.none`, path nil).
public struct WatchedEvent: Sendable, Hashable, CustomStringConvertible {
    /// What happened: a node change, a removed watch, or `.none` for a connection change.
    public var type: EventType
    /// The connection state when the event was sent (`SyncConnected` for node changes).
    public var state: KeeperState
    /// The node concerned, relative to the chroot; nil for connection changes.
    public var path: String?
    /// The zxid of the change that fired the watch (ZooKeeper 3.9+ servers), or -1.
    public var zxid: Int64

    /// An event of `type` about `path` (nil for connection changes).
    public init(type: EventType, state: KeeperState, path: String?, zxid: Int64 = -1) {
        self.type = type
        self.state = state
        self.path = path
        self.zxid = zxid
    }

    /// As Apache 3.8's `WatchedEvent.toString()` prints it, which zkCli shows after `WATCHER::`.
    public var description: String {
        "WatchedEvent state:\(state) type:\(type) path:\(path ?? "null")"
    }
}
