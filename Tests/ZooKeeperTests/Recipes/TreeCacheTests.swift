import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite(.timeLimit(.minutes(5))) struct TreeCacheTests {
    /// The subtree as the server has it: path → data.
    private func serverTree(_ client: ZooKeeperClient, _ path: String) async throws -> [String: [UInt8]] {
        guard let read = try? await client.getData(path) else { return [:] }
        var tree = [path: read.data ?? []]
        if read.stat.numChildren > 0 {
            for child in try await client.getChildren(path) {
                tree.merge(try await serverTree(client, ZooKeeperPath.join(path, child))) { $1 }
            }
        }
        return tree
    }

    /// Applies the cache's events to `replay` until `until` says stop; returns the events seen.
    private func follow(
        _ events: EventRecorder<TreeCacheEvent>, into replay: inout [String: [UInt8]],
        until done: (TreeCacheEvent) -> Bool
    ) async -> [TreeCacheEvent] {
        var seen: [TreeCacheEvent] = []
        while let event = await events.next(within: .seconds(30)) {
            seen.append(event)
            switch event {
            case .added(let path, let node):
                #expect(replay[path] == nil, "added twice: \(path)")
                replay[path] = node.data ?? []
            case .updated(let path, _, let new):
                #expect(replay[path] != nil, "update of an unknown node: \(path)")
                replay[path] = new.data ?? []
            case .removed(let path, _):
                #expect(replay.removeValue(forKey: path) != nil, "removal of an unknown node: \(path)")
            case .initialized, .suspended, .resynchronized, .sessionLost:
                break
            }
            if done(event) { return seen }
        }
        Issue.record("the cache's events stopped before the expected one")
        return seen
    }

    private func cachedData(_ cache: TreeCache) async -> [String: [UInt8]] {
        await cache.currentNodes.mapValues { $0.data ?? [] }
    }

    /// A random stream of creates, updates and deletes in a subtree; the cache's final content and the replay
    /// of its events both equal the server's tree.
    @Test(arguments: interopServers)
    func theCacheFollowsRandomChanges(_ kind: TestServerKind) async throws {
        let operations = recipeRounds(300)
        try await withWatcherAndWriter(kind) { reader, writer, root in
            let top = root + "/tree"
            try await writer.create(top, data: bytes("top"))
            try await writer.create(top + "/a", data: bytes("a"))
            try await writer.create(top + "/a/b", data: bytes("b"))
            let cache = TreeCache(client: reader, path: top)
            let events = EventRecorder(cache.events)
            try await cache.start()
            var replay: [String: [UInt8]] = [:]
            let initial = await follow(events, into: &replay) { $0 == .initialized }
            #expect(initial.count == 4)
            #expect(replay == (try await serverTree(writer, top)))

            let seed = UInt64.random(in: 0...UInt64(UInt32.max))
            var random = SeededGenerator(seed: seed)
            var existing = [top, top + "/a", top + "/a/b"]
            var counter = 0
            for _ in 0..<operations {
                let target = existing.randomElement(using: &random)!
                switch Int.random(in: 0..<3, using: &random) {
                case 0 where target.split(separator: "/").count < 6:
                    counter += 1
                    let child = target + "/n\(counter)"
                    try await writer.create(child, data: bytes("v\(counter)"))
                    existing.append(child)
                case 1:
                    counter += 1
                    try await writer.setData(target, data: bytes("d\(counter)"))
                default:
                    guard target != top, !existing.contains(where: { $0.hasPrefix(target + "/") }) else { continue }
                    try await writer.delete(target)
                    existing.removeAll { $0 == target }
                }
            }
            let marker = top + "/zz-end"
            try await writer.create(marker)
            _ = await follow(events, into: &replay) { event in
                if case .added(marker, _) = event { return true }
                return false
            }
            let server = try await serverTree(writer, top)
            #expect(replay == server, "seed \(seed)")
            #expect(await cachedData(cache) == server, "seed \(seed)")
            #expect(await cache.children(of: top) == (try await writer.getChildren(top)).sorted())
            // Each cached Stat is the one of the node's last data change (child counts are not followed).
            for (path, node) in await cache.currentNodes {
                let stat = try #require(try await writer.exists(path))
                #expect(node.stat.mzxid == stat.mzxid && node.stat.version == stat.version, "\(path)")
            }
            await cache.close()
        }
    }

    /// After its session expires, the cache reports it, and a rebuild with a new session reports exactly what
    /// changed meanwhile.
    @Test(arguments: interopServers)
    func aRebuildAfterSessionExpiryReportsWhatChangedMeanwhile(_ kind: TestServerKind) async throws {
        try await withWatcherAndWriter(kind) { reader, writer, root in
            let top = root + "/tree"
            try await writer.create(top)
            try await writer.create(top + "/keep", data: bytes("1"))
            try await writer.create(top + "/change", data: bytes("1"))
            try await writer.create(top + "/gone")
            try await writer.create(top + "/gone/child")
            let cache = TreeCache(client: reader, path: top)
            let events = EventRecorder(cache.events)
            try await cache.start()
            var replay: [String: [UInt8]] = [:]
            _ = await follow(events, into: &replay) { $0 == .initialized }

            try await expireSession(of: reader, kind: kind)
            _ = await follow(events, into: &replay) { $0 == .sessionLost }
            try await writer.setData(top + "/change", data: bytes("2"))
            try await writer.delete(top + "/gone/child")
            try await writer.delete(top + "/gone")
            try await writer.create(top + "/new", data: bytes("n"))

            let fresh = try await connectedClient(kind)
            defer { Task { await fresh.close() } }
            try await cache.rebuild(using: fresh)
            let differences = await follow(events, into: &replay) { $0 == .resynchronized }
            let summary = differences.compactMap { event -> String? in
                switch event {
                case .added(let path, _): "+" + path.dropFirst(top.count)
                case .updated(let path, _, _): "~" + path.dropFirst(top.count)
                case .removed(let path, _): "-" + path.dropFirst(top.count)
                default: nil
                }
            }
            #expect(summary == ["-/gone/child", "-/gone", "~/change", "+/new"])
            let server = try await serverTree(writer, top)
            #expect(replay == server)
            #expect(await cachedData(cache) == server)

            // And it follows changes again.
            try await writer.setData(top + "/keep", data: bytes("3"))
            _ = await follow(events, into: &replay) { event in
                if case .updated(top + "/keep", _, _) = event { return true }
                return false
            }
            #expect(replay[top + "/keep"] == bytes("3"))
            await cache.close()
        }
    }

    @Test(arguments: interopServers)
    func aNodeCacheFollowsOneNodeThroughDeletionAndRecreation(_ kind: TestServerKind) async throws {
        try await withWatcherAndWriter(kind) { reader, writer, root in
            let path = root + "/config"
            let cache = NodeCache(client: reader, path: path)
            let events = EventRecorder(cache.events)
            try await cache.start()
            #expect(await events.next() == .initialized)
            #expect(await cache.current() == nil)
            try await writer.create(path, data: bytes("v1"))
            try await writer.create(path + "/child")  // not the node's own change: no event
            try await writer.setData(path, data: bytes("v2"))
            guard case .added(path, let added)? = await events.next() else {
                Issue.record("no added event")
                return
            }
            #expect(added.data == bytes("v1") || added.data == bytes("v2"))
            if added.data == bytes("v1") {
                guard case .updated(path, _, let new)? = await events.next() else {
                    Issue.record("no updated event")
                    return
                }
                #expect(new.data == bytes("v2"))
            }
            try await writer.delete(path + "/child")
            try await writer.delete(path)
            guard case .removed(path, _)? = await events.next() else {
                Issue.record("no removed event")
                return
            }
            #expect(await cache.current() == nil)
            await cache.close()
        }
    }
}
