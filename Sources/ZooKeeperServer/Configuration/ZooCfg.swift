import NIOSSL
import ZooKeeperProtocol
import ZooKeeperTLS

/// Reads a zoo.cfg as Apache does: Java properties (`key=value`, `key: value`, `#` or `!` comments), the keys
/// of `QuorumPeerConfig` and the system properties that zkserver also accepts in the file.
public enum ZooCfg {
    /// A configuration file zkserver cannot run with, with a one-line reason.
    public struct Failure: Error, CustomStringConvertible, Sendable, Equatable {
        public var description: String
        /// A value may hold a line end (`\n` in the file); the failure stays one line all the same.
        public init(_ description: String) {
            self.description = description.escapingLineEnds
        }
    }

    /// The parsed configuration and warnings for keys that had no effect.
    public struct Result: Sendable {
        public var configuration: ServerConfiguration
        public var warnings: [String]
    }

    /// Keys of a standalone Apache server that have no counterpart here and need no warning.
    static let quietlyIgnoredKeys: Set<String> = [
        "initLimit", "syncLimit", "standaloneEnabled", "reconfigEnabled", "electionAlg", "peerType", "syncEnabled",
        "audit.enable", "preAllocSize", "globalOutstandingLimit",
        "maxCnxns",
    ]

    /// The server connection factories Apache knows; zkserver serves plaintext and TLS with either.
    static let connectionFactories: Set<String> = [
        "org.apache.zookeeper.server.NettyServerCnxnFactory", "org.apache.zookeeper.server.NIOServerCnxnFactory",
    ]

    /// The Prometheus endpoint that `metricsProvider.className` asks for: Apache's Prometheus provider turns it
    /// on, Apache's default provider (no HTTP) leaves it off, any other provider cannot be honoured.
    static func prometheusMetrics(provider: String, line: Int) throws(Failure) -> PrometheusMetricsSettings? {
        if provider == PrometheusMetricsSettings.className { return PrometheusMetricsSettings() }
        if provider == PrometheusMetricsSettings.noMetricsClassName { return nil }
        throw Failure(
            "line \(line): metricsProvider.className \(provider) is not available in zkserver (only "
                + "\(PrometheusMetricsSettings.className))")
    }

