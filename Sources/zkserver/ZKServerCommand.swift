import ArgumentParser
import Dispatch
import Logging
import ZooKeeperProtocol
import ZooKeeperServer
import ZooKeeperTLS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `zkserver [zoo.cfg] [--port N] [--data-dir DIR | --in-memory] [--check-config]`: argument parsing and wiring
/// only.
@main
struct ZKServerCommand: AsyncParsableCommand {
    /// The entry point: limits malloc to one arena first, on the main thread, before any other thread has
    /// allocated (glibc fixes its arena limit at the first allocation of a second thread; `run` already runs on
    /// one of the concurrency pool's threads).
    static func main() async {
        MallocArenas.limitToOne()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "zkserver",
        abstract: "A single-node ZooKeeper-compatible server.",
        discussion: """
            Reads the same zoo.cfg as Apache ZooKeeper (tickTime, dataDir, dataLogDir, clientPort, \
            maxClientCnxns, snapCount, forceSync, autopurge.*, 4lw.commands.whitelist, ...). Flags override the \
            file. With a data directory every write is acknowledged only once it is fsynced to the transaction \
            log, and a restart recovers it; see docs/on-disk-format.md. Logs go to stderr.
            """)

    @Argument(help: "A zoo.cfg file.", completion: .file(extensions: ["cfg"]))
    var configFile: String?

    @Option(name: .long, help: "The client port (clientPort); 0 picks a free one.")
    var port: Int?

    @Option(name: .long, help: "The address to listen on (clientPortAddress).")
    var host: String?

    @Option(
        name: .customLong("secure-port"),
        help: "A port that accepts only TLS (secureClientPort); 0 picks a free one. Needs ssl.keyStore.* in zoo.cfg.")
    var securePort: Int?

    @Option(
        name: .customLong("data-dir"), help: "The data directory (dataDir): snapshots and, by default, the log.",
        completion: .directory)
    var dataDirectory: String?

    @Flag(name: .customLong("in-memory"), help: "Keep everything in memory (no data directory).")
    var inMemory = false

    @Option(
        name: .customLong("jaas"),
        help: ArgumentHelp(
            "A JAAS file whose Server section lists the SASL DIGEST-MD5 users (user_NAME=\"password\") or the Kerberos login (Krb5LoginModule: principal, keyTab).",
            discussion:
                "Otherwise -Djava.security.auth.login.config=FILE in SERVER_JVMFLAGS or JVMFLAGS, as zkServer.sh reads it."
        ), completion: .file())
    var jaasFile: String?

    @Option(
        name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.",
        completion: .list(Logger.Level.allCases.map(\.rawValue)))
    var logLevel: String = "info"

    @Option(
        name: .customLong("log-format"), help: "text (the default), logfmt or json: one line per message on stderr.",
        completion: .list(["text"] + LineLogHandler.Format.allCases.map(\.rawValue)))
    var logFormat: String = "text"

    @Flag(
        name: .customLong("check-config"),
        help:
            "Check the configuration (the file, the flags, the data directories) and exit: 0 if zkserver can run with it."
    )
    var checkConfig = false

    /// The system properties (`-Dzookeeper.…`) of SASL and authentication that zkserver reads from the JVM flags;
    /// a name stands for itself and the keys under it.
    static let saslSystemProperties = [
        "zookeeper.sessionRequireClientSASLAuth", "zookeeper.enforce.auth", "zookeeper.superUser",
        "zookeeper.sasl.serverconfig", "zookeeper.kerberos", "zookeeper.authProvider",
        "zookeeper.security.auth_to_local",
    ]

    /// A configuration that cannot work: one line on stderr, exit 64, and no usage text (the options were fine).
    private func configurationError(_ message: String) -> ExitCode {
        standardError("zkserver: \(message)\n")
        return ExitCode(64)
    }

