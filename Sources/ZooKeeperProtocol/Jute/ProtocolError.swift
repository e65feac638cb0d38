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
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "ZooKeeper protocol error (\(code)): \(detail)" }
}
