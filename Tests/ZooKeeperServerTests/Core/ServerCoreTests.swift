import NIOCore
import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

@Suite struct ServerCoreTreeTests {
    @Test func freshTreeHasApacheStats() {
        let harness = CoreHarness()
        let client = harness.client()
        let root = harness.stat(client, "/")
        #expect(root?.cversion == -1)
        #expect(root?.numChildren == 1)
        let zookeeper = harness.stat(client, "/zookeeper")
        #expect(zookeeper?.cversion == -2)
        #expect(zookeeper?.numChildren == 2)
        let (header, body) = harness.call(client, .getACL(PathRequest(path: "/zookeeper/config")))
        #expect(header.error == .ok)
        #expect(body == .acl(ACL.readUnsafe, Stat(aversion: -1)))
    }

    @Test func createSetsStatAndParentCounters() {
        let harness = CoreHarness()
        let client = harness.client()
        #expect(harness.create(client, "/a", data: [1, 2, 3]) == "/a")
        let a = harness.stat(client, "/a")!
        let zxid = harness.core.lastZxid
        #expect(a.czxid == zxid && a.mzxid == zxid && a.pzxid == zxid)
        #expect(a.ctime == harness.clock.wallMilliseconds() && a.mtime == a.ctime)
        #expect(a.version == 0 && a.cversion == 0 && a.aversion == 0 && a.dataLength == 3)
        #expect(harness.create(client, "/a/b") == "/a/b")
        var parent = harness.stat(client, "/a")!
        #expect(parent.pzxid == harness.core.lastZxid)
        #expect(parent.cversion == 1 && parent.numChildren == 1)
        #expect(harness.error(client, .delete(PathVersionRequest(path: "/a/b", version: -1))) == .ok)
        parent = harness.stat(client, "/a")!
        // Deletes move the visible cversion too (stored creations × 2 − children).
        #expect(parent.cversion == 2 && parent.numChildren == 0)
        #expect(parent.pzxid == harness.core.lastZxid)
        #expect(parent.mzxid == a.mzxid)
    }

    @Test func setDataAndSetACLBumpTheirVersions() {
        let harness = CoreHarness()
        let client = harness.client()
        _ = harness.create(client, "/v")
        let (header, body) = harness.call(client, .setData(SetDataRequest(path: "/v", data: [9], version: 0)))
        #expect(header.error == .ok)
        guard case .stat(let stat) = body else { Issue.record("no stat"); return }
        #expect(stat.version == 1 && stat.mzxid == header.zxid && stat.czxid < header.zxid)
        #expect(harness.error(client, .setData(SetDataRequest(path: "/v", data: [9], version: 0))) == .badVersion)
        let acl = harness.call(client, .setACL(SetACLRequest(path: "/v", acl: ACL.readUnsafe, version: 0)))
        guard case .stat(let aclStat) = acl.body else { Issue.record("no stat"); return }
        #expect(aclStat.aversion == 1 && aclStat.version == 1)
    }

    @Test func sequenceNumbersShareTheParentCounter() {
        let harness = CoreHarness()
        let client = harness.client()
        _ = harness.create(client, "/q")
        #expect(harness.create(client, "/q/x-", mode: .persistentSequential) == "/q/x-0000000000")
        #expect(harness.create(client, "/q/plain") == "/q/plain")
        #expect(harness.create(client, "/q/y-", mode: .ephemeralSequential) == "/q/y-0000000002")
        _ = harness.call(client, .delete(PathVersionRequest(path: "/q/plain", version: -1)))
        #expect(harness.create(client, "/q/", mode: .persistentSequential) == "/q/0000000003")
    }

    @Test func sequenceSuffixFormatsLikeJava() {
        #expect(DataTree.sequenceSuffix(0) == "0000000000")
        #expect(DataTree.sequenceSuffix(2_147_483_647) == "2147483647")
        #expect(DataTree.sequenceSuffix(Int32.min) == "-2147483648")
        #expect(DataTree.sequenceSuffix(-5) == "-000000005")
    }

    @Test func sequenceCounterWraps() {
        let harness = CoreHarness()
        let client = harness.client()
        _ = harness.create(client, "/w")
        harness.core.tree.node(at: "/w")!.childCreations = Int32.max
        #expect(harness.create(client, "/w/n", mode: .persistentSequential) == "/w/n2147483647")
        #expect(harness.create(client, "/w/n", mode: .persistentSequential) == "/w/n-2147483648")
    }

