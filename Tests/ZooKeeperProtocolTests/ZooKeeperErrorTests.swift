import Testing
import ZooKeeperProtocol

@Suite struct ZooKeeperErrorTests {
    @Test func descriptionsReadLikeApacheKeeperExceptions() {
        #expect(ZooKeeperError(.noNode, path: "/x").description == "KeeperErrorCode = NoNode for /x")
        #expect(ZooKeeperError(.notEmpty, path: "/x").description == "KeeperErrorCode = Directory not empty for /x")
        #expect(ZooKeeperError(.connectionLoss).description == "KeeperErrorCode = ConnectionLoss")
        #expect(ZooKeeperError(.noWatcher, path: "/w").description == "KeeperErrorCode = No such watcher for /w")
        #expect(ZooKeeperError(.unknownSession).description == "KeeperErrorCode = Unknown error UNKNOWNSESSION")
        #expect(ZooKeeperError(.requestTimeout).description == "KeeperErrorCode = Unknown error REQUESTTIMEOUT")
        #expect(ZooKeeperError(.reconfigDisabled).description == "KeeperErrorCode = Reconfig is disabled")
    }

    @Test func codesCarryApacheNumbersAndNames() {
        let expected: [(ZooKeeperError.Code, Int32, String)] = [
            (.ok, 0, "OK"), (.systemError, -1, "SYSTEMERROR"), (.runtimeInconsistency, -2, "RUNTIMEINCONSISTENCY"),
            (.dataInconsistency, -3, "DATAINCONSISTENCY"), (.connectionLoss, -4, "CONNECTIONLOSS"),
            (.marshallingError, -5, "MARSHALLINGERROR"), (.unimplemented, -6, "UNIMPLEMENTED"),
            (.operationTimeout, -7, "OPERATIONTIMEOUT"), (.badArguments, -8, "BADARGUMENTS"),
            (.newConfigNoQuorum, -13, "NEWCONFIGNOQUORUM"), (.reconfigInProgress, -14, "RECONFIGINPROGRESS"),
            (.apiError, -100, "APIERROR"), (.noNode, -101, "NONODE"), (.noAuth, -102, "NOAUTH"),
            (.badVersion, -103, "BADVERSION"), (.noChildrenForEphemerals, -108, "NOCHILDRENFOREPHEMERALS"),
            (.nodeExists, -110, "NODEEXISTS"), (.notEmpty, -111, "NOTEMPTY"), (.sessionExpired, -112, "SESSIONEXPIRED"),
            (.invalidCallback, -113, "INVALIDCALLBACK"), (.invalidACL, -114, "INVALIDACL"),
            (.authFailed, -115, "AUTHFAILED"), (.sessionMoved, -118, "SESSIONMOVED"),
            (.notReadOnly, -119, "NOTREADONLY"), (.ephemeralOnLocalSession, -120, "EPHEMERALONLOCALSESSION"),
            (.noWatcher, -121, "NOWATCHER"), (.reconfigDisabled, -123, "RECONFIGDISABLED"),
            (.sessionClosedRequireSaslAuth, -124, "SESSIONCLOSEDREQUIRESASLAUTH"),
            (.quotaExceeded, -125, "QUOTAEXCEEDED"), (.throttledOp, -127, "THROTTLEDOP"),
        ]
        for (code, raw, name) in expected {
            #expect(code.rawValue == raw)
            #expect(code.name == name)
            #expect(code.isServerCode)
        }
        #expect(!ZooKeeperError.Code.invalidPath.isServerCode)
    }

    @Test func clientMessagesStandAlone() {
        let error = ZooKeeperError(.invalidPath, path: "a", message: "Path must start with / character")
        #expect(error.description == "Path must start with / character")
    }

    @Test func enumerationNamesMatchApache() {
        #expect(EventType.nodeChildrenChanged.description == "NodeChildrenChanged")
        #expect(EventType.none.description == "None")
        #expect(EventType.persistentWatchRemoved.rawValue == 7)
        #expect(KeeperState.syncConnected.description == "SyncConnected")
        #expect(KeeperState.expired.rawValue == -112)
        #expect(KeeperState.closed.rawValue == 7)
        #expect(WatcherType.persistentRecursive.rawValue == 5)
        #expect(CreateMode.persistentSequentialWithTTL.rawValue == 6)
        #expect(CreateMode.ephemeralSequential.isEphemeral && CreateMode.ephemeralSequential.isSequential)
        #expect(CreateMode(rawValue: 7) == nil)
        #expect(Permissions.all.rawValue == 31)
        #expect(Permissions.all.description == "cdrwa")
        #expect(Permissions([.read, .admin]).description == "ra")
        #expect(Permissions.parse("rwx").permissions == [.read, .write])
        #expect(Permissions.parse("rwx").unknown == ["x"])
        #expect(OpCode.whoAmI.rawValue == 107)
        #expect(OpCode.create.shortName == "CREA")
    }
}
