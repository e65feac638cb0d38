import NIOCore

/// Every request a client can send after the handshake, with its body. The opcode follows from the case.
public enum ZooKeeperRequest: Sendable, Hashable {
    case create(CreateRequest)
    case create2(CreateRequest)
    case createContainer(CreateRequest)
    case createTTL(CreateTTLRequest)
    case delete(PathVersionRequest)
    case exists(PathWatchRequest)
    case getData(PathWatchRequest)
    case setData(SetDataRequest)
    case getACL(PathRequest)
    case setACL(SetACLRequest)
    case getChildren(PathWatchRequest)
    case getChildren2(PathWatchRequest)
    case sync(PathRequest)
    case ping
    /// Only valid inside a multi; a server answers a top-level check with Unimplemented.
    case check(PathVersionRequest)
    case multi(MultiRequest)
    case multiRead(MultiRequest)
    case reconfig(ReconfigRequest)
    case checkWatches(WatchesRequest)
    case removeWatches(WatchesRequest)
    case deleteContainer(path: String)
    case auth(AuthPacket)
    case setWatches(SetWatches)
    case setWatches2(SetWatches)
    case sasl(token: [UInt8]?)
    case getEphemerals(PathRequest)
    case getAllChildrenNumber(PathRequest)
    case addWatch(AddWatchRequest)
    case whoAmI
    case closeSession

    public var opCode: OpCode {
        switch self {
        case .create: .create
        case .create2: .create2
        case .createContainer: .createContainer
        case .createTTL: .createTTL
        case .delete: .delete
        case .exists: .exists
        case .getData: .getData
        case .setData: .setData
        case .getACL: .getACL
        case .setACL: .setACL
        case .getChildren: .getChildren
        case .getChildren2: .getChildren2
        case .sync: .sync
        case .ping: .ping
        case .check: .check
        case .multi: .multi
        case .multiRead: .multiRead
        case .reconfig: .reconfig
        case .checkWatches: .checkWatches
        case .removeWatches: .removeWatches
        case .deleteContainer: .deleteContainer
        case .auth: .auth
        case .setWatches: .setWatches
        case .setWatches2: .setWatches2
        case .sasl: .sasl
        case .getEphemerals: .getEphemerals
        case .getAllChildrenNumber: .getAllChildrenNumber
        case .addWatch: .addWatch
        case .whoAmI: .whoAmI
        case .closeSession: .closeSession
        }
    }

    /// The path the request is about, when it has one.
    public var path: String? {
        switch self {
        case .create(let r), .create2(let r), .createContainer(let r): r.path
        case .createTTL(let r): r.path
        case .delete(let r), .check(let r): r.path
        case .exists(let r), .getData(let r), .getChildren(let r), .getChildren2(let r): r.path
        case .setData(let r): r.path
        case .getACL(let r), .sync(let r), .getEphemerals(let r), .getAllChildrenNumber(let r): r.path
        case .setACL(let r): r.path
        case .checkWatches(let r), .removeWatches(let r): r.path
        case .deleteContainer(let path): path
        case .addWatch(let r): r.path
        case .ping, .multi, .multiRead, .reconfig, .auth, .setWatches, .setWatches2, .sasl, .whoAmI,
            .closeSession:
            nil
        }
    }

