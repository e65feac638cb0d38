import ZooKeeper

/// `ensemble`: every member of the connect string asked `srvr`, in one table: mode, last zxid, latency
/// (min/avg/max ms), connections, outstanding requests and how many transactions it is behind the leader;
/// a member that does not answer is `down`, and no leader or more than one is said. Exits 1 when anything is
/// wrong.
enum EnsembleCommand: ShellCommand {
    static let spec = CommandSpec(
        name: "ensemble", syntax: "", summary: "Show each member's mode, zxid, latency, load and lag",
        isZkCliCommand: false, needsSession: false, printsData: true)

    /// What one member said.
    struct Member: Sendable {
        var server: String
        /// `leader`, `follower`, `observer`, `standalone`, `read-only`; nil when it did not answer.
        var mode: String?
        var zxid: Int64?
        var latency: String?
        var connections: Int64?
        var outstanding: Int64?
        /// Transactions behind the leader (nil without a leader).
        var lag: Int64?
    }

    static func run(_ invocation: CommandInvocation, in shell: Shell) async throws {
        let servers = shell.client.connectString.hosts
        var members: [Member] = []
        for server in servers {
            var member = Member(server: "\(server)")
            if case .success(let answer) = await FourLetterWordClient.ask("srvr", server) {
                for line in answer.split(separator: "\n") {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let value = line[line.index(after: colon)...].trimmingWhitespace()
                    switch line[..<colon] {
                    case "Mode": member.mode = String(value)
                    case "Zxid": member.zxid = Int64(value.dropFirst(2), radix: 16)
                    case "Latency min/avg/max": member.latency = String(value)
                    case "Connections": member.connections = Int64(value)
                    case "Outstanding": member.outstanding = Int64(value)
                    default: break
                    }
                }
            }
            members.append(member)
        }
        let leaders = members.filter { $0.mode == "leader" }
        if leaders.count == 1, let leaderZxid = leaders[0].zxid {
            for index in members.indices where members[index].zxid != nil {
                members[index].lag = max(0, leaderZxid - members[index].zxid!)
            }
        }
        switch shell.format {
        case .text: shell.write(table(members))
        case .json: for member in members { shell.emit(.ensembleMember(member)) }
        }
        var problems: [String] = []
        let down = members.filter { $0.mode == nil }.count
        if down > 0 { problems.append("\(down) member\(down == 1 ? "" : "s") down") }
        let isStandalone = members.contains { $0.mode == "standalone" }
        if !isStandalone && members.contains(where: { $0.mode != nil }) {
            if leaders.isEmpty { problems.append("no leader") }
            if leaders.count > 1 { problems.append("\(leaders.count) leaders: a split") }
        }
        if !problems.isEmpty {
            var failure = CommandFailure(problems.joined(separator: "; "))
            failure.name = "ENSEMBLEUNHEALTHY"
            throw failure
        }
    }

    /// The members as aligned columns.
    static func table(_ members: [Member]) -> String {
        let rows =
            [["member", "mode", "zxid", "latency", "connections", "outstanding", "lag"]]
            + members.map { member in
                [
                    member.server, member.mode ?? "down", member.zxid.map { "0x" + ShellFormat.hex($0) } ?? "-",
                    member.latency ?? "-", member.connections.map(String.init) ?? "-",
                    member.outstanding.map(String.init) ?? "-", member.lag.map(String.init) ?? "-",
                ]
            }
        let widths = (0..<7).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == 6 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }.joined() + "\n"
        }.joined()
    }
}
