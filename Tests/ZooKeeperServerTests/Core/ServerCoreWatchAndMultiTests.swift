import NIOCore
import Testing
import ZooKeeperProtocol

@testable import ZooKeeperServer

private func event(_ type: EventType, _ path: String) -> WatcherEvent {
    WatcherEvent(type: type, state: .syncConnected, path: path)
}

@Suite struct ServerCoreWatchTests {
    @Test func oneShotWatchesFireOnceAndBeforeTheReply() {
        let harness = CoreHarness()
        let writer = harness.client()
        let watcher = harness.client()
        _ = harness.create(writer, "/w")
        _ = harness.call(watcher, .getData(PathWatchRequest(path: "/w", watch: true)))
        _ = harness.call(watcher, .getChildren(PathWatchRequest(path: "/w", watch: true)))
        _ = harness.call(writer, .getData(PathWatchRequest(path: "/w", watch: true)))
        let outputs = harness.send(writer, .setData(SetDataRequest(path: "/w", data: [1], version: -1)))
        #expect(outputs.events(for: watcher) == [event(.nodeDataChanged, "/w")])
        // The writer's own notification precedes its reply.
        #expect(outputs.events(for: writer) == [event(.nodeDataChanged, "/w")])
        let notificationIndex = outputs.firstIndex { if case .notification(writer, _, _) = $0 { true } else { false } }
        let replyIndex = outputs.firstIndex { if case .reply(writer, _, _) = $0 { true } else { false } }
        #expect(notificationIndex != nil && replyIndex != nil && notificationIndex! < replyIndex!)
        let second = harness.send(writer, .setData(SetDataRequest(path: "/w", data: [2], version: -1)))
        #expect(second.events(for: watcher).isEmpty)
        // Data and child watch on a deleted node: one NodeDeleted.
        let deleted = harness.send(writer, .delete(PathVersionRequest(path: "/w", version: -1)))
        #expect(deleted.events(for: watcher) == [event(.nodeDeleted, "/w")])
    }

    @Test func notificationsCarryTheTransactionZxid() {
        let harness = CoreHarness()
        let writer = harness.client()
        let watcher = harness.client()
        _ = harness.call(watcher, .exists(PathWatchRequest(path: "/z", watch: true)))
        let outputs = harness.send(
            writer, .create(CreateRequest(path: "/z", data: nil, acl: ACL.openUnsafe, mode: .persistent)))
        guard case .notification(_, let zxid, _) = outputs.first else {
            Issue.record("no notification")
            return
        }
        #expect(zxid == harness.core.lastZxid)
    }

