import ZooKeeperTLS

/// Everything zkserver can be told, with Apache's defaults. Built from zoo.cfg (`ZooCfg`), flags, or code.
public struct ServerConfiguration: Sendable, Hashable {
    /// Address to listen on (`clientPortAddress`); all interfaces when nil.
    public var clientPortAddress: String? = nil
    /// `clientPort`, the plaintext port (which also accepts TLS with `portUnification`); 0 lets the system choose
    /// (see `ZooKeeperServer.port`); nil serves no plaintext port (a zoo.cfg with only `secureClientPort`).
    public var clientPort: Int? = 2181
    /// `secureClientPort`: a port that accepts only TLS; 0 lets the system choose (see
    /// `ZooKeeperServer.securePort`). Needs `tls.keyStore`.
    public var secureClientPort: Int? = nil
    /// `secureClientPortAddress`; `clientPortAddress` (or all interfaces) when nil.
    public var secureClientPortAddress: String? = nil
    /// `client.portUnification`: the plaintext port also accepts TLS (a first byte 0x16 starts a TLS handshake).
    public var portUnification: Bool = false
    /// The `ssl.*` settings of the TLS ports: key and trust stores, `ssl.clientAuth` (Apache's default `need`),
    /// protocols and cipher suites.
    public var tls = TLSSettings()
    /// `ssl.handshakeDetectionTimeoutMillis`: how long a TLS handshake may take before its connection is dropped.
    public var tlsHandshakeTimeoutMilliseconds: Int = 5000
    /// `X509AuthenticationProvider.superUser`: the certificate subject (as Apache writes it) that is the super user.
    public var x509SuperUser: String? = nil
    /// `dataDir`; nil keeps everything in memory.
    public var dataDirectory: String? = nil
    /// `dataLogDir`; defaults to the data directory.
    public var dataLogDirectory: String? = nil
    /// `tickTime` in milliseconds.
    public var tickTime: Int = 3000
    /// `minSessionTimeout` in milliseconds; nil means 2 × tickTime.
    public var minSessionTimeout: Int? = nil
    /// `maxSessionTimeout` in milliseconds; nil means 20 × tickTime.
    public var maxSessionTimeout: Int? = nil
    /// `maxClientCnxns`: connections per client IP; 0 is unlimited.
    public var maxClientConnections: Int = 60
    /// `jute.maxbuffer`: the largest frame accepted, in bytes.
    public var packetLimit: Int = 1_048_575
    /// `4lw.commands.whitelist`: the enabled four-letter words; `["*"]` enables all. Apache's default is `srvr`.
    public var fourLetterWordWhitelist: Set<String> = ["srvr"]
    /// `extendedTypesEnabled` (`zookeeper.extendedTypesEnabled`): allows TTL nodes.
    public var extendedTypesEnabled: Bool = false
    /// The super user's digest, `super:<base64 sha1>` (`zookeeper.DigestAuthenticationProvider.superDigest`).
    public var superDigest: String? = nil
    /// `skipACL`: no permission checks at all.
    public var skipACL: Bool = false
    /// `enforceQuota` (`zookeeper.enforceQuota`): creates and setData that would pass a quota's hard limit fail
    /// with QuotaExceeded.
    public var enforceQuota: Bool = false
    /// `znode.container.checkIntervalMs`: how often empty containers and expired TTL nodes are removed.
    public var containerCheckInterval: Int = 60_000
    /// `znode.container.maxPerMinute`: how many such deletions one minute may do.
    public var containerMaxPerMinute: Int = 10_000
    /// `snapCount`, `autopurge.snapRetainCount`, `autopurge.purgeInterval`, `forceSync`: kept for the
    /// durability issue and reported by `conf`.
    public var snapCount: Int = 100_000
    public var autopurgeSnapRetainCount: Int = 3
    public var autopurgePurgeInterval: Int = 0
    public var forceSync: Bool = true
    /// `clientPortListenBacklog` (-1: as deep as the system allows, `net.core.somaxconn`).
    public var listenBacklog: Int = -1
    /// `nio.sessionlessCnxnTimeout` (`zookeeper.nio.sessionlessCnxnTimeout`), in milliseconds: a connection that
    /// has not sent its ConnectRequest by then is closed, as Apache's NIO server does.
    public var sessionlessConnectionTimeout: Int = 10_000
    /// `connectionOutputLimit` (ours), in bytes: replies and notifications a connection may have waiting for a
    /// client that does not read them. Past it, that connection alone is dropped. Requests stop being read long
    /// before (at the channel's write high-water mark), so only a flood of notifications gets here.
    public var connectionOutputLimit: Int = 64 << 20
    /// SASL logins (the JAAS `Server` section), the `sasl` ACL scheme and the enforcement of authentication.
    public var sasl = SASLSettings()
    /// The AdminServer (`admin.*`): Apache's commands as JSON over HTTP. None when nil, which is what a
    /// configuration built in code gets; a zoo.cfg turns it on unless `admin.enableServer=false`, as Apache does.
    public var adminServer: AdminServerSettings? = nil
    /// The text of the zoo.cfg this configuration was read from, as the AdminServer's `initial_configuration`
    /// reports it; empty when it was built in code.
    public var initialConfigurationText = ""
    /// The Prometheus `/metrics` endpoint (`metricsProvider.className=…PrometheusMetricsProvider`); nil: none.
    public var prometheusMetrics: PrometheusMetricsSettings? = nil

