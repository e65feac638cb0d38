import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Hosts of our own on one machine: network namespaces joined by veth pairs to a bridge, where tests run
/// servers and break the network between them with `iptables`.
///
/// Layout for prefix `P` and subnet `S` (every address in 10.213.S.0/24, nothing routed anywhere else):
/// - `P-sw`: the switch, a namespace holding bridge `br0`; every other end plugs into it.
/// - `P-h1` ... `P-hN`: the hosts, each with `eth0` at 10.213.S.1 ... 10.213.S.N and its own `lo`.
/// - `P-c`: a client host (for programs such as zkcli) with `eth0` at 10.213.S.101.
/// - this test process's own namespace, plugged in as `P-c0` at 10.213.S.100, so that an in-process client
///   (and the harness's four-letter words) reach the hosts. Faults are never set here: only inside the hosts.
///
/// Faults are `iptables` rules inside a host's namespace (so they apply at that host, as a firewall or a cut
/// cable there would), or its switch port taken down. `tc netem` needs a kernel module this machine lacks;
/// delay comes from `DelayRelay` instead.
///
/// Creating the lab first removes what a crashed run with the same prefix left; `remove()` (also on deinit)
/// deletes every namespace, which deletes the veth pairs and the rules with them. Processes started in the
/// hosts belong to the test (`ManagedProcess`), not to the lab. Needs root.
public final class NetworkLab: @unchecked Sendable {
    public static let ip = "/usr/sbin/ip"
    public static let iptables = "/usr/sbin/iptables"

