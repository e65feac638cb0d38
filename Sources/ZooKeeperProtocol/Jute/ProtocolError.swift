/// A violation of the wire protocol: a frame or record that cannot be decoded.
///
/// Decoding never traps and never allocates more than the bytes it was given; every malformed input
/// ends in one of these errors, and the connection that sent it is closed.
public struct ProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        fileprivate enum Base: Sendable, Hashable {
            case truncated
            case invalidLength
            case invalidCount
            case frameTooLarge
            case unknownOpCode
            case invalidValue
            case trailingBytes
            case unexpectedXid
        }
        fileprivate let base: Base
        private init(_ base: Base) { self.base = base }

        /// The record ends before all of its fields.
        public static let truncated = Code(.truncated)
        /// A buffer or string length is negative (other than the null marker) or longer than the bytes left.
        public static let invalidLength = Code(.invalidLength)
        /// A vector count is negative (other than the null marker) or larger than the bytes left allow.
        public static let invalidCount = Code(.invalidCount)
        /// A frame length prefix is negative or above the packet limit.
        public static let frameTooLarge = Code(.frameTooLarge)
        /// An operation code that this protocol version does not define.
        public static let unknownOpCode = Code(.unknownOpCode)
        /// A field holds a value outside its domain.
        public static let invalidValue = Code(.invalidValue)
        /// A record was followed by bytes that belong to nothing.
        public static let trailingBytes = Code(.trailingBytes)
        /// A reply whose xid does not match the oldest outstanding request.
        public static let unexpectedXid = Code(.unexpectedXid)

        public var description: String {
            switch base {
            case .truncated: "truncated"
            case .invalidLength: "invalidLength"
            case .invalidCount: "invalidCount"
            case .frameTooLarge: "frameTooLarge"
            case .unknownOpCode: "unknownOpCode"
            case .invalidValue: "invalidValue"
            case .trailingBytes: "trailingBytes"
            case .unexpectedXid: "unexpectedXid"
            }
        }
    }

    public var code: Code
    /// What was being decoded and what was wrong, for logs.
    public var detail: String {
        get { storedDetail.text }
        set { storedDetail = .text(newValue) }
    }
    @usableFromInline var storedDetail: Detail

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.storedDetail = .text(detail)
    }

    /// An error whose detail is written only when it is read. The decoders' common failures use it: a peer's
    /// garbage (or a fuzzer's, millions of times a minute) makes them fail often, and most of these texts are
    /// never read.
    @inlinable init(_ code: Code, lazy detail: Detail) {
        self.code = code
        self.storedDetail = detail
    }

    public var description: String { "ZooKeeper protocol error (\(code)): \(detail)" }

    public static func == (left: ProtocolError, right: ProtocolError) -> Bool {
        left.code == right.code && left.detail == right.detail
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(detail)
    }

    /// A detail as written, or the parts to write it from.
    @usableFromInline enum Detail: Sendable {
        case text(String)
        /// "`what` needs `bytes` bytes, `left` left"
        case needs(StaticString, bytes: Int, left: Int)
        /// "`what` length `length` with `left` bytes left"
        case length(StaticString, Int32, left: Int)
        /// "vector count `count` with `left` bytes left"
        case vectorCount(Int32, left: Int)

        var text: String {
            switch self {
            case .text(let text): text
            case .needs(let what, let bytes, let left): "\(what) needs \(bytes) bytes, \(left) left"
            case .length(let what, let length, let left): "\(what) length \(length) with \(left) bytes left"
            case .vectorCount(let count, let left): "vector count \(count) with \(left) bytes left"
            }
        }
    }
}
