import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// zkserver on a host of its own (a network namespace of a `NetworkLab`), our client in this test process: a
/// half-open connection and partitions shorter and longer than the session timeout behave as with Apache
/// (`ClientNetworkFaultTests`): the session resumes, or it expires and the server deletes its ephemerals.
/// With one server there is nowhere to fail over to, so "resumes" means on the same server once it is back.
// Building namespaces, veth pairs and firewall rules needs root (CAP_NET_ADMIN); elsewhere the suite is skipped.
@Suite(.serialized, .enabled(if: NetworkLab.isAvailable, "network fault tests need root, ip and iptables"))
struct ZKServerNetworkFaultTests {
    static let sessionTimeout: Duration = .seconds(6)

    @Test func sessionsResumeAfterShortFaultsAndExpireAfterLongOnes() async throws {
        let lab = try NetworkLab(prefix: "nfsrv", subnet: 26, hostCount: 1)
        defer { lab.remove() }
        let directory = try TestEnvironment.temporaryDirectory("zkserver-netfaults")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ZKServerProcess(
            port: 2181, configuration: ["tickTime=500", "dataDir=\(directory)/data"],
            logFile: directory + "/zkserver.log", host: lab.address(ofHost: 0), launcher: lab.launcher(host: 0))
        defer { server.stop() }
        let observerFromTheHost = server.address

        var figures: [String] = []
        // Short faults: the connection goes quiet (switch port down: no FIN; or every packet dropped) and comes
        // back before the session timeout. The client notices within its read timeout, then reconnects to the
        // same session as soon as the network is back.
        let shortFaults: [(String, () throws -> Void)] = [
            ("half-open (port down, no FIN)", { try lab.unplug(host: 0) }),
            ("partition", { try lab.partition(host: 0) }),
        ]
        for (name, fault) in shortFaults {
            let client = try await NetworkFaults.client(observerFromTheHost, sessionTimeout: Self.sessionTimeout)
            let events = EventRecorder(client.connectionEvents)
            #expect(await events.next(where: { $0 == .connected }) == .connected)
            let sessionID = client.sessionID
            try await client.create("/eph-\(sessionID)", mode: .ephemeral)
            try fault()
            let cut = ContinuousClock.now
            #expect(await events.next(within: Self.sessionTimeout * 2 / 3 + .seconds(2)) == .disconnected, "\(name)")
            let noticed = ContinuousClock.now - cut
            try lab.heal(host: 0)
            #expect(await events.next(within: Self.sessionTimeout) == .reconnected, "\(name)")
            let resumed = ContinuousClock.now - cut
            #expect(client.sessionID == sessionID)
            #expect(try await client.exists("/eph-\(sessionID)")?.ephemeralOwner == sessionID, "\(name)")
            figures.append("\(name): noticed after \(noticed), resumed after \(resumed)")
            await client.close()
        }

        // A long partition: the server expires the session and deletes its ephemeral. The client learns it from
        // the server once the network is back (it never expires a session on its own, as Apache's client): it
        // reports the expiry, and its calls fail with sessionExpired.
        let client = try await NetworkFaults.client(observerFromTheHost, sessionTimeout: Self.sessionTimeout)
        let events = EventRecorder(client.connectionEvents)
        #expect(await events.next(where: { $0 == .connected }) == .connected)
        let sessionID = client.sessionID
        try await client.create("/eph-long", mode: .ephemeral)
        try lab.partition(host: 0)
        let cut = ContinuousClock.now
        #expect(await events.next(within: Self.sessionTimeout) == .disconnected)
        // On the server's side: the expired session's connection is closed, so `cons` (asked from inside the
        // host, where the partition does not apply) no longer lists it. Bounded wait.
        let sessionHex = "0x" + String(UInt64(bitPattern: sessionID), radix: 16)
        let host = lab.address(ofHost: 0)
        let goneOnServer = TestEnvironment.waitUntil(timeout: 20) {
            guard
                let cons = try? Programs.run(
                    NetworkLab.ip,
                    ["netns", "exec", lab.hosts[0], "/bin/sh", "-c", "echo cons | nc -q 2 \(host) 2181"], timeout: 10),
                cons.output.contains("queued=")
            else { return false }
            return !cons.output.contains(sessionHex)
        }
        #expect(goneOnServer, "the server still lists session \(sessionHex)")
        #expect(client.state == .connecting)
        try lab.heal(host: 0)
        #expect(await events.next(within: .seconds(30), where: { $0 != .disconnected }) == .expired)
        let expiredAfter = ContinuousClock.now - cut
        do {
            _ = try await client.exists("/eph-long")
            Issue.record("a call on an expired session succeeded")
        } catch {
            #expect(error.code == .sessionExpired)
        }
        await client.close()
        let observer = try await NetworkFaults.client(observerFromTheHost, sessionTimeout: .seconds(30))
        #expect(try await observer.exists("/eph-long") == nil)
        await observer.close()
        figures.append("partition > session timeout: expiry reported after \(expiredAfter), once healed")
        print("network faults (zkserver, session timeout \(Self.sessionTimeout)): " + figures.joined(separator: "; "))
    }
}
