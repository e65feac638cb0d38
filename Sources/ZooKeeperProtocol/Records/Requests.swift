import NIOCore

/// create, create2 and createContainer (`CreateRequest`).
public struct CreateRequest: JuteRecord, Hashable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    /// The create mode's raw value; servers reject values that are not a `CreateMode`.
    public var flags: Int32

    public init(path: String, data: [UInt8]?, acl: [ACL], flags: Int32) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = flags
    }

    public init(path: String, data: [UInt8]?, acl: [ACL], mode: CreateMode) {
        self.init(path: path, data: data, acl: acl, flags: mode.rawValue)
    }

    public var mode: CreateMode? { CreateMode(rawValue: flags) }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
        data = try buffer.readJuteBuffer()
        acl = try buffer.readJuteVector(of: ACL.self, minimumElementSize: ACL.minimumEncodedSize)
        flags = try buffer.readJuteInt()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeJuteVector(acl)
        buffer.writeJuteInt(flags)
    }
}

/// createTTL (`CreateTTLRequest`).
public struct CreateTTLRequest: JuteRecord, Hashable {
    public var path: String
    public var data: [UInt8]?
    public var acl: [ACL]
    public var flags: Int32
    /// Milliseconds after the last modification at which a childless node is removed.
    public var ttl: Int64

    public init(path: String, data: [UInt8]?, acl: [ACL], flags: Int32, ttl: Int64) {
        self.path = path
        self.data = data
        self.acl = acl
        self.flags = flags
        self.ttl = ttl
    }

    public var mode: CreateMode? { CreateMode(rawValue: flags) }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
        data = try buffer.readJuteBuffer()
        acl = try buffer.readJuteVector(of: ACL.self, minimumElementSize: ACL.minimumEncodedSize)
        flags = try buffer.readJuteInt()
        ttl = try buffer.readJuteLong()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeJuteVector(acl)
        buffer.writeJuteInt(flags)
        buffer.writeJuteLong(ttl)
    }
}

/// A path and an expected version: delete (`DeleteRequest`) and check (`CheckVersionRequest`).
public struct PathVersionRequest: JuteRecord, Hashable {
    public var path: String
    public var version: Int32

    public init(path: String, version: Int32) {
        self.path = path
        self.version = version
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
        version = try buffer.readJuteInt()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(version)
    }
}

/// A path and a watch flag: exists, getData, getChildren, getChildren2.
public struct PathWatchRequest: JuteRecord, Hashable {
    public var path: String
    public var watch: Bool

    public init(path: String, watch: Bool) {
        self.path = path
        self.watch = watch
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
        watch = try buffer.readJuteBool()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBool(watch)
    }
}

/// A lone path: getACL, sync, getAllChildrenNumber, getEphemerals (its prefix).
public struct PathRequest: JuteRecord, Hashable {
    public var path: String

    public init(path: String) { self.path = path }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
    }
}

/// setData (`SetDataRequest`).
public struct SetDataRequest: JuteRecord, Hashable {
    public var path: String
    public var data: [UInt8]?
    public var version: Int32

    public init(path: String, data: [UInt8]?, version: Int32) {
        self.path = path
        self.data = data
        self.version = version
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
        data = try buffer.readJuteBuffer()
        version = try buffer.readJuteInt()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteBuffer(data)
        buffer.writeJuteInt(version)
    }
}

/// setACL (`SetACLRequest`).
public struct SetACLRequest: JuteRecord, Hashable {
    public var path: String
    public var acl: [ACL]
    public var version: Int32

    public init(path: String, acl: [ACL], version: Int32) {
        self.path = path
        self.acl = acl
        self.version = version
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
        acl = try buffer.readJuteVector(of: ACL.self, minimumElementSize: ACL.minimumEncodedSize)
        version = try buffer.readJuteInt()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteVector(acl)
        buffer.writeJuteInt(version)
    }
}

/// checkWatches and removeWatches (`CheckWatchesRequest`, `RemoveWatchesRequest`).
public struct WatchesRequest: JuteRecord, Hashable {
    public var path: String
    public var type: WatcherType