    /// - Parameter readSecret: reads a `passwordPath` file (the whole file, as text).
    public static func parse(
        _ text: String, base: ServerConfiguration = ServerConfiguration(),
        readSecret: (String) throws -> String = ZooCfg.readTextFile
    ) throws(Failure) -> Result {
        var configuration = base
        configuration.initialConfigurationText = text
        // Apache's AdminServer is on unless the file turns it off.
        var admin = base.adminServer ?? ServerConfiguration.AdminServerSettings()
        var adminEnabled = true
        var warnings: [String] = []
        var servers: [String] = []
        var prometheus: PrometheusMetricsSettings?
        var metricsHost: String?
        var metricsPort: Int?
        var exportJvmInfo: Bool?
        var clientPortGiven = false
        var tlsSettingsGiven: [String] = []
        var keyStore = StorePieces(name: "ssl.keyStore")
        var trustStore = StorePieces(name: "ssl.trustStore")
        var protocolName = "TLSv1.3"
        var enabledProtocols: [TLSVersion]?
        let entries: [JavaProperties.Entry]
        do { entries = try JavaProperties.entries(in: text) } catch { throw Failure(error.description) }
        for entry in entries {
            let offset = entry.line - 1
            // Apache trims keys and values (QuorumPeerConfig.parseProperties, String.trim).
            let key = JavaProperties.trimmed(entry.key)
            let value = JavaProperties.trimmed(entry.value)
            // Java takes a lone word for a key with an empty value; no zoo.cfg key means anything that way.
            guard entry.hasSeparator || !value.isEmpty else {
                throw Failure("line \(offset + 1): expected key=value, got '\(key)'")
            }
            // Apache turns a key it does not know into the system property `zookeeper.<key>`, so both spellings
            // of the TLS settings work in its zoo.cfg.
            let tlsKey = key.hasPrefix("zookeeper.ssl.") ? String(key.dropFirst("zookeeper.".count)) : key
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
            case "clientPort":
                configuration.clientPort = try integer(minimum: 0, maximum: 65_535)
                clientPortGiven = true
            case "secureClientPort": configuration.secureClientPort = try integer(minimum: 0, maximum: 65_535)
            case "secureClientPortAddress": configuration.secureClientPortAddress = value
            case "client.portUnification", "zookeeper.client.portUnification":
                configuration.portUnification = try boolean()
            case "serverCnxnFactory", "zookeeper.serverCnxnFactory":
                guard connectionFactories.contains(value) else {
                    throw Failure(
                        "line \(offset + 1): \(key) must be org.apache.zookeeper.server.NettyServerCnxnFactory or "
                            + "NIOServerCnxnFactory, got '\(value)'")
                }
            case "X509AuthenticationProvider.superUser", "zookeeper.X509AuthenticationProvider.superUser":
                configuration.x509SuperUser = value
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
            case "admin.enableServer", "zookeeper.admin.enableServer": adminEnabled = try boolean()
            case "admin.serverAddress", "zookeeper.admin.serverAddress": admin.address = value
            case "admin.serverPort", "zookeeper.admin.serverPort": admin.port = try integer(minimum: 0, maximum: 65_535)
            case "admin.commandURL", "zookeeper.admin.commandURL":
                guard value.hasPrefix("/") else {
                    throw Failure("line \(offset + 1): \(key) must be a path starting with /, got '\(value)'")
                }
                admin.commandURL = value
            case "admin.idleTimeout", "zookeeper.admin.idleTimeout":
                admin.idleTimeoutMilliseconds = try integer(minimum: 1)
            case "nio.sessionlessCnxnTimeout", "zookeeper.nio.sessionlessCnxnTimeout":
                configuration.sessionlessConnectionTimeout = try integer(minimum: 1)
            case "connectionOutputLimit": configuration.connectionOutputLimit = try integer(minimum: 65_536)
            case "sessionRequireClientSASLAuth", "zookeeper.sessionRequireClientSASLAuth":
                configuration.sasl.sessionRequireClientSASLAuth = try boolean()
            case "enforce.auth.enabled", "zookeeper.enforce.auth.enabled":
                configuration.sasl.enforceAuthEnabled = try boolean()
            case "enforce.auth.schemes", "zookeeper.enforce.auth.schemes":
                configuration.sasl.enforceAuthSchemes = value.split(separator: ",").map {
                    $0.trimmingCharacters(in: " \t")
                }.filter { !$0.isEmpty }
            case "metricsProvider.className":
                prometheus = try prometheusMetrics(provider: value, line: offset + 1)
            case "metricsProvider.httpHost": metricsHost = value
            case "metricsProvider.httpPort": metricsPort = try integer(minimum: 0, maximum: 65_535)
            case "metricsProvider.exportJvmInfo":
                // Turns the process_* series on or off; the JVM's (heap, threads, GC) have no counterpart here.
                exportJvmInfo = try boolean()
            case "metricsProvider.numWorkerThreads", "metricsProvider.maxQueueSize",
                "metricsProvider.workerShutdownTimeoutMs",
                "metricsProvider.prometheusMetricsSummaryRotateIntervalSeconds":
                // Tuning of Apache's Java provider; nothing here to tune.
                break
            case "superUser", "zookeeper.superUser":
                configuration.sasl.superUser = value
            case "sasl.serverconfig", "zookeeper.sasl.serverconfig":
                configuration.sasl.serverSection = value
            case "kerberos.removeHostFromPrincipal", "zookeeper.kerberos.removeHostFromPrincipal":
                configuration.sasl.removeHostFromPrincipal = try boolean()
            case "kerberos.removeRealmFromPrincipal", "zookeeper.kerberos.removeRealmFromPrincipal":
                configuration.sasl.removeRealmFromPrincipal = try boolean()
            case "security.auth_to_local", "zookeeper.security.auth_to_local":
                do {
                    configuration.sasl.authToLocal = try KerberosNameRules(value)
                } catch {
                    throw Failure("line \(offset + 1): \(error.description)")
                }
            case _ where key.hasPrefix("authProvider.") || key.hasPrefix("zookeeper.authProvider."):
                if value == SASLSettings.providerClass {
                    configuration.sasl.providerEnabled = true
                } else if value != "org.apache.zookeeper.server.auth.X509AuthenticationProvider" {
                    warnings.append("\(key)=\(value): zkserver has no such authentication provider; ignored")
                }
            case _ where tlsKey.hasPrefix("ssl.") && !tlsKey.hasPrefix("ssl.quorum."):
                tlsSettingsGiven.append(key)
                switch tlsKey {
                case "ssl.keyStore.location": keyStore.location = value
                case "ssl.keyStore.password": keyStore.password = value
                case "ssl.keyStore.passwordPath": keyStore.passwordPath = value
                case "ssl.keyStore.type": keyStore.type = value
                case "ssl.trustStore.location": trustStore.location = value
                case "ssl.trustStore.password": trustStore.password = value
                case "ssl.trustStore.passwordPath": trustStore.passwordPath = value
                case "ssl.trustStore.type": trustStore.type = value
                case "ssl.clientAuth":
                    // Apache: empty means need; otherwise the name in any case.
                    if value.isEmpty {
                        configuration.tls.clientAuthentication = .need
                    } else if let mode = TLSSettings.ClientAuthentication(rawValue: value.lowercased()) {
                        configuration.tls.clientAuthentication = mode
                    } else {
                        throw Failure("line \(offset + 1): \(key) must be none, want or need, got '\(value)'")
                    }
                case "ssl.protocol":
                    guard ["TLSv1.2", "TLSv1.3"].contains(value) else {
                        throw Failure("line \(offset + 1): \(key) must be TLSv1.2 or TLSv1.3, got '\(value)'")
                    }
                    protocolName = value
                case "ssl.enabledProtocols":
                    do throws(TLSError) {
                        enabledProtocols = try TLSSettings.protocols(from: value, setting: key)
                    } catch {
                        throw Failure("line \(offset + 1): \(error.message)")
                    }
                case "ssl.ciphersuites":
                    let names = TLSSettings.cipherSuites(from: value)
                    configuration.tls.cipherSuites = names.isEmpty ? nil : names
                    configuration.tls.cipherSuitesSetting = key
                case "ssl.handshakeDetectionTimeoutMillis":
                    configuration.tlsHandshakeTimeoutMilliseconds = try integer(minimum: 1)
                case "ssl.hostnameVerification", "ssl.clientHostnameVerification":
                    // Apache's server never checks a client certificate's host name on the client port.
                    _ = try boolean()
                case "ssl.crl", "ssl.ocsp":
                    if try boolean() {
                        throw Failure("line \(offset + 1): \(key)=true is not supported by zkserver")
                    }
                case "ssl.sslProvider":
                    // JDK or OPENSSL: the TLS library is not a choice here.
                    break
                case "ssl.authProvider":
                    guard value == "x509" else {
                        throw Failure("line \(offset + 1): \(key): only x509 is supported, got '\(value)'")
                    }
                default:
                    throw Failure("line \(offset + 1): unknown TLS setting '\(key)'")
                }
            default:
                if key.hasPrefix("server.") {
                    servers.append(key)
                } else if !quietlyIgnoredKeys.contains(key) {
                    warnings.append("unknown key '\(key)' in the configuration is ignored")
                }
            }
        }
        configuration.adminServer = adminEnabled ? admin : nil
        if var prometheus {
            if let metricsHost { prometheus.httpHost = metricsHost }
            if let metricsPort { prometheus.httpPort = metricsPort }
            if let exportJvmInfo { prometheus.exportsProcessInfo = exportJvmInfo }
            configuration.prometheusMetrics = prometheus
        }
        if servers.count > 1 {
            throw Failure(
                "the configuration lists \(servers.count) servers (\(servers.joined(separator: ", "))), but zkserver "
                    + "is a single-node server; run an ensemble with Apache ZooKeeper")
        }
        configuration.tls.keyStore = try keyStore.store(readSecret: readSecret)
        configuration.tls.trustStore = try trustStore.store(readSecret: readSecret)
        // Apache's default: ssl.protocol, and TLSv1.2 too when that is TLSv1.3.
        configuration.tls.protocols = enabledProtocols ?? (protocolName == "TLSv1.3" ? [.tlsv13, .tlsv12] : [.tlsv12])
        configuration.tls.protocolsSetting = "ssl.enabledProtocols"
        if configuration.secureClientPort != nil && !clientPortGiven {
            configuration.clientPort = nil
        }
        if configuration.servesTLS {
            guard configuration.tls.keyStore != nil else {
                throw Failure(
                    "\(configuration.secureClientPort != nil ? "secureClientPort" : "client.portUnification") needs "
                        + "ssl.keyStore.location (the server's certificate and private key)")
            }
        } else if let first = tlsSettingsGiven.first {
            // TLS was asked for, and would otherwise silently not be served.
            throw Failure(
                "\(first) is set but no port serves TLS: add secureClientPort=PORT or client.portUnification=true")
        }
        if configuration.effectiveMinSessionTimeout > configuration.effectiveMaxSessionTimeout {
            throw Failure(
                "minSessionTimeout (\(configuration.effectiveMinSessionTimeout)) must not be larger than "
                    + "maxSessionTimeout (\(configuration.effectiveMaxSessionTimeout))")
        }
        return Result(configuration: configuration, warnings: warnings)
    }
}

