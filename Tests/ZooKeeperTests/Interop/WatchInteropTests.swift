import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// One-shot data, exists and child watches; persistent and persistent-recursive watches; their removal.
@Suite struct WatchInteropTests {
    @Test(arguments: interopServers)
    func dataWatchFiresOnceOnChange(_ kind: TestServerKind) async throws {
        try await withWatcherAndWriter(kind) { watcher, writer, root in
            try await writer.create(root + "/d", data: bytes("1"))
            let (data, _, stream) = try await watcher.getDataAndWatch(root + "/d")
            #expect(data == bytes("1"))
            let events = EventRecorder(stream)
            try await writer.setData(root + "/d", data: bytes("2"))
            let event = await events.next()
            #expect(event?.type == .nodeDataChanged)
            #expect(event?.path == root + "/d")
            #expect(event?.state == .syncConnected)
            // One-shot: the stream ends after its event.
            #expect(await events.next() == nil)
            #expect(events.isFinished)
        }
    }

    @Test(arguments: interopServers)
    func dataWatchSeesDeletion(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            try await client.create(root + "/d")
            let (_, _, stream) = try await client.getDataAndWatch(root + "/d")
            let events = EventRecorder(stream)
            try await client.delete(root + "/d")
            let event = await events.next()
            #expect(event?.type == .nodeDeleted)
            #expect(event?.path == root + "/d")
        }
    }

    @Test(arguments: interopServers)
    func existsWatchOnAMissingNodeSeesItsCreation(_ kind: TestServerKind) async throws {
        try await withWatcherAndWriter(kind) { watcher, writer, root in
            let (stat, stream) = try await watcher.existsAndWatch(root + "/later")
            #expect(stat == nil)
            let events = EventRecorder(stream)
            try await writer.create(root + "/later")
            let event = await events.next()
            #expect(event?.type == .nodeCreated)
            #expect(event?.path == root + "/later")
        }
    }

    @Test(arguments: interopServers)
    func childWatchSeesChildrenChange(_ kind: TestServerKind) async throws {
        try await withWatcherAndWriter(kind) { watcher, writer, root in
            let (children, _, stream) = try await watcher.getChildrenAndWatch(root)
            #expect(children == [])
            let events = EventRecorder(stream)
            try await writer.create(root + "/kid")
            let event = await events.next()
            #expect(event?.type == .nodeChildrenChanged)
            #expect(event?.path == root)
            #expect(await events.next() == nil)
        }
    }

    @Test(arguments: interopServers)
    func defaultWatcherReceivesWatchTrueEventsOnce(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        let events = EventRecorder(client.events)
        // The connection's own event comes first.
        let connected = await events.next()
        #expect(connected?.type == EventType.none)
        #expect(connected?.state == .syncConnected)
        #expect(connected?.path == nil)
        #expect(connected?.description == "WatchedEvent state:SyncConnected type:None path:null")
        try await withRoot(client) { root in
            try await client.create(root + "/w", data: bytes("a"))
            _ = try await client.getData(root + "/w", watch: true)
            _ = try await client.exists(root + "/w", watch: true)
            _ = try await client.getChildren(root, watch: true)
            try await client.setData(root + "/w", data: bytes("b"))
            // Data and exist watches on the same path feed the same watcher: one event.
            let changed = await events.next()
            #expect(changed?.type == .nodeDataChanged)
            #expect(changed?.path == root + "/w")
            try await client.setData(root + "/w", data: bytes("c"))  // no watch left: no event
            try await client.create(root + "/x")
            let children = await events.next()
            #expect(children?.type == .nodeChildrenChanged)
            #expect(children?.path == root)
            // A marker proves nothing else was queued in between.
            _ = try await client.exists(root + "/marker", watch: true)
            try await client.create(root + "/marker")
            let marker = await events.next()
            #expect(marker?.type == .nodeCreated)
            #expect(marker?.path == root + "/marker")
        }
    }

    @Test(arguments: interopServers)
    func persistentWatchKeepsFiring(_ kind: TestServerKind) async throws {
        try await withWatcherAndWriter(kind) { watcher, writer, root in
            let node = root + "/p"
            let events = EventRecorder(try await watcher.watch(node, mode: .persistent))
            try await writer.create(node)
            try await writer.setData(node, data: bytes("1"))
            try await writer.create(node + "/child")
            try await writer.setData(node + "/child", data: bytes("x"))  // not watched by a persistent watch
            try await writer.delete(node + "/child")
            try await writer.delete(node)
            try await writer.create(node)
            var seen: [EventType] = []
            for _ in 0..<6 {
                guard let event = await events.next() else { break }
                #expect(event.path == node)
                seen.append(event.type)
            }
            #expect(
                seen == [
                    .nodeCreated, .nodeDataChanged, .nodeChildrenChanged, .nodeChildrenChanged, .nodeDeleted,
                    .nodeCreated,
                ])
        }
    }

    @Test(arguments: interopServers)
    func recursiveWatchSeesTheSubtreeButNoChildEvents(_ kind: TestServerKind) async throws {
        try await withWatcherAndWriter(kind) { watcher, writer, root in
            let top = root + "/r"
            let events = EventRecorder(try await watcher.watch(top, mode: .persistentRecursive))
            try await writer.create(top)
            try await writer.create(top + "/a")
            try await writer.create(top + "/a/b")
            try await writer.setData(top + "/a/b", data: bytes("1"))
            try await writer.delete(top + "/a/b")
            try await writer.create(root + "/sibling")  // outside the watched subtree
            var seen: [String] = []
            for _ in 0..<5 {
                guard let event = await events.next() else { break }
                seen.append("\(event.type) \(event.path ?? "")")
            }
            #expect(
                seen == [
                    "NodeCreated \(top)", "NodeCreated \(top)/a", "NodeCreated \(top)/a/b",
                    "NodeDataChanged \(top)/a/b", "NodeDeleted \(top)/a/b",
                ])
        }
    }

    @Test(arguments: interopServers)
    func defaultWatcherPersistentWatch(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        let events = EventRecorder(client.events)
        _ = await events.next()  // SyncConnected
        try await withRoot(client) { root in
            try await client.addWatch(root, mode: .persistentRecursive)
            try await client.create(root + "/one")
            try await client.create(root + "/two")
            #expect(await events.next()?.path == root + "/one")
            #expect(await events.next()?.path == root + "/two")
        }
    }

    @Test(arguments: interopServers)
    func removeAndCheckWatches(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        let events = EventRecorder(client.events)
        _ = await events.next()  // SyncConnected
        try await withRoot(client) { root in
            await expectError(.noWatcher) { try await client.removeWatches(root, type: .data) }
            await expectError(.noWatcher) { try await client.checkWatches(root, type: .any) }
            _ = try await client.getData(root, watch: true)
            _ = try await client.getChildren(root, watch: true)
            try await client.checkWatches(root, type: .data)
            try await client.checkWatches(root, type: .children)
            try await client.removeWatches(root, type: .data)
            let removed = await events.next()
            #expect(removed?.type == .dataWatchRemoved)
            #expect(removed?.path == root)
            await expectError(.noWatcher) { try await client.checkWatches(root, type: .data) }
            try await client.removeWatches(root, type: .any)
            let childRemoved = await events.next()
            #expect(childRemoved?.type == .childWatchRemoved)
            // Nothing fires any more for this path.
            try await client.setData(root, data: bytes("x"))
            try await client.create(root + "/c")
            _ = try await client.exists(root + "/marker", watch: true)
            try await client.create(root + "/marker")
            #expect(await events.next()?.path == root + "/marker")
        }
    }

    @Test(arguments: interopServers)
    func droppedWatchStreamEndsCleanly(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            do {
                let (_, _, stream) = try await client.getDataAndWatch(root)
                _ = stream  // dropped unread
            }
            try await client.setData(root, data: bytes("1"))
            // The client keeps working after a watch event for a stream nobody reads.
            #expect(try await client.getData(root).data == bytes("1"))
        }
    }

    @Test(arguments: interopServers)
    func closingEndsWatchStreams(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        let root = SharedTestServers.uniqueRoot()
        let (_, stream) = try await client.existsAndWatch(root)
        let events = EventRecorder(stream)
        await client.close()
        let closed = await events.next()
        #expect(closed?.type == EventType.none)
        #expect(closed?.state == .closed)
        #expect(await events.next() == nil)
    }
}