    /// Raises the soft limit of open files to the hard limit, as the JVM does for Apache: every client connection
    /// is a descriptor, and the usual soft limit of 1024 would refuse a herd of ten thousand sessions.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    private func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(2, &bytes, bytes.count)
    }

    func run() async throws {
        Self.raiseOpenFileLimit()
        var configuration = ServerConfiguration()
        configuration.tickTime = 2000
        var warnings: [String] = []
        // The system properties zkServer.sh would put on the java line (JVMFLAGS after SERVER_JVMFLAGS, so it
        // wins); zoo.cfg's keys then win over them, as Apache sets them over the JVM's.
        let variables = ["SERVER_JVMFLAGS", "JVMFLAGS"]
        let environment = variables.reduce(into: [String: String]()) { environment, name in
            environment[name] = getenv(name).map { String(cString: $0) }
        }
        let jvmProperties = JVMFlags.systemProperties(of: variables, in: environment)
        let saslProperties = jvmProperties.filter { key, _ in
            Self.saslSystemProperties.contains { key == $0 || key.hasPrefix($0 + ".") }
        }
        if !saslProperties.isEmpty {
            let text = saslProperties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
            do {
                configuration = try ZooCfg.parse(text, base: configuration).configuration
            } catch {
                throw configurationError("SERVER_JVMFLAGS/JVMFLAGS: \(error.description)")
            }
        }
        if let configFile {
            let text: String
            do {
                text = try ZooCfg.readTextFile(configFile)
            } catch {
                throw configurationError("cannot read \(configFile): \(error)")
            }
            do {
                let result = try ZooCfg.parse(text, base: configuration)
                configuration = result.configuration
                warnings = result.warnings
            } catch {
                throw configurationError("\(configFile): \(error.description)")
            }
        }
        if let port { configuration.clientPort = port }
        if let securePort {
            configuration.secureClientPort = securePort
            guard configuration.tls.keyStore != nil else {
                throw configurationError(
                    "--secure-port needs ssl.keyStore.location in zoo.cfg (the server's certificate and key)")
            }
        }
        if let host { configuration.clientPortAddress = host }
        if let dataDirectory { configuration.dataDirectory = dataDirectory }
        if inMemory {
            configuration.dataDirectory = nil
            configuration.dataLogDirectory = nil
        }
        do {
            if let jaas = jaasFile ?? jvmProperties["java.security.auth.login.config"] {
                try configuration.sasl.loadJAAS(file: jaas)
            }
            if let krb5Config = jvmProperties["java.security.krb5.conf"], getenv("KRB5_CONFIG") == nil {
                // Java's name for the krb5.conf to use; the GSS-API library reads KRB5_CONFIG.
                setenv("KRB5_CONFIG", krb5Config, 1)
            }
            try configuration.sasl.kerberos?.checkCredentials()
            if configuration.sasl.kerberos != nil {
                configuration.sasl.defaultRealm = SASLSettings.readDefaultRealm(
                    krb5Config: getenv("KRB5_CONFIG").map { String(cString: $0) })
            }
            try configuration.sasl.validate()
        } catch {
            throw configurationError(error.description)
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        let lineFormat = LineLogHandler.Format(rawValue: logFormat)
        guard logFormat == "text" || lineFormat != nil else {
            throw ValidationError("unknown log format '\(logFormat)' (text, logfmt or json)")
        }
        if checkConfig {
            do {
                try configuration.checkUsable()
            } catch {
                throw configurationError("\(configFile ?? "configuration"): \(error.description)")
            }
            for warning in warnings { standardError("zkserver: \(warning)\n") }
            let ports = [
                configuration.clientPort.map { "clientPort \($0)" },
                configuration.secureClientPort.map { "secureClientPort \($0)" },
            ].compactMap { $0 }.joined(separator: ", ")
            print(
                "\(configFile ?? "configuration"): OK (\(ports), "
                    + "dataDir \(configuration.dataDirectory ?? "none: in memory"))")
            return
        }
        LoggingSystem.bootstrap { label in
            if let lineFormat {
                var handler = LineLogHandler(label: label, format: lineFormat)
                handler.logLevel = level
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "zkserver")
        for warning in warnings { logger.warning("\(warning)") }

        // Before anything starts: a SIGTERM from now on is never lost, whenever it comes.
        TerminationSignal.install()
        let server: ZooKeeperServer
        do {
            server = try await ZooKeeperServer.start(configuration, logger: logger)
        } catch let error as PersistenceError {
            // One line naming the file and offset; the operator decides what to do with the directory.
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        } catch let error as TLSError {
            // One line naming the setting: a zoo.cfg that asks for TLS is never served without it.
            standardError("zkserver: cannot start: \(error)\n")
            throw ExitCode(2)
        } catch let error as AdminServerError {
            // Apache does not run without the AdminServer it was asked for either.
            standardError("zkserver: cannot start: \(error)\n")
            throw ExitCode(2)
        }
        if configuration.dataDirectory == nil {
            logger.notice("no dataDir: everything lives in memory and is gone when zkserver stops")
        }
        logger.notice("zkserver serving on \(server.connectString)")
        await TerminationSignal.wait {
            logger.notice("SIGHUP ignored: zkserver does not reload its configuration; restart it to apply changes")
        }
        logger.notice("shutting down")
        await server.shutdown()
    }
}

/// SIGTERM and SIGINT, turned into an awaitable event through a pipe: the handler only writes a byte (safe in
/// a signal handler), so a signal that arrives at any moment after `install()` is kept until `wait()` reads it.
/// SIGHUP goes through the same pipe with another byte: it is logged and ignored, where its default action
/// would stop the server (say, when the terminal that started it closes).
enum TerminationSignal {
    private static let hangUp: UInt8 = 2

    nonisolated(unsafe) private static var pipeEnds: (read: Int32, write: Int32) = (-1, -1)

    static func install() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        pipeEnds = (ends[0], ends[1])
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            var byte: UInt8 = signal == SIGHUP ? TerminationSignal.hangUp : 1
            _ = write(TerminationSignal.pipeEnds.write, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        sigaction(SIGHUP, &action, nil)
    }

    /// Returns once SIGTERM or SIGINT has arrived (at once if one came before); calls `onHangUp` for each
    /// SIGHUP meanwhile.
    static func wait(onHangUp: @escaping @Sendable () -> Void) async {
        let readEnd = pipeEnds.read
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                var byte: UInt8 = 0
                while true {
                    let count = read(readEnd, &byte, 1)
                    if count < 0 && errno == EINTR { continue }
                    if count == 1 && byte == hangUp {
                        onHangUp()
                        continue
                    }
                    break
                }
                continuation.resume()
            }
        }
    }
}