    @Test func persistentAndRecursiveWatches() {
        let harness = CoreHarness()
        let writer = harness.client()
        let persistent = harness.client()
        let recursive = harness.client()
        _ = harness.create(writer, "/p")
        #expect(
            harness.call(persistent, .addWatch(AddWatchRequest(path: "/p", mode: .persistent))).body == .errorCode(.ok))
        _ = harness.call(recursive, .addWatch(AddWatchRequest(path: "/p", mode: .persistentRecursive)))
        let created = harness.send(
            writer, .create(CreateRequest(path: "/p/a", data: nil, acl: ACL.openUnsafe, mode: .persistent)))
        #expect(created.events(for: persistent) == [event(.nodeChildrenChanged, "/p")])
        #expect(created.events(for: recursive) == [event(.nodeCreated, "/p/a")])
        let changed = harness.send(writer, .setData(SetDataRequest(path: "/p/a", data: nil, version: -1)))
        #expect(changed.events(for: persistent).isEmpty)
        #expect(changed.events(for: recursive) == [event(.nodeDataChanged, "/p/a")])
        let again = harness.send(writer, .setData(SetDataRequest(path: "/p", data: nil, version: -1)))
        #expect(again.events(for: persistent) == [event(.nodeDataChanged, "/p")])
        #expect(again.events(for: recursive) == [event(.nodeDataChanged, "/p")])
    }

    @Test func persistentWatchesDoNotRevealUnreadableNodes() {
        let harness = CoreHarness()
        let writer = harness.client()
        let spy = harness.client()
        _ = harness.call(writer, .auth(AuthPacket(scheme: "digest", auth: Array("alice:secret".utf8))))
        _ = harness.create(writer, "/r")
        _ = harness.call(spy, .addWatch(AddWatchRequest(path: "/r", mode: .persistentRecursive)))
        let secret = [
            ACL(
                permissions: .all,
                id: Id(scheme: "digest", id: AccessControl.digest(credentials: Array("alice:secret".utf8))))
        ]
        let outputs = harness.send(
            writer, .create(CreateRequest(path: "/r/secret", data: nil, acl: secret, mode: .persistent)))
        #expect(outputs.events(for: spy).isEmpty)
        let open = harness.send(
            writer, .create(CreateRequest(path: "/r/open", data: nil, acl: ACL.openUnsafe, mode: .persistent)))
        #expect(open.events(for: spy) == [event(.nodeCreated, "/r/open")])
    }

    @Test func setWatchesFiresForChangesAfterTheRelativeZxid() {
        let harness = CoreHarness()
        let writer = harness.client()
        _ = harness.create(writer, "/same")
        _ = harness.create(writer, "/changed")
        _ = harness.create(writer, "/parent")
        let seen = harness.core.lastZxid
        _ = harness.call(writer, .setData(SetDataRequest(path: "/changed", data: [1], version: -1)))
        _ = harness.create(writer, "/parent/kid")
        _ = harness.create(writer, "/born")
        let client = harness.client()
        let request = SetWatches(
            relativeZxid: seen, dataWatches: ["/same", "/changed", "/gone"], existWatches: ["/born", "/unborn"],
            childWatches: ["/parent", "/same"], persistentWatches: ["/p"], persistentRecursiveWatches: ["/r"])
        let outputs = harness.send(client, .setWatches2(request))
        #expect(
            Set(outputs.events(for: client).map { "\($0.type) \($0.path)" }) == [
                "NodeDataChanged /changed", "NodeDeleted /gone", "NodeCreated /born", "NodeChildrenChanged /parent",
            ])
        guard case .reply(_, let header, .empty) = outputs.last else {
            Issue.record("no reply")
            return
        }
        #expect(header.error == .ok)
        // The unchanged ones were registered.
        let later = harness.send(writer, .setData(SetDataRequest(path: "/same", data: [1], version: -1)))
        #expect(later.events(for: client) == [event(.nodeDataChanged, "/same")])
        let unborn = harness.send(
            writer, .create(CreateRequest(path: "/unborn", data: nil, acl: ACL.openUnsafe, mode: .persistent)))
        #expect(unborn.events(for: client) == [event(.nodeCreated, "/unborn")])
    }

    @Test func checkAndRemoveWatches() {
        let harness = CoreHarness()
        let client = harness.client()
        _ = harness.create(client, "/x")
        #expect(harness.error(client, .checkWatches(WatchesRequest(path: "/x", type: .data))) == .noWatcher)
        _ = harness.call(client, .getData(PathWatchRequest(path: "/x", watch: true)))
        #expect(harness.error(client, .checkWatches(WatchesRequest(path: "/x", type: .children))) == .noWatcher)
        #expect(harness.error(client, .checkWatches(WatchesRequest(path: "/x", type: .data))) == .ok)
        #expect(harness.error(client, .removeWatches(WatchesRequest(path: "/x", type: .any))) == .ok)
        #expect(harness.error(client, .checkWatches(WatchesRequest(path: "/x", type: .any))) == .noWatcher)
        _ = harness.call(client, .addWatch(AddWatchRequest(path: "/x", mode: .persistent)))
        #expect(
            harness.error(client, .removeWatches(WatchesRequest(path: "/x", type: .persistentRecursive))) == .noWatcher)
        #expect(harness.error(client, .removeWatches(WatchesRequest(path: "/x", type: .persistent))) == .ok)
    }

    @Test func watchesVanishWithTheirConnection() {
        let harness = CoreHarness()
        let writer = harness.client()
        let watcher = harness.client()
        _ = harness.call(watcher, .exists(PathWatchRequest(path: "/gone", watch: true)))
        harness.core.connectionClosed(watcher)
        let outputs = harness.send(
            writer, .create(CreateRequest(path: "/gone", data: nil, acl: ACL.openUnsafe, mode: .persistent)))
        #expect(outputs.events(for: watcher).isEmpty)
    }
}