    /// Writes the body (without the request header).
    public func encodeBody(into buffer: inout ByteBuffer) {
        switch self {
        case .create(let r), .create2(let r), .createContainer(let r): r.encode(into: &buffer)
        case .createTTL(let r): r.encode(into: &buffer)
        case .delete(let r), .check(let r): r.encode(into: &buffer)
        case .exists(let r), .getData(let r), .getChildren(let r), .getChildren2(let r): r.encode(into: &buffer)
        case .setData(let r): r.encode(into: &buffer)
        case .getACL(let r), .sync(let r), .getEphemerals(let r), .getAllChildrenNumber(let r):
            r.encode(into: &buffer)
        case .setACL(let r): r.encode(into: &buffer)
        case .multi(let r), .multiRead(let r): r.encode(into: &buffer)
        case .reconfig(let r): r.encode(into: &buffer)
        case .checkWatches(let r), .removeWatches(let r): r.encode(into: &buffer)
        case .deleteContainer(let path): buffer.writeJuteBuffer(Array(path.utf8))
        case .auth(let r): r.encode(into: &buffer)
        case .setWatches(let r): r.encode(into: &buffer, version2: false)
        case .setWatches2(let r): r.encode(into: &buffer, version2: true)
        case .sasl(let token): buffer.writeJuteBuffer(token)
        case .addWatch(let r): r.encode(into: &buffer)
        case .ping, .whoAmI, .closeSession: break
        }
    }

    /// Writes a whole frame: length, request header, body.
    public func encodeFrame(xid: Int32, into buffer: inout ByteBuffer) {
        buffer.writeZooKeeperFrame { buffer in
            RequestHeader(xid: xid, opCode: opCode).encode(into: &buffer)
            encodeBody(into: &buffer)
        }
    }

    /// Decodes a request body for `opCode`. Unknown opcodes throw `.unknownOpCode`; the server answers those
    /// with Unimplemented.
    public static func decode(opCode: OpCode, from buffer: inout ByteBuffer) throws(ProtocolError)
        -> ZooKeeperRequest
    {
        switch opCode {
        case .create: return .create(try CreateRequest(from: &buffer))
        case .create2: return .create2(try CreateRequest(from: &buffer))
        case .createContainer: return .createContainer(try CreateRequest(from: &buffer))
        case .createTTL: return .createTTL(try CreateTTLRequest(from: &buffer))
        case .delete: return .delete(try PathVersionRequest(from: &buffer))
        case .exists: return .exists(try PathWatchRequest(from: &buffer))
        case .getData: return .getData(try PathWatchRequest(from: &buffer))
        case .setData: return .setData(try SetDataRequest(from: &buffer))
        case .getACL: return .getACL(try PathRequest(from: &buffer))
        case .setACL: return .setACL(try SetACLRequest(from: &buffer))
        case .getChildren: return .getChildren(try PathWatchRequest(from: &buffer))
        case .getChildren2: return .getChildren2(try PathWatchRequest(from: &buffer))
        case .sync: return .sync(try PathRequest(from: &buffer))
        case .ping: return .ping
        case .check: return .check(try PathVersionRequest(from: &buffer))
        case .multi: return .multi(try MultiRequest(from: &buffer))
        case .multiRead: return .multiRead(try MultiRequest(from: &buffer))
        case .reconfig: return .reconfig(try ReconfigRequest(from: &buffer))
        case .checkWatches: return .checkWatches(try WatchesRequest(from: &buffer))
        case .removeWatches: return .removeWatches(try WatchesRequest(from: &buffer))
        case .deleteContainer:
            let bytes = try buffer.readJuteBuffer() ?? []
            return .deleteContainer(path: String(decoding: bytes, as: UTF8.self))
        case .auth: return .auth(try AuthPacket(from: &buffer))
        case .setWatches: return .setWatches(try SetWatches(from: &buffer, version2: false))
        case .setWatches2: return .setWatches2(try SetWatches(from: &buffer, version2: true))
        case .sasl: return .sasl(token: try buffer.readJuteBuffer())
        case .getEphemerals: return .getEphemerals(try PathRequest(from: &buffer))
        case .getAllChildrenNumber: return .getAllChildrenNumber(try PathRequest(from: &buffer))
        case .addWatch: return .addWatch(try AddWatchRequest(from: &buffer))
        case .whoAmI: return .whoAmI
        case .closeSession: return .closeSession
        default: throw ProtocolError(.unknownOpCode, "opcode \(opCode.rawValue)")
        }
    }
}
