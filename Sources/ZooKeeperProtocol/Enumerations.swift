/// The kind of a watch event (`Watcher.Event.EventType`).
public struct EventType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let none = EventType(rawValue: -1)
    public static let nodeCreated = EventType(rawValue: 1)
    public static let nodeDeleted = EventType(rawValue: 2)
    public static let nodeDataChanged = EventType(rawValue: 3)
    public static let nodeChildrenChanged = EventType(rawValue: 4)
    public static let dataWatchRemoved = EventType(rawValue: 5)
    public static let childWatchRemoved = EventType(rawValue: 6)
    public static let persistentWatchRemoved = EventType(rawValue: 7)

    /// Apache's enum name, as zkCli prints it (`type:NodeCreated`).
    public var description: String {
        switch rawValue {
        case -1: "None"
        case 1: "NodeCreated"
        case 2: "NodeDeleted"
        case 3: "NodeDataChanged"
        case 4: "NodeChildrenChanged"
        case 5: "DataWatchRemoved"
        case 6: "ChildWatchRemoved"
        case 7: "PersistentWatchRemoved"
        default: "EventType(\(rawValue))"
        }
    }
}

/// The connection state carried by a watch event (`Watcher.Event.KeeperState`).
public struct KeeperState: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unknown = KeeperState(rawValue: -1)
    public static let disconnected = KeeperState(rawValue: 0)
    public static let noSyncConnected = KeeperState(rawValue: 1)
    public static let syncConnected = KeeperState(rawValue: 3)
    public static let authFailed = KeeperState(rawValue: 4)
    public static let connectedReadOnly = KeeperState(rawValue: 5)
    public static let saslAuthenticated = KeeperState(rawValue: 6)
    public static let expired = KeeperState(rawValue: -112)
    public static let closed = KeeperState(rawValue: 7)

    public var description: String {
        switch rawValue {
        case -1: "Unknown"
        case 0: "Disconnected"
        case 1: "NoSyncConnected"
        case 3: "SyncConnected"
        case 4: "AuthFailed"
        case 5: "ConnectedReadOnly"
        case 6: "SaslAuthenticated"
        case -112: "Expired"
        case 7: "Closed"
        default: "KeeperState(\(rawValue))"
        }
    }
}

/// How a znode is created (`CreateMode`); the raw value is the `flags` field of a create request.
public enum CreateMode: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case persistent = 0
    case ephemeral = 1
    case persistentSequential = 2
    case ephemeralSequential = 3
    case container = 4
    case persistentWithTTL = 5
    case persistentSequentialWithTTL = 6

    public var isEphemeral: Bool { self == .ephemeral || self == .ephemeralSequential }
    public var isSequential: Bool {
        self == .persistentSequential || self == .ephemeralSequential || self == .persistentSequentialWithTTL
    }
    public var isContainer: Bool { self == .container }
    public var isTTL: Bool { self == .persistentWithTTL || self == .persistentSequentialWithTTL }

    public var description: String {
        switch self {
        case .persistent: "PERSISTENT"
        case .ephemeral: "EPHEMERAL"
        case .persistentSequential: "PERSISTENT_SEQUENTIAL"
        case .ephemeralSequential: "EPHEMERAL_SEQUENTIAL"
        case .container: "CONTAINER"
        case .persistentWithTTL: "PERSISTENT_WITH_TTL"
        case .persistentSequentialWithTTL: "PERSISTENT_SEQUENTIAL_WITH_TTL"
        }
    }
}

/// The kind of watch that checkWatches / removeWatches address (`Watcher.WatcherType`).
public struct WatcherType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let children = WatcherType(rawValue: 1)
    public static let data = WatcherType(rawValue: 2)
    public static let any = WatcherType(rawValue: 3)
    public static let persistent = WatcherType(rawValue: 4)
    public static let persistentRecursive = WatcherType(rawValue: 5)

    public var description: String {
        switch rawValue {
        case 1: "Children"
        case 2: "Data"
        case 3: "Any"
        case 4: "Persistent"
        case 5: "PersistentRecursive"
        default: "WatcherType(\(rawValue))"
        }
    }
}

/// The mode of an addWatch request (`AddWatchMode`).
public enum AddWatchMode: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case persistent = 0
    case persistentRecursive = 1

    public var description: String {
        switch self {
        case .persistent: "PERSISTENT"
        case .persistentRecursive: "PERSISTENT_RECURSIVE"
        }
    }
}

/// ACL permission bits (`ZooDefs.Perms`).
public struct Permissions: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let read = Permissions(rawValue: 1)
    public static let write = Permissions(rawValue: 2)
    public static let create = Permissions(rawValue: 4)
    public static let delete = Permissions(rawValue: 8)
    public static let admin = Permissions(rawValue: 16)
    public static let all: Permissions = [.read, .write, .create, .delete, .admin]

    /// Parses zkCli's letters (`c d r w a`, any order). Returns the unknown letters separately so that a shell
    /// can report them the way zkCli does.
    public static func parse(_ letters: some StringProtocol) -> (permissions: Permissions, unknown: [Character]) {
        var permissions: Permissions = []
        var unknown: [Character] = []
        for letter in letters {
            switch letter {
            case "r": permissions.insert(.read)
            case "w": permissions.insert(.write)
            case "c": permissions.insert(.create)
            case "d": permissions.insert(.delete)
            case "a": permissions.insert(.admin)
            default: unknown.append(letter)
            }
        }
        return (permissions, unknown)
    }

    /// The letters in zkCli's fixed order `cdrwa`.
    public var description: String {
        var letters = ""
        if contains(.create) { letters += "c" }
        if contains(.delete) { letters += "d" }
        if contains(.read) { letters += "r" }
        if contains(.write) { letters += "w" }
        if contains(.admin) { letters += "a" }
        return letters
    }
}
