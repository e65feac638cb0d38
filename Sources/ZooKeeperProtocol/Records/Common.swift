import NIOCore

/// A znode's metadata (`Stat`): 68 bytes on the wire.
public struct Stat: JuteRecord, Hashable {
    public var czxid: Int64
    public var mzxid: Int64
    public var ctime: Int64
    public var mtime: Int64
    public var version: Int32
    public var cversion: Int32
    public var aversion: Int32
    public var ephemeralOwner: Int64
    public var dataLength: Int32
    public var numChildren: Int32
    public var pzxid: Int64

    public static let encodedSize = 68

    public init(
        czxid: Int64 = 0, mzxid: Int64 = 0, ctime: Int64 = 0, mtime: Int64 = 0, version: Int32 = 0,
        cversion: Int32 = 0, aversion: Int32 = 0, ephemeralOwner: Int64 = 0, dataLength: Int32 = 0,
        numChildren: Int32 = 0, pzxid: Int64 = 0
    ) {
        self.czxid = czxid
        self.mzxid = mzxid
        self.ctime = ctime
        self.mtime = mtime
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.ephemeralOwner = ephemeralOwner
        self.dataLength = dataLength
        self.numChildren = numChildren
        self.pzxid = pzxid
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        guard
            let (czxid, mzxid, ctime, mtime, version, cversion, aversion, owner, length, children, pzxid) =
                buffer.readMultipleIntegers(
                    as: (Int64, Int64, Int64, Int64, Int32, Int32, Int32, Int64, Int32, Int32, Int64).self)
        else {
            throw ProtocolError(.truncated, lazy: .needs("Stat", bytes: 68, left: buffer.readableBytes))
        }
        self.init(
            czxid: czxid, mzxid: mzxid, ctime: ctime, mtime: mtime, version: version, cversion: cversion,
            aversion: aversion, ephemeralOwner: owner, dataLength: length, numChildren: children, pzxid: pzxid)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(
            czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, dataLength, numChildren, pzxid)
    }
}

/// An identity in an ACL: a scheme and an id within it (`Id`), e.g. `world:anyone`, `digest:user:hash`.
public struct Id: JuteRecord, Hashable, CustomStringConvertible {
    public var scheme: String
    public var id: String

    public init(scheme: String, id: String) {
        self.scheme = scheme
        self.id = id
    }

    public static let anyone = Id(scheme: "world", id: "anyone")
    /// The placeholder that the server replaces with the caller's authenticated ids.
    public static let authIds = Id(scheme: "auth", id: "")

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        scheme = try buffer.readJuteNonNullString()
        id = try buffer.readJuteNonNullString()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(scheme)
        buffer.writeJuteString(id)
    }

    public var description: String { "\(scheme):\(id)" }
}

/// One access-control entry: the permissions granted to an id (`ACL`).
public struct ACL: JuteRecord, Hashable, CustomStringConvertible {
    public var permissions: Permissions
    public var id: Id

    public init(permissions: Permissions, id: Id) {
        self.permissions = permissions
        self.id = id
    }

    /// Everything for everyone (`OPEN_ACL_UNSAFE`).
    public static let openUnsafe: [ACL] = [ACL(permissions: .all, id: .anyone)]
    /// Everything for the creator's authenticated ids (`CREATOR_ALL_ACL`).
    public static let creatorAll: [ACL] = [ACL(permissions: .all, id: .authIds)]
    /// Read for everyone (`READ_ACL_UNSAFE`).
    public static let readUnsafe: [ACL] = [ACL(permissions: .read, id: .anyone)]

    /// The smallest encoding: perms, and two empty strings.
    public static let minimumEncodedSize = 12

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        permissions = Permissions(rawValue: try buffer.readJuteInt())
        id = try Id(from: &buffer)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(permissions.rawValue)
        id.encode(into: &buffer)
    }

    public var description: String { "\(id.scheme):\(id.id):\(permissions)" }
}

/// One authenticated identity of a connection, as whoAmI reports it (`ClientInfo`).
public struct ClientInfo: JuteRecord, Hashable {
    public var authScheme: String
    public var user: String

    public init(authScheme: String, user: String) {
        self.authScheme = authScheme
        self.user = user
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        authScheme = try buffer.readJuteNonNullString()
        user = try buffer.readJuteNonNullString()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteString(authScheme)
        buffer.writeJuteString(user)
    }
}

/// The first frame a client sends: no request header.
public struct ConnectRequest: JuteRecord, Hashable {
    public var protocolVersion: Int32
    public var lastZxidSeen: Int64
    public var timeout: Int32
    public var sessionID: Int64
    public var password: [UInt8]
    /// Whether the client accepts a read-only server.
    public var readOnly: Bool
    /// Pre-3.4 clients end the frame after the password; a server then omits the flag in its reply too.
    public var hasReadOnlyField: Bool

