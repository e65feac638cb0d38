/// A request type (`ZooDefs.OpCode`). A struct rather than an enum so that a server can carry an opcode it
/// does not know far enough to answer it with `Unimplemented`.
public struct OpCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let notification = OpCode(0)
    public static let create = OpCode(1)
    public static let delete = OpCode(2)
    public static let exists = OpCode(3)
    public static let getData = OpCode(4)
    public static let setData = OpCode(5)
    public static let getACL = OpCode(6)
    public static let setACL = OpCode(7)
    public static let getChildren = OpCode(8)
    public static let sync = OpCode(9)
    public static let ping = OpCode(11)
    public static let getChildren2 = OpCode(12)
    public static let check = OpCode(13)
    public static let multi = OpCode(14)
    public static let create2 = OpCode(15)
    public static let reconfig = OpCode(16)
    public static let checkWatches = OpCode(17)
    public static let removeWatches = OpCode(18)
    public static let createContainer = OpCode(19)
    public static let deleteContainer = OpCode(20)
    public static let createTTL = OpCode(21)
    public static let multiRead = OpCode(22)
    public static let auth = OpCode(100)
    public static let setWatches = OpCode(101)
    public static let sasl = OpCode(102)
    public static let getEphemerals = OpCode(103)
    public static let getAllChildrenNumber = OpCode(104)
    public static let setWatches2 = OpCode(105)
    public static let addWatch = OpCode(106)
    public static let whoAmI = OpCode(107)
    public static let createSession = OpCode(-10)
    public static let closeSession = OpCode(-11)
    public static let error = OpCode(-1)

    /// The short names Apache's `cons` four-letter word prints as `lop=` (last operation).
    public var shortName: String {
        switch rawValue {
        case 0: "NOTI"
        case 1: "CREA"
        case 2: "DELE"
        case 3: "EXIS"
        case 4: "GETD"
        case 5: "SETD"
        case 6: "GETA"
        case 7: "SETA"
        case 8: "GETC"
        case 9: "SYNC"
        case 11: "PING"
        case 12: "GET2"
        case 13: "CKVR"
        case 14: "MULT"
        case 15: "CRE2"
        case 16: "RECO"
        case 17: "CHKW"
        case 18: "REMW"
        case 19: "CCON"
        case 20: "DCON"
        case 21: "CTTL"
        case 22: "MLTR"
        case 100: "AUTH"
        case 101: "SETW"
        case 102: "SASL"
        case 103: "GETE"
        case 104: "GACN"
        case 105: "STW2"
        case 106: "ADDW"
        case 107: "WHOA"
        case -10: "SESS"
        case -11: "CLOS"
        default: "UNKN"
        }
    }

    public var description: String {
        switch rawValue {
        case 0: "notification"
        case 1: "create"
        case 2: "delete"
        case 3: "exists"
        case 4: "getData"
        case 5: "setData"
        case 6: "getACL"
        case 7: "setACL"
        case 8: "getChildren"
        case 9: "sync"
        case 11: "ping"
        case 12: "getChildren2"
        case 13: "check"
        case 14: "multi"
        case 15: "create2"
        case 16: "reconfig"
        case 17: "checkWatches"
        case 18: "removeWatches"
        case 19: "createContainer"
        case 20: "deleteContainer"
        case 21: "createTTL"
        case 22: "multiRead"
        case 100: "auth"
        case 101: "setWatches"
        case 102: "sasl"
        case 103: "getEphemerals"
        case 104: "getAllChildrenNumber"
        case 105: "setWatches2"
        case 106: "addWatch"
        case 107: "whoAmI"
        case -10: "createSession"
        case -11: "closeSession"
        case -1: "error"
        default: "opcode(\(rawValue))"
        }
    }
}

/// Reserved xids (`ClientCnxn`): never used for ordinary requests.
public enum SpecialXid {
    public static let notification: Int32 = -1
    public static let ping: Int32 = -2
    public static let auth: Int32 = -4
    public static let setWatches: Int32 = -8
}
