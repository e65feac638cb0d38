import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where Debian's Apache ZooKeeper lives, and a clear failure when it is not installed.
public enum ApacheZooKeeperInstallation {
    public static let jar = "/usr/share/java/zookeeper.jar"
    public static let java = "/usr/bin/java"
    public static let zkCli = "/usr/share/zookeeper/bin/zkCli.sh"
    public static let cliMT = "/usr/lib/zookeeper/bin/cli_mt"
    /// What Debian's classpath lacks for the Netty connection factory and zkCli.sh's Netty socket (TLS).
    public static let nettyJars = "/usr/share/java/netty-codec.jar:/usr/share/java/netty-resolver.jar"
    /// What Debian's classpath lacks for the Jetty AdminServer (without it the AdminServer silently does not start).
    public static let servletJar = "/usr/share/java/servlet-api.jar"
    /// zkCli.sh's class path with the Netty jars: what `java -cp ... ZooKeeperMain` needs for TLS.
    public static var classPathWithNetty: String { "/etc/zookeeper/conf:\(jar):\(nettyJars)" }

    /// Throws, with the command that fixes it, when Apache ZooKeeper or Java is missing.
    public static func require() throws {
        let files = FileManager.default
        guard files.fileExists(atPath: jar), files.isExecutableFile(atPath: java) else {
            throw HarnessError(
                "Apache ZooKeeper is not installed; the interop tests need it. "
                    + "Install it with: sudo apt-get install -y zookeeper zookeeper-bin default-jre-headless")
        }
    }
}

/// A secure client port for Apache: the Netty connection factory (which Debian's classpath lacks two jars for,
/// added by `ApacheZooKeeperServer.launch`) and the `ssl.*` keys of zoo.cfg.
public struct ApacheTLSOptions: Sendable {
    public var keyStore: String
    public var trustStore: String
    public var password: String
    /// `ssl.clientAuth`: need (Apache's default), want or none.
    public var clientAuth = "need"
    /// Also listen in plaintext on `clientPort` (for four-letter words and the plaintext-port cases).
    public var plaintextPort = true

    public init(keyStore: String, trustStore: String, password: String, clientAuth: String = "need") {
        self.keyStore = keyStore
        self.trustStore = trustStore
        self.password = password
        self.clientAuth = clientAuth
    }

    /// The zoo.cfg lines for a secure port.
    func configLines(securePort: Int, host: String) -> [String] {
        [
            "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory",
            "secureClientPort=\(securePort)",
            "secureClientPortAddress=\(host)",
            "ssl.keyStore.location=\(keyStore)",
            "ssl.keyStore.password=\(password)",
            "ssl.trustStore.location=\(trustStore)",
            "ssl.trustStore.password=\(password)",
            "ssl.clientAuth=\(clientAuth)",
        ]
    }
}

/// One Apache ZooKeeper server process (standalone, or a member of an ensemble) on 127.0.0.1.
public final class ApacheZooKeeperServer: @unchecked Sendable {
    public let clientPort: Int
    /// The TLS port, when the server has one.
    public let securePort: Int?
    /// The address the server listens on: `127.0.0.1`, or `::1`.
    public let host: String
    public let directory: String
    public let configFile: String
    private let lock = NSLock()
    private var process: ManagedProcess?
    private let systemProperties: [String]
    /// A command the JVM runs under (`ip netns exec NS`), for a member on a host of a `NetworkLab`.
    private let launcher: [String]
    /// Jars added to the class path (the servlet API for the AdminServer).
    private let extraClassPath: [String]

    init(
        clientPort: Int, securePort: Int? = nil, host: String = "127.0.0.1", directory: String, configFile: String,
        systemProperties: [String], launcher: [String] = [], extraClassPath: [String] = []
    ) {
        self.extraClassPath = extraClassPath
        self.clientPort = clientPort
        self.securePort = securePort
        self.host = host
        self.directory = directory
        self.configFile = configFile
        self.systemProperties = systemProperties
        self.launcher = launcher
    }

    public var address: String { host.contains(":") ? "[\(host)]:\(clientPort)" : "\(host):\(clientPort)" }
    /// `host:securePort`.
    public var secureAddress: String? {
        securePort.map { host.contains(":") ? "[\(host)]:\($0)" : "\(host):\($0)" }
    }