    public init(
        protocolVersion: Int32 = 0, lastZxidSeen: Int64, timeout: Int32, sessionID: Int64, password: [UInt8],
        readOnly: Bool, hasReadOnlyField: Bool = true
    ) {
        self.protocolVersion = protocolVersion
        self.lastZxidSeen = lastZxidSeen
        self.timeout = timeout
        self.sessionID = sessionID
        self.password = password
        self.readOnly = readOnly
        self.hasReadOnlyField = hasReadOnlyField
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        protocolVersion = try buffer.readJuteInt()
        lastZxidSeen = try buffer.readJuteLong()
        timeout = try buffer.readJuteInt()
        sessionID = try buffer.readJuteLong()
        password = try buffer.readJuteBuffer() ?? []
        if buffer.readableBytes > 0 {
            readOnly = try buffer.readJuteBool()
            hasReadOnlyField = true
        } else {
            readOnly = false
            hasReadOnlyField = false
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(protocolVersion)
        buffer.writeJuteLong(lastZxidSeen)
        buffer.writeJuteInt(timeout)
        buffer.writeJuteLong(sessionID)
        buffer.writeJuteBuffer(password)
        if hasReadOnlyField { buffer.writeJuteBool(readOnly) }
    }
}

/// The server's answer to a ConnectRequest: no reply header. A timeout of 0 or less means the session
/// asked for is expired or unknown.
public struct ConnectResponse: JuteRecord, Hashable {
    public var protocolVersion: Int32
    public var timeout: Int32
    public var sessionID: Int64
    public var password: [UInt8]
    /// True only from a read-only server.
    public var readOnly: Bool
    public var hasReadOnlyField: Bool

    public init(
        protocolVersion: Int32 = 0, timeout: Int32, sessionID: Int64, password: [UInt8], readOnly: Bool,
        hasReadOnlyField: Bool = true
    ) {
        self.protocolVersion = protocolVersion
        self.timeout = timeout
        self.sessionID = sessionID
        self.password = password
        self.readOnly = readOnly
        self.hasReadOnlyField = hasReadOnlyField
    }

    /// The answer to a bad or expired session: timeout 0, session id 0, a zeroed 16-byte password.
    public static func invalidSession(hasReadOnlyField: Bool = true) -> ConnectResponse {
        ConnectResponse(
            timeout: 0, sessionID: 0, password: [UInt8](repeating: 0, count: 16), readOnly: false,
            hasReadOnlyField: hasReadOnlyField)
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        protocolVersion = try buffer.readJuteInt()
        timeout = try buffer.readJuteInt()
        sessionID = try buffer.readJuteLong()
        password = try buffer.readJuteBuffer() ?? []
        if buffer.readableBytes > 0 {
            readOnly = try buffer.readJuteBool()
            hasReadOnlyField = true
        } else {
            readOnly = false
            hasReadOnlyField = false
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(protocolVersion)
        buffer.writeJuteInt(timeout)
        buffer.writeJuteLong(sessionID)
        buffer.writeJuteBuffer(password)
        if hasReadOnlyField { buffer.writeJuteBool(readOnly) }
    }
}

/// Precedes every client frame after the ConnectRequest.
public struct RequestHeader: JuteRecord, Hashable {
    public var xid: Int32
    public var opCode: OpCode

    public init(xid: Int32, opCode: OpCode) {
        self.xid = xid
        self.opCode = opCode
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        guard let (xid, type) = buffer.readMultipleIntegers(as: (Int32, Int32).self) else {
            throw ProtocolError(.truncated, lazy: .needs("RequestHeader", bytes: 8, left: buffer.readableBytes))
        }
        self.xid = xid
        self.opCode = OpCode(type)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(xid, opCode.rawValue)
    }
}

/// Precedes every server frame after the ConnectResponse.
public struct ReplyHeader: JuteRecord, Hashable {
    public var xid: Int32
    public var zxid: Int64
    public var error: ZooKeeperError.Code

    public static let encodedSize = 16

    public init(xid: Int32, zxid: Int64, error: ZooKeeperError.Code = .ok) {
        self.xid = xid
        self.zxid = zxid
        self.error = error
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        guard let (xid, zxid, err) = buffer.readMultipleIntegers(as: (Int32, Int64, Int32).self) else {
            throw ProtocolError(.truncated, lazy: .needs("ReplyHeader", bytes: 16, left: buffer.readableBytes))
        }
        self.xid = xid
        self.zxid = zxid
        self.error = ZooKeeperError.Code(err)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeMultipleIntegers(xid, zxid, error.rawValue)
    }
}

/// The body of a notification frame (xid -1).
public struct WatcherEvent: JuteRecord, Hashable {
    public var type: EventType
    public var state: KeeperState
    public var path: String

    public init(type: EventType, state: KeeperState, path: String) {
        self.type = type
        self.state = state
        self.path = path
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        type = EventType(rawValue: try buffer.readJuteInt())
        state = KeeperState(rawValue: try buffer.readJuteInt())
        path = try buffer.readJuteNonNullString()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type.rawValue)
        buffer.writeJuteInt(state.rawValue)
        buffer.writeJuteString(path)
    }
}

/// Credentials for a scheme (xid -4, opcode auth).
public struct AuthPacket: JuteRecord, Hashable {
    public var type: Int32
    public var scheme: String
    public var auth: [UInt8]?

    public init(type: Int32 = 0, scheme: String, auth: [UInt8]?) {
        self.type = type
        self.scheme = scheme
        self.auth = auth
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        type = try buffer.readJuteInt()
        scheme = try buffer.readJuteNonNullString()
        auth = try buffer.readJuteBuffer()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type)
        buffer.writeJuteString(scheme)
        buffer.writeJuteBuffer(auth)
    }
}

/// A bare error code: the body of an addWatch reply, and of error entries inside multi results.
public struct ErrorResponse: JuteRecord, Hashable {
    public var error: ZooKeeperError.Code

    public init(error: ZooKeeperError.Code) { self.error = error }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        error = ZooKeeperError.Code(try buffer.readJuteInt())
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(error.rawValue)
    }
}
