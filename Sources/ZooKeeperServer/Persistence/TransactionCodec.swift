import NIOCore
import ZooKeeperProtocol

/// The on-disk encoding of a transaction (the payload of a log record), in jute: zxid, time and session id as
/// longs, then the body as an int tag and its fields. See docs/on-disk-format.md.
enum TransactionCodec {
    /// Body tags. Never renumber: they are on disk.
    enum Tag: Int32 {
        case createSession = 1
        case closeSession = 2
        case create = 3
        case delete = 4
        case setData = 5
        case setACL = 6
        case check = 7
        case multi = 8
        case error = 9
        /// closeSession naming the ephemerals it deletes. Tag 2 stays for the records written before (no
        /// paths), which still load; a zkserver that predates tag 10 refuses a log holding it by name.
        case closeSessionWithEphemerals = 10
    }

    static func encode(_ transaction: Transaction, into buffer: inout ByteBuffer) {
        buffer.writeJuteLong(transaction.zxid)
        buffer.writeJuteLong(transaction.time)
        buffer.writeJuteLong(transaction.sessionID)
        encode(transaction.body, into: &buffer)
    }

    static func encode(_ body: TransactionBody, into buffer: inout ByteBuffer) {
        switch body {
        case .createSession(let timeout, let password):
            buffer.writeJuteInt(Tag.createSession.rawValue)
            buffer.writeJuteInt(timeout)
            buffer.writeJuteBuffer(password)
        case .closeSession(nil):
            buffer.writeJuteInt(Tag.closeSession.rawValue)
        case .closeSession(let ephemeralPaths?):
            buffer.writeJuteInt(Tag.closeSessionWithEphemerals.rawValue)
            buffer.writeJuteStringVector(ephemeralPaths)
        case .create(let path, let data, let acl, let owner, let parentChildCreations):
            buffer.writeJuteInt(Tag.create.rawValue)
            buffer.writeJuteString(path)
            buffer.writeJuteBuffer(data)
            buffer.writeJuteVector(acl)
            buffer.writeJuteLong(owner)
            buffer.writeJuteInt(parentChildCreations)
        case .delete(let path):
            buffer.writeJuteInt(Tag.delete.rawValue)
            buffer.writeJuteString(path)
        case .setData(let path, let data, let version):
            buffer.writeJuteInt(Tag.setData.rawValue)
            buffer.writeJuteString(path)
            buffer.writeJuteBuffer(data)
            buffer.writeJuteInt(version)
        case .setACL(let path, let acl, let aversion):
            buffer.writeJuteInt(Tag.setACL.rawValue)
            buffer.writeJuteString(path)
            buffer.writeJuteVector(acl)
            buffer.writeJuteInt(aversion)
        case .check(let path):
            buffer.writeJuteInt(Tag.check.rawValue)
            buffer.writeJuteString(path)
        case .multi(let bodies):
            buffer.writeJuteInt(Tag.multi.rawValue)
            buffer.writeJuteInt(Int32(truncatingIfNeeded: bodies.count))
            for body in bodies { encode(body, into: &buffer) }
        case .error(let code):
            buffer.writeJuteInt(Tag.error.rawValue)
            buffer.writeJuteInt(code.rawValue)
        }
    }

    /// Decodes a whole payload; trailing bytes are an error.
    static func decode(_ buffer: inout ByteBuffer) throws(ProtocolError) -> Transaction {
        let zxid = try buffer.readJuteLong()
        let time = try buffer.readJuteLong()
        let sessionID = try buffer.readJuteLong()
        let body = try decodeBody(&buffer, insideMulti: false)
        guard buffer.readableBytes == 0 else {
            throw ProtocolError(.trailingBytes, "transaction \(zxid) followed by \(buffer.readableBytes) bytes")
        }
        return Transaction(zxid: zxid, time: time, sessionID: sessionID, body: body)
    }

    private static func decodeBody(_ buffer: inout ByteBuffer, insideMulti: Bool) throws(ProtocolError)
        -> TransactionBody
    {
        let rawTag = try buffer.readJuteInt()
        guard let tag = Tag(rawValue: rawTag) else {
            throw ProtocolError(.invalidValue, "unknown transaction type \(rawTag)")
        }
        switch tag {
        case .createSession:
            let timeout = try buffer.readJuteInt()
            return .createSession(timeout: timeout, password: try buffer.readJuteBuffer() ?? [])
        case .closeSession:
            return .closeSession(ephemeralPaths: nil)
        case .closeSessionWithEphemerals:
            return .closeSession(ephemeralPaths: try buffer.readJuteStringVector())
        case .create:
            let path = try buffer.readJuteNonNullString()
            let data = try buffer.readJuteBuffer()
            let acl = try buffer.readJuteVector(of: ACL.self, minimumElementSize: 12)
            let owner = try buffer.readJuteLong()
            let parentChildCreations = try buffer.readJuteInt()
            return .create(
                path: path, data: data, acl: acl, ephemeralOwner: owner, parentChildCreations: parentChildCreations)
        case .delete:
            return .delete(path: try buffer.readJuteNonNullString())
        case .setData:
            let path = try buffer.readJuteNonNullString()
            let data = try buffer.readJuteBuffer()
            return .setData(path: path, data: data, version: try buffer.readJuteInt())
        case .setACL:
            let path = try buffer.readJuteNonNullString()
            let acl = try buffer.readJuteVector(of: ACL.self, minimumElementSize: 12)
            return .setACL(path: path, acl: acl, aversion: try buffer.readJuteInt())
        case .check:
            return .check(path: try buffer.readJuteNonNullString())
        case .multi:
            guard !insideMulti else { throw ProtocolError(.invalidValue, "multi inside a multi") }
            guard let count = try buffer.readJuteVectorCount(minimumElementSize: 4) else { return .multi([]) }
            var bodies: [TransactionBody] = []
            bodies.reserveCapacity(count)
            for _ in 0..<count { bodies.append(try decodeBody(&buffer, insideMulti: true)) }
            return .multi(bodies)
        case .error:
            return .error(ZooKeeperError.Code(try buffer.readJuteInt()))
        }
    }

    /// The exact size of `body`'s encoding, computed without encoding (to refuse oversized transactions
    /// before they are applied).
    static func encodedSize(of body: TransactionBody) -> Int {
        func buffer(_ bytes: [UInt8]?) -> Int { 4 + (bytes?.count ?? 0) }
        func string(_ text: String) -> Int { 4 + text.utf8.count }
        func acl(_ list: [ACL]) -> Int {
            list.reduce(4) { $0 + 4 + string($1.id.scheme) + string($1.id.id) }
        }
        switch body {
        case .createSession(_, let password): return 8 + buffer(password)
        case .closeSession(nil): return 4
        case .closeSession(let paths?): return paths.reduce(8) { $0 + string($1) }
        case .create(let path, let data, let list, _, _): return 4 + string(path) + buffer(data) + acl(list) + 12
        case .delete(let path), .check(let path): return 4 + string(path)
        case .setData(let path, let data, _): return 4 + string(path) + buffer(data) + 4
        case .setACL(let path, let list, _): return 4 + string(path) + acl(list) + 4
        case .multi(let bodies): return bodies.reduce(8) { $0 + encodedSize(of: $1) }
        case .error: return 8
        }
    }

    /// zxid, time and session id before the body.
    static let headerSize = 24
}