    /// Starts the JVM (if it is not running) without waiting for it to serve.
    public func launch(mainClass: String) throws {
        lock.lock()
        defer { lock.unlock() }
        if let process, process.isRunning { return }
        // Debian's server logs nothing (no SLF4J binding); ZK_TEST_SERVER_LOGS=1 adds one, for debugging.
        var classPath = "\(directory):\(ApacheZooKeeperInstallation.jar)"
        if securePort != nil { classPath += ":" + ApacheZooKeeperInstallation.nettyJars }
        for jar in extraClassPath { classPath += ":" + jar }
        if ProcessInfo.processInfo.environment["ZK_TEST_SERVER_LOGS"] != nil {
            classPath += ":/usr/share/java/slf4j-simple.jar"
        }
        let arguments =
            ["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"] + systemProperties + [
                "-cp", classPath, mainClass, configFile,
            ]
        // Under a launcher, the JVM is a grandchild: a process group of its own makes the guard's SIGKILL reach it.
        let command = launcher + [ApacheZooKeeperInstallation.java] + arguments
        process = try ManagedProcess(
            executable: command[0], arguments: Array(command.dropFirst()), workingDirectory: directory,
            logFile: directory + "/server.log", processGroup: !launcher.isEmpty)
    }

    /// Whether the server answers `srvr` with a mode (serving, as a standalone, leader, follower or read-only).
    public func isServing() -> Bool {
        guard let text = TestEnvironment.fourLetterWord("srvr", port: clientPort, host: host, timeout: 2) else {
            return false
        }
        return text.contains("Mode:")
    }

    /// The `srvr` mode line value: standalone, leader, follower, read-only; nil when not serving.
    public func mode() -> String? {
        guard let text = TestEnvironment.fourLetterWord("srvr", port: clientPort, host: host, timeout: 2) else {
            return nil
        }
        for line in text.split(separator: "\n") where line.hasPrefix("Mode: ") {
            return String(line.dropFirst(6))
        }
        return nil
    }

    public var isRunning: Bool {
        lock.lock()
        defer { lock.unlock() }
        return process?.isRunning ?? false
    }

    /// Sends `signal` to the running server (e.g. SIGSTOP and SIGCONT, to freeze it without losing its state).
    public func send(_ signal: Int32) {
        lock.lock()
        let process = self.process
        lock.unlock()
        process?.send(signal)
    }

    /// Stops the process with `signal` (SIGTERM for an orderly stop, SIGKILL for a crash).
    public func stop(signal: Int32 = SIGTERM) {
        lock.lock()
        let process = self.process
        self.process = nil
        lock.unlock()
        process?.stop(signal: signal)
    }

    public func log() -> String {
        (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
    }

    deinit {
        stop(signal: SIGKILL)
    }
}

/// A standalone Apache ZooKeeper 3.8 on a free loopback port with a temporary data directory, configured
/// for the interop suite: every four-letter word, TTL nodes enabled, a short container check interval.
public final class ApacheZooKeeperStandalone: @unchecked Sendable {
    public let server: ApacheZooKeeperServer
    /// The AdminServer's HTTP port, when it was asked for.
    public let adminPort: Int?