@Suite struct ServerCoreACLTests {
    @Test func getACLNeedsReadOrAdminAndHidesDigestsWithoutAdmin() {
        let harness = CoreHarness()
        let owner = harness.client()
        let reader = harness.client()
        let stranger = harness.client()
        _ = harness.call(owner, .auth(AuthPacket(scheme: "digest", auth: Array("alice:secret".utf8))))
        let digest = AccessControl.digest(credentials: Array("alice:secret".utf8))
        let acl = [
            ACL(permissions: .all, id: Id(scheme: "digest", id: digest)),
            ACL(permissions: .read, id: Id(scheme: "ip", id: "10.0.0.0/8")),
        ]
        _ = harness.create(owner, "/guarded", acl: acl)
        let own = harness.call(owner, .getACL(PathRequest(path: "/guarded")))
        guard case .acl(let full, _) = own.body else {
            Issue.record("no acl")
            return
        }
        #expect(full == acl)
        _ = reader
        let readerFrom10 = harness.client(ip: "10.1.2.3")
        let masked = harness.call(readerFrom10, .getACL(PathRequest(path: "/guarded")))
        guard case .acl(let shown, _) = masked.body else {
            Issue.record("no acl")
            return
        }
        #expect(shown[0].id == Id(scheme: "digest", id: "alice:x"))
        #expect(harness.error(stranger, .getACL(PathRequest(path: "/guarded"))) == .noAuth)
    }

    @Test func authSchemeExpandsToTheCallersDigest() {
        let harness = CoreHarness()
        let client = harness.client()
        _ = harness.call(client, .auth(AuthPacket(scheme: "digest", auth: Array("bob:pw".utf8))))
        _ = harness.create(client, "/mine", acl: ACL.creatorAll)
        let (_, body) = harness.call(client, .getACL(PathRequest(path: "/mine")))
        #expect(
            body
                == .acl(
                    [
                        ACL(
                            permissions: .all,
                            id: Id(scheme: "digest", id: AccessControl.digest(credentials: Array("bob:pw".utf8))))
                    ], harness.stat(client, "/mine")!))
    }

    @Test func superUserBypassesChecks() {
        let harness = CoreHarness { $0.superDigest = AccessControl.digest(credentials: Array("super:super".utf8)) }
        let owner = harness.client()
        let admin = harness.client()
        _ = harness.create(owner, "/closed", acl: [ACL(permissions: .read, id: Id(scheme: "ip", id: "10.9.9.9"))])
        #expect(harness.error(admin, .getData(PathWatchRequest(path: "/closed", watch: false))) == .noAuth)
        _ = harness.call(admin, .auth(AuthPacket(scheme: "digest", auth: Array("super:super".utf8))))
        #expect(harness.error(admin, .getData(PathWatchRequest(path: "/closed", watch: false))) == .ok)
        let (_, who) = harness.call(admin, .whoAmI)
        // Apache's order (hash buckets, see ConnectionIdentities), not the order of authentication.
        #expect(
            who
                == .clientInfo([
                    ClientInfo(authScheme: "super", user: ""), ClientInfo(authScheme: "ip", user: "127.0.0.1"),
                    ClientInfo(authScheme: "digest", user: "super"),
                ]))
    }

    @Test func badAuthSchemeFailsAndCloses() {
        let harness = CoreHarness()
        let client = harness.client()
        let outputs = harness.send(client, .auth(AuthPacket(scheme: "kerberos", auth: [1])), xid: SpecialXid.auth)
        #expect(outputs.first == .reply(client, ReplyHeader(xid: SpecialXid.auth, zxid: 0, error: .authFailed), .empty))
        #expect(outputs.closes(client))
    }

    @Test func skipACLAllowsEverything() {
        let harness = CoreHarness { $0.skipACL = true }
        let client = harness.client()
        _ = harness.create(client, "/n", acl: [ACL(permissions: .read, id: Id(scheme: "ip", id: "10.9.9.9"))])
        #expect(harness.error(client, .setData(SetDataRequest(path: "/n", data: nil, version: -1))) == .ok)
    }
}