    public init() {}

    /// Where the AdminServer listens and answers, with Apache's defaults.
    public struct AdminServerSettings: Sendable, Hashable {
        /// `admin.serverAddress`.
        public var address = "0.0.0.0"
        /// `admin.serverPort`; 0 lets the system choose (see `ZooKeeperServer.adminPort`).
        public var port = 8080
        /// `admin.commandURL`: the path under which the commands are served.
        public var commandURL = "/commands"
        /// `admin.idleTimeout` in milliseconds: an HTTP connection idle this long is closed.
        public var idleTimeoutMilliseconds = 30_000

        public init() {}
    }

    /// A configuration for tests and embedding: 127.0.0.1, a port chosen by the system, in memory, every
    /// four-letter word enabled.
    public static func ephemeral(tickTime: Int = 2000) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.clientPortAddress = "127.0.0.1"
        configuration.clientPort = 0
        configuration.tickTime = tickTime
        configuration.fourLetterWordWhitelist = ["*"]
        configuration.maxClientConnections = 0
        return configuration
    }

    /// Whether a port serves TLS (`secureClientPort` or `client.portUnification`).
    public var servesTLS: Bool { secureClientPort != nil || portUnification }

    public var effectiveMinSessionTimeout: Int { minSessionTimeout ?? Self.saturating(tickTime, times: 2) }
    public var effectiveMaxSessionTimeout: Int { maxSessionTimeout ?? Self.saturating(tickTime, times: 20) }

    /// A configuration built in code may hold any tickTime; its multiples must not trap.
    private static func saturating(_ value: Int, times factor: Int) -> Int {
        let (product, overflow) = value.multipliedReportingOverflow(by: factor)
        return overflow ? (value < 0 ? Int.min : Int.max) : product
    }

    /// Whether `word` may run.
    public func allowsFourLetterWord(_ word: String) -> Bool {
        fourLetterWordWhitelist.contains("*") || fourLetterWordWhitelist.contains(word)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension ServerConfiguration {
    /// What `zkserver --check-config` checks beyond the file's syntax: values that parse but cannot work on
    /// this machine. The data directories must be usable directories, or creatable by this user.
    public func checkUsable() throws(ZooCfg.Failure) {
        for (key, port) in [("clientPort", clientPort), ("secureClientPort", secureClientPort)] {
            guard let port else { continue }
            guard (0...65_535).contains(port) else {
                throw ZooCfg.Failure("\(key) must be between 0 and 65535, got \(port)")
            }
        }
        guard clientPort != nil || secureClientPort != nil else {
            throw ZooCfg.Failure("neither clientPort nor secureClientPort is set")
        }
        if servesTLS {
            // The stores are read now: a missing file or a wrong password is found before anything starts.
            do {
                _ = try ServerTLSContext.make(tls)
            } catch {
                throw ZooCfg.Failure(error.message)
            }
        }
        for (key, directory) in [("dataDir", dataDirectory), ("dataLogDir", dataLogDirectory)] {
            guard let directory else { continue }
            try Self.checkDirectory(directory, key: key)
        }
    }

    private static func checkDirectory(_ path: String, key: String) throws(ZooCfg.Failure) {
        var status = stat()
        if stat(path, &status) == 0 {
            guard (status.st_mode & S_IFMT) == S_IFDIR else {
                throw ZooCfg.Failure("\(key) \(path) is not a directory")
            }
            guard access(path, R_OK | W_OK | X_OK) == 0 else {
                throw ZooCfg.Failure("\(key) \(path) is not writable by this user")
            }
            return
        }
        // Not there yet: zkserver will create it, so the nearest existing ancestor must let this user create a
        // directory (tried for real, then removed: permissions alone say nothing for root or read-only mounts).
        var ancestor = path
        repeat {
            if let slash = ancestor.lastIndex(of: "/") {
                ancestor = slash == ancestor.startIndex ? "/" : String(ancestor[..<slash])
            } else {
                ancestor = "."
            }
        } while stat(ancestor, &status) != 0 && ancestor != "/" && ancestor != "."
        var template = Array((ancestor + "/.zkserver-check-XXXXXX").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else {
            throw ZooCfg.Failure("\(key) \(path) does not exist and cannot be created in \(ancestor)")
        }
        rmdir(template)
    }
}