    /// Starts the server on `host` (`127.0.0.1` or `::1`) and waits (bounded) until it serves. With
    /// `adminServer`, Apache's Jetty AdminServer listens on `host:adminPort` (the servlet API that Debian's class
    /// path lacks is added), and the start waits until it answers too.
    public init(
        host: String = "127.0.0.1", extraConfig: [String] = [], systemProperties: [String] = [],
        tls: ApacheTLSOptions? = nil, adminServer: Bool = false
    ) throws {
        try ApacheZooKeeperInstallation.require()
        let directory = try TestEnvironment.temporaryDirectory("apache-zk")
        let ports = try TestEnvironment.freePorts(3)
        adminPort = adminServer ? ports[2] : nil
        let port = ports[0]
        let securePort = tls.map { _ in ports[1] }
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        let config =
            [
                "tickTime=2000",
                "dataDir=\(directory)/data",
                "clientPort=\(port)",
                "clientPortAddress=\(host)",
                "maxClientCnxns=0",
                "4lw.commands.whitelist=*",
            ]
            + (adminPort.map { ["admin.enableServer=true", "admin.serverAddress=\(host)", "admin.serverPort=\($0)"] }
                ?? ["admin.enableServer=false"])
            + (securePort.flatMap { port in tls?.configLines(securePort: port, host: host) } ?? []) + extraConfig
        let configFile = directory + "/zoo.cfg"
        try (config.joined(separator: "\n") + "\n").write(toFile: configFile, atomically: true, encoding: .utf8)
        server = ApacheZooKeeperServer(
            clientPort: port, securePort: securePort, host: host, directory: directory, configFile: configFile,
            systemProperties: [
                "-Dzookeeper.extendedTypesEnabled=true",
                "-Dznode.container.checkIntervalMs=1000",
            ] + systemProperties,
            extraClassPath: adminServer ? [ApacheZooKeeperInstallation.servletJar] : [])
        try start()
        if let adminPort {
            let answers = TestEnvironment.waitUntil(timeout: 30) {
                TestEnvironment.httpGet("/commands/ruok", port: adminPort, host: host)?.status == 200
            }
            guard answers else {
                throw HarnessError("Apache's AdminServer did not answer on \(host):\(adminPort):\n\(server.log())")
            }
        }
    }

    public var address: String { server.address }
    public var port: Int { server.clientPort }
    /// `host:securePort` (only with TLS options).
    public var secureAddress: String { server.secureAddress ?? server.address }

    public func start() throws {
        try server.launch(mainClass: "org.apache.zookeeper.server.ZooKeeperServerMain")
        guard TestEnvironment.waitUntil(timeout: 60, { server.isServing() }) else {
            let log = server.log()
            server.stop(signal: SIGKILL)
            throw HarnessError("Apache ZooKeeper did not start serving on \(address) within 60 s:\n\(log)")
        }
    }

    public func stop(signal: Int32 = SIGTERM) {
        server.stop(signal: signal)
    }

    deinit {
        server.stop(signal: SIGKILL)
        try? FileManager.default.removeItem(atPath: server.directory)
    }
}

/// A 3-node (or n-node) Apache ZooKeeper ensemble on 127.0.0.1 with distinct client, quorum and election
/// ports and its own temporary directories.
public final class ApacheZooKeeperEnsemble: @unchecked Sendable {
    public let servers: [ApacheZooKeeperServer]
    public let root: String

    /// Where each member runs: its address, and the command its JVM runs under (empty: this host).
    public struct Placement: Sendable {
        public var host: String
        public var launcher: [String]
        public init(host: String, launcher: [String]) {
            self.host = host
            self.launcher = launcher
        }
    }

