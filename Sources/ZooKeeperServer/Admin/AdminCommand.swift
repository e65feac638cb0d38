/// The AdminServer's commands that apply to a standalone server, by Apache 3.8's names: the primary name (the
/// raw value, which the answer's `"command"` carries) and the short names that reach the same command.
///
/// Apache's commands for an ensemble (`leader`, `observers`, `voting_view`, `observer_connection_stat_reset`)
/// and `set_trace_mask` (zkserver has no trace log) are not served: they answer as unknown commands.
public enum AdminCommand: String, CaseIterable, Sendable {
    case configuration
    case connectionStatReset = "connection_stat_reset"
    case connections
    case dirs
    case dump
    case environment
    case getTraceMask = "get_trace_mask"
    case hash
    case initialConfiguration = "initial_configuration"
    case isReadOnly = "is_read_only"
    case lastSnapshot = "last_snapshot"
    case monitor
    case ruok
    case serverStats = "server_stats"
    case statReset = "stat_reset"
    case stats
    case systemProperties = "system_properties"
    case watchSummary = "watch_summary"
    case watches
    case watchesByPath = "watches_by_path"
    case zabstate

    /// Every name Apache accepts for the command, the primary one first.
    public var names: [String] {
        switch self {
        case .configuration: [rawValue, "conf", "config"]
        case .connectionStatReset: [rawValue, "crst"]
        case .connections: [rawValue, "cons"]
        case .environment: [rawValue, "env", "envi"]
        case .getTraceMask: [rawValue, "gtmk"]
        case .initialConfiguration: [rawValue, "icfg"]
        case .isReadOnly: [rawValue, "isro"]
        case .lastSnapshot: [rawValue, "lsnp"]
        case .monitor: [rawValue, "mntr"]
        case .serverStats: [rawValue, "srvr"]
        case .statReset: [rawValue, "srst"]
        case .stats: [rawValue, "stat"]
        case .systemProperties: [rawValue, "sysp"]
        case .watchSummary: [rawValue, "wchs"]
        case .watches: [rawValue, "wchc"]
        case .watchesByPath: [rawValue, "wchp"]
        case .dirs, .dump, .hash, .ruok, .zabstate: [rawValue]
        }
    }

    private static let byName: [String: AdminCommand] = Dictionary(
        uniqueKeysWithValues: allCases.flatMap { command in command.names.map { ($0, command) } })

    /// The command a name (primary or short, case-sensitive as in Apache) stands for.
    public init?(name: String) {
        guard let command = Self.byName[name] else { return nil }
        self = command
    }
}