    public init(path: String, type: WatcherType) {
        self.path = path
        self.type = type
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
        type = WatcherType(rawValue: try buffer.readJuteInt())
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(type.rawValue)
    }
}

/// addWatch (`AddWatchRequest`).
public struct AddWatchRequest: JuteRecord, Hashable {
    public var path: String
    /// The raw mode; see `AddWatchMode`.
    public var mode: Int32

    public init(path: String, mode: AddWatchMode) {
        self.path = path
        self.mode = mode.rawValue
    }

    public init(path: String, rawMode: Int32) {
        self.path = path
        self.mode = rawMode
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        path = try buffer.readJuteNonNullString()
        mode = try buffer.readJuteInt()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(path)
        buffer.writeJuteInt(mode)
    }
}

/// Re-registers watches after a reconnect (`SetWatches`, opcode 101; and `SetWatches2`, opcode 105, which adds
/// the two persistent kinds). One type serves both: `persistent` and `persistentRecursive` are written only for
/// SetWatches2.
public struct SetWatches: Hashable, Sendable {
    public var relativeZxid: Int64
    public var dataWatches: [String]
    public var existWatches: [String]
    public var childWatches: [String]
    public var persistentWatches: [String]
    public var persistentRecursiveWatches: [String]

    public init(
        relativeZxid: Int64, dataWatches: [String] = [], existWatches: [String] = [], childWatches: [String] = [],
        persistentWatches: [String] = [], persistentRecursiveWatches: [String] = []
    ) {
        self.relativeZxid = relativeZxid
        self.dataWatches = dataWatches
        self.existWatches = existWatches
        self.childWatches = childWatches
        self.persistentWatches = persistentWatches
        self.persistentRecursiveWatches = persistentRecursiveWatches
    }

    /// SetWatches2 is needed only when persistent watches are present (older servers know only SetWatches).
    public var needsVersion2: Bool { !persistentWatches.isEmpty || !persistentRecursiveWatches.isEmpty }

    public var isEmpty: Bool {
        dataWatches.isEmpty && existWatches.isEmpty && childWatches.isEmpty && persistentWatches.isEmpty
            && persistentRecursiveWatches.isEmpty
    }

    public init(from buffer: inout ByteBuffer, version2: Bool) throws(ProtocolError) {
        relativeZxid = try buffer.readJuteLong()
        dataWatches = try buffer.readJuteStringVector()
        existWatches = try buffer.readJuteStringVector()
        childWatches = try buffer.readJuteStringVector()
        if version2 {
            persistentWatches = try buffer.readJuteStringVector()
            persistentRecursiveWatches = try buffer.readJuteStringVector()
        } else {
            persistentWatches = []
            persistentRecursiveWatches = []
        }
    }

    public func encode(into buffer: inout ByteBuffer, version2: Bool) {
        buffer.writeJuteLong(relativeZxid)
        buffer.writeJuteStringVector(dataWatches)
        buffer.writeJuteStringVector(existWatches)
        buffer.writeJuteStringVector(childWatches)
        if version2 {
            buffer.writeJuteStringVector(persistentWatches)
            buffer.writeJuteStringVector(persistentRecursiveWatches)
        }
    }
}

/// reconfig (`ReconfigRequest`).
public struct ReconfigRequest: JuteRecord, Hashable {
    public var joiningServers: String?
    public var leavingServers: String?
    public var newMembers: String?
    public var currentConfigID: Int64

    public init(joiningServers: String?, leavingServers: String?, newMembers: String?, currentConfigID: Int64) {
        self.joiningServers = joiningServers
        self.leavingServers = leavingServers
        self.newMembers = newMembers
        self.currentConfigID = currentConfigID
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        joiningServers = try buffer.readJuteString()
        leavingServers = try buffer.readJuteString()
        newMembers = try buffer.readJuteString()
        currentConfigID = try buffer.readJuteLong()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(joiningServers)
        buffer.writeJuteString(leavingServers)
        buffer.writeJuteString(newMembers)
        buffer.writeJuteLong(currentConfigID)
    }
}