@Suite struct ServerCoreMultiTests {
    @Test func failedMultiChangesNothingAndEncodesLikeApache() {
        let harness = CoreHarness()
        let client = harness.client()
        let before = harness.core.lastZxid
        let (header, body) = harness.call(
            client,
            .multi(
                MultiRequest([
                    .create(CreateRequest(path: "/m", data: nil, acl: ACL.openUnsafe, mode: .persistent)),
                    .delete(PathVersionRequest(path: "/nonexist", version: -1)),
                    .setData(SetDataRequest(path: "/m", data: nil, version: -1)),
                ])))
        #expect(header.error == .ok)
        #expect(header.zxid == before + 1)
        #expect(harness.stat(client, "/m") == nil)
        #expect(harness.stat(client, "/")?.cversion == -1)
        var bytes = ByteBuffer()
        body.encode(into: &bytes)
        // §4.8, observed from Apache 3.8.
        let expected: [String] = [
            "ffffffff", "00", "00000000", "00000000",
            "ffffffff", "00", "ffffff9b", "ffffff9b",
            "ffffffff", "00", "fffffffe", "fffffffe",
            "ffffffff", "01", "ffffffff",
        ]
        let hex: String = bytes.readableBytesView.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        #expect(hex == expected.joined())
    }

    @Test func laterOperationsSeeEarlierOnes() {
        let harness = CoreHarness()
        let client = harness.client()
        let watcher = harness.client()
        _ = harness.call(watcher, .exists(PathWatchRequest(path: "/m", watch: true)))
        let outputs = harness.send(
            client,
            .multi(
                MultiRequest([
                    .create(CreateRequest(path: "/m", data: [1], acl: ACL.openUnsafe, mode: .persistent)),
                    .create2(CreateRequest(path: "/m/s-", data: nil, acl: ACL.openUnsafe, mode: .persistentSequential)),
                    .setData(SetDataRequest(path: "/m", data: [2], version: 0)),
                    .check(PathVersionRequest(path: "/m", version: 1)),
                    .delete(PathVersionRequest(path: "/m/s-0000000000", version: 0)),
                ])))
        #expect(outputs.events(for: watcher) == [event(.nodeCreated, "/m")])
        guard case .reply(_, let header, .multi(let response)) = outputs.last else {
            Issue.record("no reply")
            return
        }
        #expect(response.results.count == 5)
        #expect(response.results[0] == .create(path: "/m"))
        guard case .create2(let path, let stat) = response.results[1] else {
            Issue.record("no create2")
            return
        }
        #expect(path == "/m/s-0000000000" && stat.czxid == header.zxid)
        guard case .setData(let setStat) = response.results[2] else {
            Issue.record("no setData")
            return
        }
        #expect(setStat.version == 1 && setStat.mzxid == header.zxid)
        #expect(response.results[3] == .check && response.results[4] == .delete)
        #expect(harness.stat(client, "/m")?.cversion == 2)
    }

    @Test func multiReadReportsEachOperation() {
        let harness = CoreHarness()
        let client = harness.client()
        let (header, body) = harness.call(
            client, .multiRead(MultiRequest([.getChildren(path: "/nonexist"), .getData(path: "/zookeeper")])))
        #expect(header.error == .ok)
        guard case .multi(let response) = body else {
            Issue.record("no multi")
            return
        }
        #expect(response.results[0] == .error(.noNode))
        #expect(response.results[1] == .getData(data: [], stat: harness.stat(client, "/zookeeper")!))
    }

    @Test func mixedReadAndWriteIsAMarshallingError() {
        let harness = CoreHarness()
        let client = harness.client()
        let code = harness.error(
            client, .multi(MultiRequest([.getData(path: "/"), .delete(PathVersionRequest(path: "/x", version: -1))])))
        #expect(code == .marshallingError)
    }
}
