/// Reads a zoo.cfg as Apache does: Java properties (`key=value`, `key: value`, `#` or `!` comments), the keys
/// of `QuorumPeerConfig` and the system properties that zkserver also accepts in the file.
public enum ZooCfg {
    /// A configuration file zkserver cannot run with, with a one-line reason.
    public struct Failure: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// The parsed configuration and warnings for keys that had no effect.
    public struct Result: Sendable {
        public var configuration: ServerConfiguration
        public var warnings: [String]
    }

    /// Keys of a standalone Apache server that have no counterpart here and need no warning.
    static let quietlyIgnoredKeys: Set<String> = [
        "initLimit", "syncLimit", "admin.enableServer", "admin.serverPort", "admin.serverAddress",
        "standaloneEnabled", "reconfigEnabled", "electionAlg", "peerType", "syncEnabled",
        "metricsProvider.className", "audit.enable", "preAllocSize", "globalOutstandingLimit",
        "maxCnxns", "secureClientPort", "secureClientPortAddress",
    ]

    public static func parse(_ text: String, base: ServerConfiguration = ServerConfiguration()) throws(Failure)
        -> Result
    {
        var configuration = base
        var warnings: [String] = []
        var servers: [String] = []
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .enumerated()
        {
            let line = rawLine.trimmingCharacters(in: " \t")
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("!") { continue }
            guard let separator = line.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw Failure("line \(offset + 1): expected key=value, got '\(line)'")
            }
            let key = line[..<separator].trimmingCharacters(in: " \t")
            let value = line[line.index(after: separator)...].trimmingCharacters(in: " \t")
            // Apache reads these as Java ints (Integer.parseInt): larger numbers are refused, not wrapped.
            func integer(minimum: Int = Int(Int32.min), maximum: Int = Int(Int32.max)) throws(Failure) -> Int {
                guard let number = Int(value) else {
                    throw Failure("line \(offset + 1): \(key) must be a whole number, got '\(value)'")
                }
                guard number >= minimum else {
                    throw Failure("line \(offset + 1): \(key) must be at least \(minimum), got '\(value)'")
                }
                guard number <= maximum else {
                    throw Failure("line \(offset + 1): \(key) must be at most \(maximum), got '\(value)'")
                }
                return number
            }
            func boolean() throws(Failure) -> Bool {
                switch value.lowercased() {
                case "yes", "true": return true
                case "no", "false": return false
                default: throw Failure("line \(offset + 1): \(key) must be yes/no or true/false, got '\(value)'")
                }
            }
            switch key {
            case "tickTime": configuration.tickTime = try integer(minimum: 1)
            case "dataDir": configuration.dataDirectory = value
            case "dataLogDir": configuration.dataLogDirectory = value
            case "clientPort": configuration.clientPort = try integer(minimum: 0, maximum: 65_535)
            case "clientPortAddress": configuration.clientPortAddress = value
            case "maxClientCnxns": configuration.maxClientConnections = try integer(minimum: 0)
            case "minSessionTimeout": configuration.minSessionTimeout = try integer()
            case "maxSessionTimeout": configuration.maxSessionTimeout = try integer()
            case "autopurge.snapRetainCount": configuration.autopurgeSnapRetainCount = try integer()
            case "autopurge.purgeInterval": configuration.autopurgePurgeInterval = try integer()
            case "snapCount": configuration.snapCount = try integer(minimum: 2)
            case "forceSync": configuration.forceSync = try boolean()
            case "jute.maxbuffer": configuration.packetLimit = try integer(minimum: 1)
            case "4lw.commands.whitelist", "zookeeper.4lw.commands.whitelist":
                configuration.fourLetterWordWhitelist = Set(
                    value.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty })
            case "extendedTypesEnabled", "zookeeper.extendedTypesEnabled":
                configuration.extendedTypesEnabled = try boolean()
            case "superDigest", "DigestAuthenticationProvider.superDigest",
                "zookeeper.DigestAuthenticationProvider.superDigest":
                guard AccessControl.isValidDigestId(value) else {
                    throw Failure("line \(offset + 1): \(key) must look like super:<base64 sha1>, got '\(value)'")
                }
                configuration.superDigest = value
            case "skipACL", "zookeeper.skipACL": configuration.skipACL = try boolean()
            case "enforceQuota", "zookeeper.enforceQuota": configuration.enforceQuota = try boolean()
            case "znode.container.checkIntervalMs": configuration.containerCheckInterval = try integer(minimum: 1)
            case "znode.container.maxPerMinute": configuration.containerMaxPerMinute = try integer(minimum: 1)
            case "clientPortListenBacklog": configuration.listenBacklog = try integer()
            default:
                if key.hasPrefix("server.") {
                    servers.append(key)
                } else if !quietlyIgnoredKeys.contains(key) {
                    warnings.append("unknown key '\(key)' in the configuration is ignored")
                }
            }
        }
        if servers.count > 1 {
            throw Failure(
                "the configuration lists \(servers.count) servers (\(servers.joined(separator: ", "))), but zkserver "
                    + "is a single-node server; run an ensemble with Apache ZooKeeper")
        }
        if configuration.effectiveMinSessionTimeout > configuration.effectiveMaxSessionTimeout {
            throw Failure(
                "minSessionTimeout (\(configuration.effectiveMinSessionTimeout)) must not be larger than "
                    + "maxSessionTimeout (\(configuration.effectiveMaxSessionTimeout))")
        }
        return Result(configuration: configuration, warnings: warnings)
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in characters: String) -> String {
        let set = Set(characters)
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice.removeFirst() }
        while let last = slice.last, set.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
