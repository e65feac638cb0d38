import Testing
import ZooKeeper
import ZooKeeperTestSupport

@testable import ZooKeeperShell

/// Against a server before 3.6, which answers multiRead (opcode 22) with UNIMPLEMENTED, every walk prints what
/// it prints against a server that has it, having turned to one request per read after its first multiReads.
/// The server is Apache 3.8 behind a relay that rewrites opcode 22 into one Apache does not know (9999): Apache
/// answers any opcode it does not know as a server before 3.6 answers multiRead: at once, ahead of the reads before
/// it (export's and diff's getACLs), then it closes the connection. The walk sees a multiRead lost with the
/// connection, and reads alone from then on.
@Suite(.serialized)
struct PipelinedWalkFallbackTests {
    /// What each command prints, straight to Apache and through the relay, and how many multiReads the relay
    /// saw while it ran.
    struct Run {
        var direct: [String]
        var relayed: [String]
        var multiReads: Int
    }

    /// The first multiRead or so is refused; the walk then reads alone instead of packing the other batches.
    func expectFewRefused(_ command: String, refused: Int, packed: Int) {
        #expect(refused >= 1, "\(command): no multiRead reached the server")
        #expect(refused < packed / 2, "\(command): \(refused) multiReads refused, \(packed) sent to a 3.6+ server")
    }

    @Test func everyWalkPrintsTheSameOnAServerWithoutMultiRead() async throws {
        let server = try SharedTestServers.connectString(.apache)
        let root = SharedTestServers.uniqueRoot("nomultiread")
        let source = "\(root)/src"
        let copy = "\(root)/copy"
        let client = try ZooKeeperClient(connectString: server)
        // 12 children of 25 children each, with data: 313 znodes; the root's children fit in one multiRead.
        try await client.create(root)
        try await client.create(source, data: Array("source".utf8))
        for a in 0..<12 {
            var batch: [ZooKeeperClient.Operation] = [.create("\(source)/a\(a)", data: Array("a\(a)".utf8))]
            for b in 0..<25 {
                batch.append(
                    .create("\(source)/a\(a)/b\(b)", data: Array("\(a).\(b) \(String(repeating: "x", count: b))".utf8)))
            }
            _ = try await client.multi(batch)
        }
        let direct = RecordedOutput()
        var directConfiguration = ShellConfiguration()
        directConfiguration.server = server
        let directShell = try Shell(configuration: directConfiguration, output: direct)
        // A non-default ACL inside the tree (readable, not administrable), which export and diff -r show.
        #expect(await directShell.execute(line: "setAcl \(source)/a4 world:anyone:cdrw") == 0)
        #expect(await directShell.execute(line: "setAcl \(source)/a7/b3 ip:127.0.0.1:cdrwa,world:anyone:r") == 0)

        // Counting only (22 stays 22): how many multiReads the walks send to a server that has it.
        let counting = OpcodeRewrite(from: 22, to: 22)
        let countingRelay = try DelayRelay(toFirstServerOf: server, delay: 0, rewrite: counting)
        let refusing = OpcodeRewrite(from: 22, to: 9999)
        let refusingRelay = try DelayRelay(toFirstServerOf: server, delay: 0, rewrite: refusing)
        func shell(through relay: DelayRelay, _ output: RecordedOutput) throws -> Shell {
            var configuration = ShellConfiguration()
            configuration.server = relay.address
            return try Shell(configuration: configuration, output: output)
        }
        let countedOutput = RecordedOutput()
        let countedShell = try shell(through: countingRelay, countedOutput)
        let relayed = RecordedOutput()
        let relayedShell = try shell(through: refusingRelay, relayed)

        func run(_ command: String, expectedExit: Int32 = 0) async -> Run {
            let directStart = direct.lines.count
            #expect(
                await directShell.execute(line: command) == expectedExit, "\(command): \(direct.lines[directStart...])")
            let countedBefore = counting.rewrittenFrames
            #expect(await countedShell.execute(line: command) == expectedExit, "\(command) (counted)")
            let relayedStart = relayed.lines.count
            let refusedBefore = refusing.rewrittenFrames
            #expect(
                await relayedShell.execute(line: command) == expectedExit,
                "\(command): \(relayed.lines[relayedStart...])")
            let refused = refusing.rewrittenFrames - refusedBefore
            let packed = counting.rewrittenFrames - countedBefore
            expectFewRefused(command, refused: refused, packed: packed)
            return Run(
                direct: Array(direct.lines[directStart...]), relayed: Array(relayed.lines[relayedStart...]),
                multiReads: packed)
        }

        // cp -r through the relay copies everything, ACLs too: diff -r straight to Apache finds no difference.
        let countedBeforeCopy = counting.rewrittenFrames
        #expect(await countedShell.execute(line: "cp -r --acl \(source) \(root)/counted") == 0)
        let refusedBeforeCopy = refusing.rewrittenFrames
        #expect(await relayedShell.execute(line: "cp -r --acl \(source) \(copy)") == 0)
        expectFewRefused(
            "cp -r", refused: refusing.rewrittenFrames - refusedBeforeCopy,
            packed: counting.rewrittenFrames - countedBeforeCopy)
        #expect(await directShell.execute(line: "deleteall \(root)/counted") == 0)
        let diffStart = direct.lines.count
        #expect(await directShell.execute(line: "diff -r \(source) \(copy)") == 0)
        #expect(direct.lines.count == diffStart, "\(direct.lines[diffStart...])")
        // Then a few differences for diff -r to find.
        #expect(await directShell.execute(line: "set \(copy)/a1/b2 changed") == 0)
        #expect(await directShell.execute(line: "delete \(copy)/a2/b3") == 0)
        #expect(await directShell.execute(line: "create \(copy)/a9/extra") == 0)
        #expect(await directShell.execute(line: "setAcl \(copy)/a5 world:anyone:cdrw") == 0)

        for command in [
            "ls -R \(source)", "tree -s \(source)", "find \(source) -name b1*", "du \(source)",
            "export -r \(source) -", "diff -r \(source) \(copy)",
        ] {
            let printed = await run(command, expectedExit: command.hasPrefix("diff") ? 1 : 0)
            #expect(printed.relayed == printed.direct, "\(command)")
            #expect(printed.direct.count >= (command.hasPrefix("diff") ? 4 : 13), "\(command): \(printed.direct)")
        }

        // Plain reads through the relay.
        for command in ["get \(source)/a3/b7", "ls \(source)/a5", "stat \(source)/a4", "getAcl \(source)/a7/b3"] {
            let directStart = direct.lines.count
            let relayedStart = relayed.lines.count
            #expect(await directShell.execute(line: command) == 0)
            #expect(await relayedShell.execute(line: command) == 0)
            #expect(Array(relayed.lines[relayedStart...]) == Array(direct.lines[directStart...]), "\(command)")
        }

        // deleteall through the relay walks the subtrees too, and leaves nothing.
        let refusedBeforeDeleteAll = refusing.rewrittenFrames
        #expect(await relayedShell.execute(line: "deleteall \(root)") == 0)
        #expect(refusing.rewrittenFrames > refusedBeforeDeleteAll)
        #expect(try await client.exists(root) == nil)
        await directShell.close()
        await countedShell.close()
        await relayedShell.close()
        await client.close()
        countingRelay.stop()
        refusingRelay.stop()
    }
}