extension ZooCfg {
    /// A file's text (zoo.cfg, or a `passwordPath` file as Apache reads it); a `PersistenceError` naming the
    /// file when it cannot be read.
    public static func readTextFile(_ path: String) throws -> String {
        let contents = try PosixFileSystem().readFile(path)
        return String(decoding: contents.readableBytesView, as: UTF8.self)
    }
}

/// The pieces of a store's settings (`ssl.keyStore.*` or `ssl.trustStore.*`) as they are read, line by line.
private struct StorePieces {
    let name: String
    var location: String?
    var password: String?
    var passwordPath: String?
    var type: String?

    init(name: String) { self.name = name }

    func store(readSecret: (String) throws -> String) throws(ZooCfg.Failure) -> CertificateStore? {
        guard let location, !location.isEmpty else {
            if password != nil || passwordPath != nil || type != nil {
                throw ZooCfg.Failure("\(name).location is not set, but other \(name) settings are")
            }
            return nil
        }
        let setting = "\(name).location"
        let storeType: StoreType?
        do throws(TLSError) {
            if let type {
                storeType = try StoreType.resolve(named: type, path: location, setting: "\(name).type")
            } else {
                storeType = nil
            }
        } catch {
            throw ZooCfg.Failure(error.message)
        }
        var secret = password
        if let passwordPath {
            // The file's text without one trailing line break, as Apache's SecretUtils reads it.
            guard var text = try? readSecret(passwordPath) else {
                throw ZooCfg.Failure("\(name).passwordPath: \(passwordPath) cannot be read")
            }
            if text.hasSuffix("\n") { text.removeLast() }
            secret = text
        }
        return CertificateStore(path: location, password: secret, type: storeType, setting: setting)
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
