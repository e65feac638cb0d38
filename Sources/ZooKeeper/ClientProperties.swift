import ZooKeeperProtocol
import ZooKeeperTLS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Apache's client configuration (`ZKClientConfig`): the properties file zkCli.sh takes with
/// `-client-configuration`, over the `-Dkey=value` system properties of `CLIENT_JVMFLAGS` and `JVMFLAGS` (a key in
/// the file wins, as in Apache, where the file's keys are put over the system properties).
///
/// Kafka's `zookeeper-shell` spellings of the TLS keys (`zookeeper.ssl.client.enable`,
/// `zookeeper.ssl.keystore.location`, …) are read as the Apache keys they stand for.
public struct ClientProperties: Sendable, Hashable {
    /// Every property, by its Apache key.
    public private(set) var values: [String: String]

    /// Properties from `values`; Kafka's spellings of keys are stored under Apache's.
    public init(_ values: [String: String] = [:]) {
        self.values = [:]
        for (key, value) in values { self.values[Self.canonicalKey(key)] = value }
    }

    /// The properties of `file` (if given) over the system properties in `environment`'s `CLIENT_JVMFLAGS` and
    /// `JVMFLAGS` (later words win, as on a java command line). An unreadable file is a one-line error.
    public static func load(file: String?, environment: [String: String] = jvmFlagsEnvironment()) throws(TLSError)
        -> ClientProperties
    {
        var properties = ClientProperties()
        properties.merge(systemProperties(fromJVMFlags: jvmFlagsVariables, in: environment))
        if let file {
            let bytes = try TLSFile.read(file, setting: "-client-configuration")
            do {
                properties.merge(try parse(String(decoding: bytes, as: UTF8.self)))
            } catch {
                throw TLSError(.invalidSetting, "-client-configuration \(file): \(error.description)")
            }
        }
        return properties
    }

    /// The value of `key` (Apache's or Kafka's spelling), or nil.
    public subscript(key: String) -> String? { values[Self.canonicalKey(key)] }

    /// The variables zkCli.sh puts on its java command line, in order.
    public static let jvmFlagsVariables = ["CLIENT_JVMFLAGS", "JVMFLAGS"]