    @Test func createChecksInApacheOrder() {
        let harness = CoreHarness()
        let client = harness.client()
        _ = harness.create(client, "/e", mode: .ephemeral)
        func create(_ path: String, flags: Int32 = 0, acl: [ACL] = ACL.openUnsafe) -> ZooKeeperError.Code {
            harness.error(client, .create(CreateRequest(path: path, data: nil, acl: acl, flags: flags)))
        }
        #expect(create("/x", flags: 7) == .badArguments)
        #expect(create("/x", flags: 5) == .unimplemented)  // TTL while extended types are off
        #expect(create("x") == .badArguments)
        #expect(create("/missing/x", acl: []) == .invalidACL)  // ACL before the parent
        #expect(create("/missing/x") == .noNode)
        #expect(create("/x/") == .noNode)
        #expect(create("/bad//x") == .noNode)
        #expect(create("/e") == .nodeExists)
        #expect(create("/") == .nodeExists)
        #expect(create("/e/child") == .noChildrenForEphemerals)
        #expect(create("/ok", acl: [ACL(permissions: .all, id: Id(scheme: "world", id: "nobody"))]) == .invalidACL)
        #expect(create("/ok", acl: ACL.creatorAll) == .invalidACL)  // no authenticated id to expand
        _ = harness.create(client, "/locked", acl: ACL.readUnsafe)
        #expect(create("/locked/x") == .noAuth)
    }

    @Test func failedWritesConsumeAZxidAndReadsDoNot() {
        let harness = CoreHarness()
        let client = harness.client()
        let before = harness.core.lastZxid
        let failed = harness.call(client, .delete(PathVersionRequest(path: "/nope", version: -1)))
        #expect(failed.header.error == .noNode)
        #expect(failed.header.zxid == before + 1)
        let read = harness.call(client, .getData(PathWatchRequest(path: "/", watch: false)))
        #expect(read.header.zxid == before + 1)
        #expect(harness.core.lastZxid == before + 1)
    }

    @Test func deleteChecksInApacheOrder() {
        let harness = CoreHarness()
        let client = harness.client()
        _ = harness.create(client, "/d")
        _ = harness.create(client, "/d/child")
        func delete(_ path: String, version: Int32 = -1) -> ZooKeeperError.Code {
            harness.error(client, .delete(PathVersionRequest(path: path, version: version)))
        }
        #expect(delete("/zookeeper") == .badArguments)
        #expect(delete("/zookeeper/config") == .badArguments)
        #expect(delete("/") == .badArguments)
        #expect(delete("d") == .badArguments)
        #expect(delete("/missing/x") == .noNode)
        #expect(delete("/d", version: 5) == .badVersion)  // a bad version beats NotEmpty
        #expect(delete("/d") == .notEmpty)
        #expect(delete("/d/child", version: 0) == .ok)
    }

    @Test func setACLValidatesTheACLFirst() {
        let harness = CoreHarness()
        let client = harness.client()
        #expect(harness.error(client, .setACL(SetACLRequest(path: "/missing", acl: [], version: -1))) == .invalidACL)
        #expect(
            harness.error(client, .setACL(SetACLRequest(path: "/missing", acl: ACL.openUnsafe, version: -1)))
                == .noNode)
        _ = harness.create(client, "/s", acl: ACL.readUnsafe)
        #expect(harness.error(client, .setACL(SetACLRequest(path: "/s", acl: ACL.openUnsafe, version: -1))) == .noAuth)
    }
}

@Suite struct ServerCoreSessionTests {
    @Test func timeoutIsNegotiatedIntoTheTickRange() {
        let harness = CoreHarness()
        for (asked, granted) in [(100, 4000), (10_000, 10_000), (90_000, 40_000)] {
            let connection = harness.open()
            let outputs = harness.core.connect(
                connection,
                request: ConnectRequest(
                    lastZxidSeen: 0, timeout: Int32(asked), sessionID: 0, password: [], readOnly: false))
            guard case .connectResponse(_, let response) = outputs.first else {
                Issue.record("no response")
                return
            }
            #expect(response.timeout == Int32(granted))
            #expect(response.password.count == 16)
            #expect(response.sessionID >> 56 == 1)
        }
    }

    @Test func sessionsExpireOnTickBoundariesAndTakeTheirEphemerals() {
        let harness = CoreHarness()
        let owner = harness.client(timeout: 4000)
        let watcher = harness.client(timeout: 40_000)
        _ = harness.create(owner, "/eph", mode: .ephemeral)
        _ = harness.call(watcher, .exists(PathWatchRequest(path: "/eph", watch: true)))
        harness.clock.advance(milliseconds: 3999)
        #expect(harness.core.expireSessions().isEmpty)
        harness.clock.advance(milliseconds: 2001)
        let outputs = harness.core.expireSessions()
        #expect(outputs.closes(owner))
        #expect(outputs.events(for: watcher) == [WatcherEvent(type: .nodeDeleted, state: .syncConnected, path: "/eph")])
        #expect(harness.stat(watcher, "/eph") == nil)
    }

