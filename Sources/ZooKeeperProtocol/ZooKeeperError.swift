/// An error from ZooKeeper: a server result code (`KeeperException.Code`) or a client-side failure, with the
/// path it concerns.
///
/// `description` reads as Apache's `KeeperException.getMessage()` does (`KeeperErrorCode = NoNode for /a`), so
/// shells and logs print what operators already know.
public struct ZooKeeperError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A result code. Server codes carry Apache's numbers; client-only codes use positive numbers that no
    /// server sends. Unknown server codes are kept as they came.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public init(_ rawValue: Int32) { self.rawValue = rawValue }

        public static let ok = Code(0)
        public static let systemError = Code(-1)
        public static let runtimeInconsistency = Code(-2)
        public static let dataInconsistency = Code(-3)
        public static let connectionLoss = Code(-4)
        public static let marshallingError = Code(-5)
        public static let unimplemented = Code(-6)
        public static let operationTimeout = Code(-7)
        public static let badArguments = Code(-8)
        public static let unknownSession = Code(-12)
        public static let newConfigNoQuorum = Code(-13)
        public static let reconfigInProgress = Code(-14)
        public static let apiError = Code(-100)
        public static let noNode = Code(-101)
        public static let noAuth = Code(-102)
        public static let badVersion = Code(-103)
        public static let noChildrenForEphemerals = Code(-108)
        public static let nodeExists = Code(-110)
        public static let notEmpty = Code(-111)
        public static let sessionExpired = Code(-112)
        public static let invalidCallback = Code(-113)
        public static let invalidACL = Code(-114)
        public static let authFailed = Code(-115)
        public static let sessionMoved = Code(-118)
        public static let notReadOnly = Code(-119)
        public static let ephemeralOnLocalSession = Code(-120)
        public static let noWatcher = Code(-121)
        public static let requestTimeout = Code(-122)
        public static let reconfigDisabled = Code(-123)
        public static let sessionClosedRequireSaslAuth = Code(-124)
        public static let quotaExceeded = Code(-125)
        public static let throttledOp = Code(-127)

        // Client-side codes (not on the wire).
        /// A path that fails client-side validation (`PathUtils`); the message says why.
        public static let invalidPath = Code(1001)
        /// A connect string that cannot be parsed.
        public static let invalidConnectString = Code(1002)
        /// A request or reply larger than the packet limit (jute.maxbuffer).
        public static let packetTooLarge = Code(1003)
        /// The client was closed by its owner.
        public static let clientClosed = Code(1004)
        /// An argument the client rejects before sending (e.g. a TTL out of range).
        public static let invalidArgument = Code(1005)
        /// The task waiting for the result was cancelled (e.g. a lock acquisition given up).
        public static let cancelled = Code(1006)

        /// Apache's enum constant name, e.g. `NONODE`.
        public var name: String {
            switch rawValue {
            case 0: "OK"
            case -1: "SYSTEMERROR"
            case -2: "RUNTIMEINCONSISTENCY"
            case -3: "DATAINCONSISTENCY"
            case -4: "CONNECTIONLOSS"
            case -5: "MARSHALLINGERROR"
            case -6: "UNIMPLEMENTED"
            case -7: "OPERATIONTIMEOUT"
            case -8: "BADARGUMENTS"
            case -12: "UNKNOWNSESSION"
            case -13: "NEWCONFIGNOQUORUM"
            case -14: "RECONFIGINPROGRESS"
            case -100: "APIERROR"
            case -101: "NONODE"
            case -102: "NOAUTH"
            case -103: "BADVERSION"
            case -108: "NOCHILDRENFOREPHEMERALS"
            case -110: "NODEEXISTS"
            case -111: "NOTEMPTY"
            case -112: "SESSIONEXPIRED"
            case -113: "INVALIDCALLBACK"
            case -114: "INVALIDACL"
            case -115: "AUTHFAILED"
            case -118: "SESSIONMOVED"
            case -119: "NOTREADONLY"
            case -120: "EPHEMERALONLOCALSESSION"
            case -121: "NOWATCHER"
            case -122: "REQUESTTIMEOUT"
            case -123: "RECONFIGDISABLED"
            case -124: "SESSIONCLOSEDREQUIRESASLAUTH"
            case -125: "QUOTAEXCEEDED"
            case -127: "THROTTLEDOP"
            case 1001: "INVALIDPATH"
            case 1002: "INVALIDCONNECTSTRING"
            case 1003: "PACKETTOOLARGE"
            case 1004: "CLIENTCLOSED"
            case 1005: "INVALIDARGUMENT"
            case 1006: "CANCELLED"
            default: "UNKNOWN(\(rawValue))"
            }
        }

        /// Apache's `getCodeMessage` text, the part after `KeeperErrorCode = `.
        public var message: String {
            switch rawValue {
            case 0: "ok"
            case -1: "SystemError"
            case -2: "RuntimeInconsistency"
            case -3: "DataInconsistency"
            case -4: "ConnectionLoss"
            case -5: "MarshallingError"
            case -6: "Unimplemented"
            case -7: "OperationTimeout"
            case -8: "BadArguments"
            case -13: "NewConfigNoQuorum"
            case -14: "ReconfigInProgress"
            case -100: "APIError"
            case -101: "NoNode"
            case -102: "NoAuth"
            case -103: "BadVersion"
            case -108: "NoChildrenForEphemerals"
            case -110: "NodeExists"
            case -111: "Directory not empty"
            case -112: "Session expired"
            case -113: "Invalid callback"
            case -114: "InvalidACL"
            case -115: "AuthFailed"
            case -118: "Session moved"
            case -119: "Not a read-only call"
            case -120: "Ephemeral node on local session"
            case -121: "No such watcher"
            case -123: "Reconfig is disabled"
            case -124: "Session closed because client failed to authenticate"
            case -125: "Quota has exceeded"
            case -127: "Op throttled due to high load"
            case 1001: "Invalid path"
            case 1002: "Invalid connect string"
            case 1003: "Packet too large"
            case 1004: "Client closed"
            case 1005: "Invalid argument"
            case 1006: "Cancelled"
            default: "Unknown error \(name)"
            }
        }

        /// True for codes a server can send; false for client-side ones.
        public var isServerCode: Bool { rawValue <= 0 }

        public var description: String { name }
    }

    public var code: Code
    /// The path the failed call was made with (the caller's path, before any chroot).
    public var path: String?
    /// A client-side explanation; when set it is the whole description.
    public var message: String?
    /// For a failed multi: the result of every operation (see `MultiResult`).
    public var multiResults: [MultiResult]?

    public init(_ code: Code, path: String? = nil, message: String? = nil, multiResults: [MultiResult]? = nil) {
        self.code = code
        self.path = path
        self.message = message
        self.multiResults = multiResults
    }

    public var description: String {
        if let message { return message }
        if let path { return "KeeperErrorCode = \(code.message) for \(path)" }
        return "KeeperErrorCode = \(code.message)"
    }
}