    /// This process's `CLIENT_JVMFLAGS` and `JVMFLAGS`.
    public static func jvmFlagsEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        for name in jvmFlagsVariables { environment[name] = getenv(name).map { String(cString: $0) } }
        return environment
    }

    // MARK: What the keys mean

    /// `zookeeper.client.secure` (or Kafka's `zookeeper.ssl.client.enable`) is `true`.
    public var isSecure: Bool { self["zookeeper.client.secure"]?.trimmingBlanks().lowercased() == "true" }

    /// `jute.maxbuffer`, the packet limit.
    public var packetLimit: Int? { self["jute.maxbuffer"].flatMap { Int($0.trimmingBlanks()) } }

    /// The TLS settings the keys describe, nil when `zookeeper.client.secure` is not `true`. Store files are
    /// checked when the client is made (`TLSSettings.makeClientConfiguration`); here only the values are read
    /// (and password files).
    public func tlsSettings() throws(TLSError) -> TLSSettings? {
        guard isSecure else { return nil }
        var settings = TLSSettings(
            trustStore: try store("zookeeper.ssl.trustStore"), keyStore: try store("zookeeper.ssl.keyStore"))
        if let verification = self["zookeeper.ssl.hostnameVerification"] {
            // Java's Boolean.parseBoolean, as ZKConfig.getBoolean: anything but "true" is false.
            settings.hostnameVerification = verification.trimmingBlanks().lowercased() == "true"
        }
        // Apache enables `enabledProtocols` when given, else just `protocol`.
        if let enabled = nonEmpty("zookeeper.ssl.enabledProtocols") {
            settings.protocols = try TLSSettings.protocols(from: enabled, setting: "zookeeper.ssl.enabledProtocols")
        } else if let single = nonEmpty("zookeeper.ssl.protocol") {
            settings.protocols = try TLSSettings.protocols(from: single, setting: "zookeeper.ssl.protocol")
            settings.protocolsSetting = "zookeeper.ssl.protocol"
        }
        if let suites = nonEmpty("zookeeper.ssl.ciphersuites") {
            settings.cipherSuites = TLSSettings.cipherSuites(from: suites)
        }
        return settings
    }

    // MARK: SASL

    /// `java.security.auth.login.config`: the JAAS file, from the file or a `-D` word of the JVM flags.
    public var jaasConfigurationFile: String? { nonEmpty("java.security.auth.login.config") }

    /// `zookeeper.sasl.clientconfig`: the JAAS section of the client's login (`Client` by default).
    public var saslClientSection: String {
        nonEmpty("zookeeper.sasl.clientconfig") ?? JAASConfiguration.defaultClientSection
    }

    /// `zookeeper.sasl.client`: SASL is tried unless this is `false` (Apache's default is true).
    public var isSASLEnabled: Bool { self["zookeeper.sasl.client"]?.trimmingBlanks().lowercased() != "false" }

    /// The SASL login these properties ask for (DIGEST-MD5, or Kerberos with `zookeeper.server.principal`,
    /// `zookeeper.sasl.client.username`, `zookeeper.server.realm` and
    /// `zookeeper.sasl.client.canonicalize.hostname` applied): nil when SASL is off, when no JAAS file is named, or when the
    /// file has no such section (Apache's client then connects without SASL too). A file that cannot be read,
    /// does not parse, or whose section cannot be used is a one-line error.
    public func saslCredentials() throws(JAASConfiguration.Error) -> SASLCredentials? {
        guard isSASLEnabled, let file = jaasConfigurationFile else { return nil }
        let jaas = try JAASConfiguration(contentsOf: file)
        guard jaas.section(saslClientSection) != nil else { return nil }
        let credentials = try SASLCredentials(jaas: jaas, section: saslClientSection)
        switch credentials.mechanism {
        case .digestMD5:
            return credentials
        case .kerberos(var login):
            // The server principal's parts come from the properties, as Apache's client reads them.
            login.apply(clientProperties: values)
            return .kerberos(login)
        }
    }

    /// Applies the keys to a client configuration: the packet limit and TLS.
    public func apply(to configuration: inout ZooKeeperClient.Configuration) throws(TLSError) {
        if let packetLimit { configuration.packetLimit = packetLimit }
        configuration.tls = try tlsSettings()
    }

    private func store(_ prefix: String) throws(TLSError) -> CertificateStore? {
        guard let location = nonEmpty("\(prefix).location") else { return nil }
        var password = self["\(prefix).password"]
        if let passwordPath = nonEmpty("\(prefix).passwordPath") {
            var text = String(
                decoding: try TLSFile.read(passwordPath, setting: "\(prefix).passwordPath"), as: UTF8.self)
            if text.hasSuffix("\n") { text.removeLast() }
            password = text
        }
        let type = try StoreType.resolve(named: nonEmpty("\(prefix).type"), path: location, setting: "\(prefix).type")
        return CertificateStore(path: location, password: password, type: type, setting: "\(prefix).location")
    }

    private func nonEmpty(_ key: String) -> String? {
        guard let value = self[key]?.trimmingBlanks(), !value.isEmpty else { return nil }
        return value
    }

    private mutating func merge(_ other: [String: String]) {
        for (key, value) in other { values[Self.canonicalKey(key)] = value }
    }

    // MARK: Reading

    /// Kafka's names for the same settings (its `ZkConfig`), and what each stands for. A switch, not a dictionary
    /// literal: the literal's storage metadata is made at run time, a scan of every protocol conformance record
    /// in a one-shot `zkcli` that reads no property at all (BENCHMARKS.md, issue 17).
    private static func canonicalKey(_ key: String) -> String {
        switch key {
        case "zookeeper.ssl.client.enable": "zookeeper.client.secure"
        case "zookeeper.ssl.keystore.location": "zookeeper.ssl.keyStore.location"
        case "zookeeper.ssl.keystore.password": "zookeeper.ssl.keyStore.password"
        case "zookeeper.ssl.keystore.type": "zookeeper.ssl.keyStore.type"
        case "zookeeper.ssl.truststore.location": "zookeeper.ssl.trustStore.location"
        case "zookeeper.ssl.truststore.password": "zookeeper.ssl.trustStore.password"
        case "zookeeper.ssl.truststore.type": "zookeeper.ssl.trustStore.type"
        case "zookeeper.ssl.enabled.protocols": "zookeeper.ssl.enabledProtocols"
        case "zookeeper.ssl.cipher.suites": "zookeeper.ssl.ciphersuites"
        case "zookeeper.ssl.endpoint.identification.algorithm": "zookeeper.ssl.hostnameVerification"
        default: key
        }
    }

    /// Kafka's endpoint identification algorithm is `HTTPS` (verify) or empty (do not).
    private static func canonicalValue(key: String, value: String) -> String {
        guard key == "zookeeper.ssl.endpoint.identification.algorithm" else { return value }
        return value.trimmingBlanks().uppercased() == "HTTPS" ? "true" : "false"
    }

    /// The `-Dkey=value` system properties of `variables` in `environment` (`JVMFlags`), with Kafka's values
    /// read as Apache's.
    public static func systemProperties(fromJVMFlags variables: [String], in environment: [String: String])
        -> [String: String]
    {
        var properties = JVMFlags.systemProperties(of: variables, in: environment)
        for (key, value) in properties { properties[key] = canonicalValue(key: key, value: value) }
        return properties
    }

    /// A Java properties file, read as `Properties.load` reads it (``JavaProperties``), keys and values trimmed
    /// as Apache's `ZKConfig` trims them.
    public static func parse(_ text: String) throws(JavaProperties.Failure) -> [String: String] {
        var properties: [String: String] = [:]
        for entry in try JavaProperties.entries(in: text) {
            let key = JavaProperties.trimmed(entry.key)
            properties[key] = canonicalValue(key: key, value: JavaProperties.trimmed(entry.value))
        }
        return properties
    }
}

extension String {
    fileprivate func trimmingBlanks() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
