import NIOCore

/// Separates the operations of a multi request or response (`MultiHeader`).
public struct MultiHeader: JuteRecord, Hashable {
    public var type: Int32
    public var done: Bool
    public var error: Int32

    public init(type: Int32, done: Bool, error: Int32) {
        self.type = type
        self.done = done
        self.error = error
    }

    /// Closes the list of operations or results.
    public static let end = MultiHeader(type: -1, done: true, error: -1)

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        type = try buffer.readJuteInt()
        done = try buffer.readJuteBool()
        error = try buffer.readJuteInt()
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeJuteInt(type)
        buffer.writeJuteBool(done)
        buffer.writeJuteInt(error)
    }
}

/// One operation of a multi (writes: create, delete, setData, check) or a multiRead (getChildren, getData).
public enum MultiOperation: Sendable, Hashable {
    case create(CreateRequest)
    case create2(CreateRequest)
    case createContainer(CreateRequest)
    case createTTL(CreateTTLRequest)
    case delete(PathVersionRequest)
    case setData(SetDataRequest)
    case check(PathVersionRequest)
    case getChildren(path: String)
    case getData(path: String)

    public var opCode: OpCode {
        switch self {
        case .create: .create
        case .create2: .create2
        case .createContainer: .createContainer
        case .createTTL: .createTTL
        case .delete: .delete
        case .setData: .setData
        case .check: .check
        case .getChildren: .getChildren
        case .getData: .getData
        }
    }

    public var path: String {
        switch self {
        case .create(let r), .create2(let r), .createContainer(let r): r.path
        case .createTTL(let r): r.path
        case .delete(let r), .check(let r): r.path
        case .setData(let r): r.path
        case .getChildren(let path), .getData(let path): path
        }
    }

    public var isRead: Bool {
        switch self {
        case .getChildren, .getData: true
        case .create, .create2, .createContainer, .createTTL, .delete, .setData, .check: false
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        MultiHeader(type: opCode.rawValue, done: false, error: -1).encode(into: &buffer)
        switch self {
        case .create(let r), .create2(let r), .createContainer(let r): r.encode(into: &buffer)
        case .createTTL(let r): r.encode(into: &buffer)
        case .delete(let r), .check(let r): r.encode(into: &buffer)
        case .setData(let r): r.encode(into: &buffer)
        case .getChildren(let path), .getData(let path):
            PathWatchRequest(path: path, watch: false).encode(into: &buffer)
        }
    }
}

/// The operations of a multi or multiRead request (`MultiOperationRecord`).
public struct MultiRequest: JuteRecord, Hashable {
    public var operations: [MultiOperation]

    public init(_ operations: [MultiOperation]) { self.operations = operations }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        var operations: [MultiOperation] = []
        while true {
            let header = try MultiHeader(from: &buffer)
            if header.done { break }
            switch OpCode(header.type) {
            case .create: operations.append(.create(try CreateRequest(from: &buffer)))
            case .create2: operations.append(.create2(try CreateRequest(from: &buffer)))
            case .createContainer: operations.append(.createContainer(try CreateRequest(from: &buffer)))
            case .createTTL: operations.append(.createTTL(try CreateTTLRequest(from: &buffer)))
            case .delete: operations.append(.delete(try PathVersionRequest(from: &buffer)))
            case .setData: operations.append(.setData(try SetDataRequest(from: &buffer)))
            case .check: operations.append(.check(try PathVersionRequest(from: &buffer)))
            case .getChildren: operations.append(.getChildren(path: try PathWatchRequest(from: &buffer).path))
            case .getData: operations.append(.getData(path: try PathWatchRequest(from: &buffer).path))
            default:
                throw ProtocolError(.unknownOpCode, "multi operation type \(header.type)")
            }
        }
        self.operations = operations
    }

    public func encode(into buffer: inout ByteBuffer) {
        for operation in operations {
            operation.encode(into: &buffer)
        }
        MultiHeader.end.encode(into: &buffer)
    }
}

/// The outcome of one operation of a multi. A failed multi reports every operation as `.error`: the ones
/// before the failure with `.ok`, the failing one with its code, the ones after with `runtimeInconsistency`.
public enum MultiResult: Sendable, Hashable {
    case create(path: String)
    case create2(path: String, stat: Stat)
    case delete
    case setData(stat: Stat)
    case check
    case getChildren(children: [String])
    case getData(data: [UInt8]?, stat: Stat)
    case error(ZooKeeperError.Code)

    /// The type field of this result's header.
    public var type: Int32 {
        switch self {
        case .create: OpCode.create.rawValue
        case .create2: OpCode.create2.rawValue
        case .delete: OpCode.delete.rawValue
        case .setData: OpCode.setData.rawValue
        case .check: OpCode.check.rawValue
        case .getChildren: OpCode.getChildren.rawValue
        case .getData: OpCode.getData.rawValue
        case .error: OpCode.error.rawValue
        }
    }

    public var errorCode: ZooKeeperError.Code {
        if case .error(let code) = self { return code }
        return .ok
    }
}

/// The results of a multi or multiRead (`MultiResponse`).
public struct MultiResponse: JuteRecord, Hashable {
    public var results: [MultiResult]

    public init(_ results: [MultiResult]) { self.results = results }

    /// The first non-OK code among the results, as clients raise it.
    public var firstError: (index: Int, code: ZooKeeperError.Code)? {
        for (index, result) in results.enumerated() {
            if case .error(let code) = result, code != .ok { return (index, code) }
        }
        return nil
    }

    public init(from buffer: inout ByteBuffer) throws(ProtocolError) {
        var results: [MultiResult] = []
        while true {
            let header = try MultiHeader(from: &buffer)
            if header.done { break }
            switch OpCode(header.type) {
            case .create:
                results.append(.create(path: try buffer.readJuteNonNullString()))
            case .create2:
                let path = try buffer.readJuteNonNullString()
                results.append(.create2(path: path, stat: try Stat(from: &buffer)))
            case .delete:
                results.append(.delete)
            case .setData:
                results.append(.setData(stat: try Stat(from: &buffer)))
            case .check:
                results.append(.check)
            case .getChildren:
                results.append(.getChildren(children: try buffer.readJuteStringVector()))
            case .getData:
                let data = try buffer.readJuteBuffer()
                results.append(.getData(data: data, stat: try Stat(from: &buffer)))
            case .error:
                results.append(.error(try ErrorResponse(from: &buffer).error))
            default:
                throw ProtocolError(.unknownOpCode, "multi result type \(header.type)")
            }
        }
        self.results = results
    }

    public func encode(into buffer: inout ByteBuffer) {
        for result in results {
            MultiHeader(type: result.type, done: false, error: result.errorCode.rawValue).encode(into: &buffer)
            switch result {
            case .create(let path):
                buffer.writeJuteString(path)
            case .create2(let path, let stat):
                buffer.writeJuteString(path)
                stat.encode(into: &buffer)
            case .delete, .check:
                break
            case .setData(let stat):
                stat.encode(into: &buffer)
            case .getChildren(let children):
                buffer.writeJuteStringVector(children)
            case .getData(let data, let stat):
                buffer.writeJuteBuffer(data)
                stat.encode(into: &buffer)
            case .error(let code):
                ErrorResponse(error: code).encode(into: &buffer)
            }
        }
        MultiHeader.end.encode(into: &buffer)
    }
}
