import Testing
import ZooKeeper
import ZooKeeperTestSupport

/// The driver takes requests from many tasks onto its loop in batches and handles the replies of one read
/// together: under a pipelined load every call must still get its own reply, in the server's order.
@Suite struct SessionDriverBatchingTests {
    static let callCount = 1_000

    @Test(arguments: interopServers)
    func concurrentCallsEachGetTheirOwnReply(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            // Every call in flight at once, from as many tasks: the replies come back in bursts.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<Self.callCount {
                    group.addTask { try await client.create("\(root)/n\(index)", data: bytes("\(index)")) }
                }
                try await group.waitForAll()
            }
            let read = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
                for index in 0..<Self.callCount {
                    group.addTask { (index, try await client.getData("\(root)/n\(index)").data ?? []) }
                }
                var read: [Int: [UInt8]] = [:]
                for try await (index, data) in group { read[index] = data }
                return read
            }
            #expect(read.count == Self.callCount)
            #expect(read.allSatisfy { index, data in data == bytes("\(index)") })
            // Failures among successes go to their own callers too.
            let outcomes = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for index in 0..<Self.callCount {
                    let path = index.isMultiple(of: 2) ? "\(root)/n\(index)" : "\(root)/missing\(index)"
                    group.addTask {
                        do {
                            try await client.delete(path)
                            return (index, true)
                        } catch let error as ZooKeeperError where error.code == .noNode {
                            return (index, false)
                        }
                    }
                }
                var outcomes: [Int: Bool] = [:]
                for try await (index, deleted) in group { outcomes[index] = deleted }
                return outcomes
            }
            #expect(outcomes.count == Self.callCount)
            #expect(outcomes.allSatisfy { index, deleted in deleted == index.isMultiple(of: 2) })
            #expect(try await client.getChildren(root).count == Self.callCount / 2)
        }
    }

    @Test(arguments: interopServers)
    func sequentialCreatesFromManyTasksAreNumberedInTheOrderTheServerGotThem(_ kind: TestServerKind) async throws {
        let client = try await connectedClient(kind)
        defer { Task { await client.close() } }
        try await withRoot(client) { root in
            let created = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<Self.callCount {
                    group.addTask { try await client.create("\(root)/s-", mode: .persistentSequential) }
                }
                var created: [String] = []
                for try await path in group { created.append(path) }
                return created
            }
            let expected = (0..<Self.callCount).map {
                "\(root)/s-" + String(repeating: "0", count: 10 - "\($0)".count) + "\($0)"
            }
            #expect(created.sorted() == expected)
        }
    }
}