    /// Whether this process may build a lab: root, with `ip` and `iptables` installed.
    public static var isAvailable: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: ip)
            && FileManager.default.isExecutableFile(atPath: iptables)
    }

    public let prefix: String
    public let subnet: Int
    /// The hosts' namespace names, `P-h1` first.
    public let hosts: [String]
    public var switchNamespace: String { prefix + "-sw" }
    public var clientNamespace: String { prefix + "-c" }
    private var removed = false

    /// Builds the lab; `prefix` (at most 8 characters) and `subnet` (1...254) must be unique to the test.
    public init(prefix: String, subnet: Int, hostCount: Int) throws {
        precondition(prefix.count <= 8 && (1...254).contains(subnet) && (1...99).contains(hostCount))
        self.prefix = prefix
        self.subnet = subnet
        self.hosts = (1...hostCount).map { "\(prefix)-h\($0)" }
        try Self.removeLeftovers(prefix: prefix)
        do {
            try build()
        } catch {
            remove()
            throw error
        }
    }

    deinit {
        remove()
    }

    /// The address of host `index` (0-based).
    public func address(ofHost index: Int) -> String { "10.213.\(subnet).\(index + 1)" }
    /// This process's address in the lab.
    public var localAddress: String { "10.213.\(subnet).100" }
    /// The client host's address.
    public var clientAddress: String { "10.213.\(subnet).101" }

    /// The command prefix that runs a program on host `index` (0-based), or on the client host when nil.
    public func launcher(host index: Int?) -> [String] {
        [Self.ip, "netns", "exec", index.map { hosts[$0] } ?? clientNamespace]
    }

    private func build() throws {
        let sw = switchNamespace
        try Self.run(Self.ip, ["netns", "add", sw])
        try Self.run(Self.ip, ["-n", sw, "link", "add", "br0", "type", "bridge"])
        try Self.run(Self.ip, ["-n", sw, "link", "set", "br0", "up"])
        for (index, namespace) in (hosts + [clientNamespace]).enumerated() {
            let port = index < hosts.count ? "p\(index + 1)" : "pc"
            let address = index < hosts.count ? address(ofHost: index) : clientAddress
            try Self.run(Self.ip, ["netns", "add", namespace])
            try Self.run(
                Self.ip, ["-n", namespace, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", sw])
            try Self.run(Self.ip, ["-n", sw, "link", "set", port, "master", "br0", "up"])
            try Self.run(Self.ip, ["-n", namespace, "addr", "add", "\(address)/24", "dev", "eth0"])
            try Self.run(Self.ip, ["-n", namespace, "link", "set", "eth0", "up"])
            try Self.run(Self.ip, ["-n", namespace, "link", "set", "lo", "up"])
        }
        // This process's own namespace: one veth end with an address in the lab's /24 (a connected route for
        // that /24 only, no gateway).
        let local = prefix + "-c0"
        try Self.run(Self.ip, ["link", "add", local, "type", "veth", "peer", "name", "pl", "netns", sw])
        try Self.run(Self.ip, ["-n", sw, "link", "set", "pl", "master", "br0", "up"])
        try Self.run(Self.ip, ["addr", "add", "\(localAddress)/24", "dev", local])
        try Self.run(Self.ip, ["link", "set", local, "up"])
    }

    // MARK: Faults

    /// Cuts host `index` off from everyone, both ways: packets in and out of its `eth0` are dropped silently
    /// (no RST, no ICMP), so every peer's TCP connection to it goes quiet.
    public func partition(host index: Int) throws {
        try iptables(index, ["-A", "INPUT", "-i", "eth0", "-j", "DROP"])
        try iptables(index, ["-A", "OUTPUT", "-o", "eth0", "-j", "DROP"])
    }

    /// Drops, at host `index`, what it receives from `peer` (an address): one direction only.
    public func dropIncoming(host index: Int, from peer: String) throws {
        try iptables(index, ["-A", "INPUT", "-s", peer, "-j", "DROP"])
    }

    /// Drops, at host `index`, what it sends to `peer` (an address): one direction only.
    public func dropOutgoing(host index: Int, to peer: String) throws {
        try iptables(index, ["-A", "OUTPUT", "-d", peer, "-j", "DROP"])
    }

    /// Drops each packet in and out of host `index` with probability `probability` (0.02 for 2 %).
    public func dropRandomly(host index: Int, probability: Double) throws {
        let chance = String(probability)
        for (chain, direction) in [("INPUT", "-i"), ("OUTPUT", "-o")] {
            try iptables(
                index,
                [
                    "-A", chain, direction, "eth0", "-m", "statistic", "--mode", "random", "--probability", chance,
                    "-j", "DROP",
                ])
        }
    }

    /// Host `index` vanishes as a machine whose cable is pulled: its switch port goes down, so nothing it sends
    /// arrives anywhere (no FIN, no RST) and nothing reaches it.
    public func unplug(host index: Int) throws {
        try Self.run(Self.ip, ["-n", switchNamespace, "link", "set", "p\(index + 1)", "down"])
    }

    /// Undoes every fault on host `index`: rules flushed, switch port up.
    public func heal(host index: Int) throws {
        try iptables(index, ["-F", "INPUT"])
        try iptables(index, ["-F", "OUTPUT"])
        try Self.run(Self.ip, ["-n", switchNamespace, "link", "set", "p\(index + 1)", "up"])
    }

    private func iptables(_ index: Int, _ arguments: [String]) throws {
        try Self.run(Self.ip, ["netns", "exec", hosts[index], Self.iptables, "-w"] + arguments)
    }

    // MARK: Removal

    /// Deletes every namespace of the lab (with them its veth pairs, bridge and rules). Idempotent.
    public func remove() {
        if removed { return }
        removed = true
        try? Self.removeLeftovers(prefix: prefix)
    }

    /// Deletes the namespaces named `prefix-*` and the local veth end `prefix-c0`, if any.
    static func removeLeftovers(prefix: String) throws {
        let list = try run(ip, ["netns", "list"], check: false).output
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            if name.hasPrefix(prefix + "-") { _ = try? run(ip, ["netns", "del", name], check: false) }
        }
        _ = try? run(ip, ["link", "del", prefix + "-c0"], check: false)
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], check: Bool = true) throws -> ProgramRun {
        let result = try Programs.run(executable, arguments, timeout: 30)
        if check && result.exitCode != 0 {
            throw HarnessError(
                "\(([executable] + arguments).joined(separator: " ")) failed (\(result.exitCode)): \(result.error)")
        }
        return result
    }
}