    @Test func activityKeepsASessionAlive() {
        let harness = CoreHarness()
        let client = harness.client(timeout: 4000)
        for _ in 0..<5 {
            harness.clock.advance(milliseconds: 3000)
            harness.send(client, .ping)
            #expect(harness.core.expireSessions().isEmpty)
        }
    }

    @Test func closeSessionRemovesEphemeralsAndCloses() {
        let harness = CoreHarness()
        let client = harness.client()
        let other = harness.client()
        _ = harness.create(client, "/e1", mode: .ephemeral)
        let outputs = harness.send(client, .closeSession)
        #expect(outputs.closes(client))
        #expect(harness.stat(other, "/e1") == nil)
        #expect(harness.core.sessions.count == 1)
    }

    @Test func resumeChecksThePasswordAndMovesTheSession() {
        let harness = CoreHarness()
        let first = harness.open()
        guard
            case .connectResponse(_, let created) = harness.core.connect(
                first,
                request: ConnectRequest(lastZxidSeen: 0, timeout: 10_000, sessionID: 0, password: [], readOnly: false)
            ).first
        else {
            Issue.record("no response")
            return
        }
        let wrong = harness.open()
        let refused = harness.core.connect(
            wrong,
            request: ConnectRequest(
                lastZxidSeen: 0, timeout: 10_000, sessionID: created.sessionID,
                password: [UInt8](repeating: 1, count: 16),
                readOnly: false))
        #expect(refused.first == .connectResponse(wrong, .invalidSession()))
        #expect(refused.closes(wrong))

        let second = harness.open()
        let resumed = harness.core.connect(
            second,
            request: ConnectRequest(
                lastZxidSeen: harness.core.lastZxid, timeout: 10_000, sessionID: created.sessionID,
                password: created.password, readOnly: false))
        #expect(resumed.closes(first))
        guard case .connectResponse(_, let response) = resumed.last else {
            Issue.record("no response")
            return
        }
        #expect(response.sessionID == created.sessionID)
        // Closing the session from the second connection expires it for the first.
        harness.send(second, .closeSession)
        let again = harness.open()
        let expired = harness.core.connect(
            again,
            request: ConnectRequest(
                lastZxidSeen: 0, timeout: 10_000, sessionID: created.sessionID, password: created.password,
                readOnly: false))
        #expect(expired.first == .connectResponse(again, .invalidSession()))
    }

    @Test func aClientAheadOfTheServerIsRefused() {
        let harness = CoreHarness()
        let connection = harness.open()
        let outputs = harness.core.connect(
            connection,
            request: ConnectRequest(lastZxidSeen: 99, timeout: 10_000, sessionID: 0, password: [], readOnly: false))
        #expect(outputs == [.close(connection)])
    }
}

@Suite struct ServerCoreContainerTests {
    @Test func emptiedContainersAreSwept() {
        let harness = CoreHarness()
        let client = harness.client()
        let watcher = harness.client()
        _ = harness.call(
            client, .createContainer(CreateRequest(path: "/c", data: nil, acl: ACL.openUnsafe, mode: .container)))
        _ = harness.call(
            client, .createContainer(CreateRequest(path: "/never", data: nil, acl: ACL.openUnsafe, mode: .container)))
        #expect(harness.stat(client, "/c")?.ephemeralOwner == 0)
        _ = harness.create(client, "/c/child")
        #expect(harness.core.sweepContainers().isEmpty)
        _ = harness.call(watcher, .exists(PathWatchRequest(path: "/c", watch: true)))
        _ = harness.call(client, .delete(PathVersionRequest(path: "/c/child", version: -1)))
        let outputs = harness.core.sweepContainers()
        #expect(outputs.events(for: watcher) == [WatcherEvent(type: .nodeDeleted, state: .syncConnected, path: "/c")])
        #expect(harness.stat(client, "/c") == nil)
        #expect(harness.stat(client, "/never") != nil)
    }

    @Test func ttlNodesExpireWhenChildlessAndOld() {
        let harness = CoreHarness { $0.extendedTypesEnabled = true }
        let client = harness.client()
        let create = CreateTTLRequest(path: "/t", data: nil, acl: ACL.openUnsafe, flags: 5, ttl: 5000)
        #expect(harness.call(client, .createTTL(create)).header.error == .ok)
        var bad = create
        bad.ttl = 0
        #expect(harness.error(client, .createTTL(bad)) == .badArguments)
        bad.ttl = 5000
        bad.flags = 0
        #expect(harness.error(client, .createTTL(bad)) == .badArguments)
        #expect(harness.stat(client, "/t")?.ephemeralOwner == 0)
        harness.clock.advance(milliseconds: 5000)
        _ = harness.core.sweepContainers()
        #expect(harness.stat(client, "/t") != nil)
        harness.clock.advance(milliseconds: 1)
        _ = harness.core.sweepContainers()
        #expect(harness.stat(client, "/t") == nil)
    }
}