    /// An ensemble on 127.0.0.1 (free ports), or one member per `placements` entry, each on its own address
    /// with Apache's usual ports 2181, 2888 and 3888.
    public init(
        size: Int = 3, readOnlyMode: Bool = false, extraConfig: [String] = [], systemProperties: [String] = [],
        tls: ApacheTLSOptions? = nil, placements: [Placement]? = nil
    ) throws {
        try ApacheZooKeeperInstallation.require()
        root = try TestEnvironment.temporaryDirectory("apache-ensemble")
        let size = placements?.count ?? size
        let ports =
            placements == nil
            ? try TestEnvironment.freePorts(size * 4)
            : [2181, 2888, 3888, 2281].flatMap { Array(repeating: $0, count: size) }
        let hosts = placements?.map(\.host) ?? Array(repeating: "127.0.0.1", count: size)
        var servers: [ApacheZooKeeperServer] = []
        let serverLines = (0..<size).map { index in
            "server.\(index + 1)=\(hosts[index]):\(ports[size + index]):\(ports[2 * size + index])"
        }
        for index in 0..<size {
            let directory = root + "/node\(index + 1)"
            try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
            try "\(index + 1)\n".write(toFile: directory + "/data/myid", atomically: true, encoding: .utf8)
            let config =
                [
                    "tickTime=500",
                    "initLimit=20",
                    "syncLimit=10",
                    "dataDir=\(directory)/data",
                    "clientPort=\(ports[index])",
                    "clientPortAddress=\(hosts[index])",
                    "maxClientCnxns=0",
                    "minSessionTimeout=1000",
                    "maxSessionTimeout=60000",
                    "4lw.commands.whitelist=*",
                    "admin.enableServer=false",
                    "standaloneEnabled=false",
                    "reconfigEnabled=false",
                ]
                // Apache 3.8's read-only server creates only local sessions; without them it answers a new
                // session's handshake with a bare NotReadOnly error.
                + (readOnlyMode ? ["localSessionsEnabled=true"] : []) + serverLines
                + (tls?.configLines(securePort: ports[3 * size + index], host: hosts[index]) ?? []) + extraConfig
            let configFile = directory + "/zoo.cfg"
            try (config.joined(separator: "\n") + "\n").write(
                toFile: configFile, atomically: true, encoding: .utf8)
            var properties = ["-Dzookeeper.extendedTypesEnabled=true"]
            if readOnlyMode { properties.append("-Dreadonlymode.enabled=true") }
            properties += systemProperties
            servers.append(
                ApacheZooKeeperServer(
                    clientPort: ports[index], securePort: tls.map { _ in ports[3 * size + index] },
                    host: hosts[index], directory: directory, configFile: configFile,
                    systemProperties: properties, launcher: placements?[index].launcher ?? []))
        }
        self.servers = servers
        for server in servers {
            try server.launch(mainClass: "org.apache.zookeeper.server.quorum.QuorumPeerMain")
        }
        guard waitForQuorum(timeout: 90) else {
            let logs = servers.map { $0.log() }.joined(separator: "\n----\n")
            stopAll(signal: SIGKILL)
            throw HarnessError("the ensemble did not form a quorum within 90 s:\n\(logs)")
        }
    }

    /// The connect string for all members, optionally with a chroot.
    public func connectString(chroot: String = "") -> String {
        servers.map(\.address).joined(separator: ",") + chroot
    }

    /// The connect string of the members' TLS ports (only with TLS options).
    public func secureConnectString() -> String {
        servers.compactMap(\.secureAddress).joined(separator: ",")
    }

    /// The member listening on `port` for TLS.
    public func server(securePort port: Int) -> ApacheZooKeeperServer? {
        servers.first { $0.securePort == port }
    }

    /// Waits until every running member serves (leader or follower).
    public func waitForQuorum(timeout: Double) -> Bool {
        TestEnvironment.waitUntil(timeout: timeout) {
            servers.allSatisfy { !$0.isRunning || ($0.mode().map { $0 == "leader" || $0 == "follower" } ?? false) }
        }
    }

    /// The member listening on `port`.
    public func server(port: Int) -> ApacheZooKeeperServer? {
        servers.first { $0.clientPort == port }
    }

    /// The member listening on `host` (for members on hosts of their own, which share a port).
    public func server(host: String) -> ApacheZooKeeperServer? {
        servers.first { $0.host == host }
    }

    /// Restarts a stopped member (same configuration and data).
    public func restart(_ server: ApacheZooKeeperServer) throws {
        try server.launch(mainClass: "org.apache.zookeeper.server.quorum.QuorumPeerMain")
    }

    public func stopAll(signal: Int32 = SIGTERM) {
        for server in servers { server.stop(signal: signal) }
    }

    deinit {
        stopAll(signal: SIGKILL)
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// SASL DIGEST-MD5 for an Apache server: a JAAS file whose `Server` section lists the users
/// (`user_NAME="password"`), the zoo.cfg line that enables the `sasl` scheme, and the JVM flag naming the file.
public final class ApacheSASLDigestSetup: Sendable {
    public let jaasFile: String
    private let directory: String

    public init(users: [String: String]) throws {
        directory = try TestEnvironment.temporaryDirectory("apache-jaas")
        jaasFile = directory + "/jaas.conf"
        let options = users.sorted { $0.key < $1.key }.map { "    user_\($0.key)=\"\($0.value)\"" }
        let text = """
            Server {
                org.apache.zookeeper.server.auth.DigestLoginModule required
            \(options.joined(separator: "\n"));
            };

            """
        try text.write(toFile: jaasFile, atomically: true, encoding: .utf8)
    }

    public var extraConfig: [String] {
        ["authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider"]
    }

    public var systemProperties: [String] { ["-Djava.security.auth.login.config=\(jaasFile)"] }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
