import NIOCore

/// The body of a successful reply. Replies do not say what they answer, so a body is decoded with the opcode
/// of the request it belongs to; several opcodes share a layout, and each layout is one case.
public enum ZooKeeperResponse: Sendable, Hashable {
    /// No body: delete, setWatches, checkWatches, removeWatches, auth, ping, closeSession, deleteContainer.
    case empty
    /// create (`CreateResponse`), sync (`SyncResponse`).
    case path(String)
    /// create2, createContainer, createTTL (`Create2Response`).
    case pathAndStat(String, Stat)
    /// exists, setData, setACL.
    case stat(Stat)
    /// getData, reconfig (`GetDataResponse`).
    case data([UInt8]?, Stat)
    /// getACL.
    case acl([ACL], Stat)
    /// getChildren, getEphemerals.
    case children([String])
    /// getChildren2.
    case childrenAndStat([String], Stat)
    /// multi, multiRead.
    case multi(MultiResponse)
    /// getAllChildrenNumber.
    case count(Int32)
    /// whoAmI.
    case clientInfo([ClientInfo])
    /// addWatch: an `ErrorResponse` body.
    case errorCode(ZooKeeperError.Code)
    /// sasl.
    case token([UInt8]?)

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .empty:
            break
        case .path(let path):
            buffer.writeJuteString(path)
        case .pathAndStat(let path, let stat):
            buffer.writeJuteString(path)
            stat.encode(into: &buffer)
        case .stat(let stat):
            stat.encode(into: &buffer)
        case .data(let data, let stat):
            buffer.writeJuteBuffer(data)
            stat.encode(into: &buffer)
        case .acl(let acl, let stat):
            buffer.writeJuteVector(acl)
            stat.encode(into: &buffer)
        case .children(let children):
            buffer.writeJuteStringVector(children)
        case .childrenAndStat(let children, let stat):
            buffer.writeJuteStringVector(children)
            stat.encode(into: &buffer)
        case .multi(let multi):
            multi.encode(into: &buffer)
        case .count(let count):
            buffer.writeJuteInt(count)
        case .clientInfo(let infos):
            buffer.writeJuteVector(infos)
        case .errorCode(let code):
            buffer.writeJuteInt(code.rawValue)
        case .token(let token):
            buffer.writeJuteBuffer(token)
        }
    }

    /// Writes a whole reply frame: length, reply header, and the body when the header reports success.
    public func encodeFrame(header: ReplyHeader, into buffer: inout ByteBuffer) {
        buffer.writeZooKeeperFrame { buffer in
            header.encode(into: &buffer)
            if header.error == .ok { encode(into: &buffer) }
        }
    }

    /// Decodes the body of a successful reply to a request of type `opCode`.
    public static func decode(for opCode: OpCode, from buffer: inout ByteBuffer) throws(ProtocolError)
        -> ZooKeeperResponse
    {
        switch opCode {
        case .create, .sync:
            return .path(try buffer.readJuteNonNullString())
        case .create2, .createContainer, .createTTL:
            let path = try buffer.readJuteNonNullString()
            return .pathAndStat(path, try Stat(from: &buffer))
        case .exists, .setData, .setACL:
            return .stat(try Stat(from: &buffer))
        case .getData, .reconfig:
            let data = try buffer.readJuteBuffer()
            return .data(data, try Stat(from: &buffer))
        case .getACL:
            let acl = try buffer.readJuteVector(of: ACL.self, minimumElementSize: ACL.minimumEncodedSize)
            return .acl(acl, try Stat(from: &buffer))
        case .getChildren, .getEphemerals:
            return .children(try buffer.readJuteStringVector())
        case .getChildren2:
            let children = try buffer.readJuteStringVector()
            return .childrenAndStat(children, try Stat(from: &buffer))
        case .multi, .multiRead:
            return .multi(try MultiResponse(from: &buffer))
        case .getAllChildrenNumber:
            return .count(try buffer.readJuteInt())
        case .whoAmI:
            return .clientInfo(try buffer.readJuteVector(of: ClientInfo.self, minimumElementSize: 8))
        case .addWatch:
            return .errorCode(try ErrorResponse(from: &buffer).error)
        case .sasl:
            return .token(try buffer.readJuteBuffer())
        case .delete, .ping, .check, .checkWatches, .removeWatches, .deleteContainer, .auth, .setWatches,
            .setWatches2, .closeSession:
            return .empty
        default:
            throw ProtocolError(.unknownOpCode, "no reply layout for opcode \(opCode.rawValue)")
        }
    }
}
