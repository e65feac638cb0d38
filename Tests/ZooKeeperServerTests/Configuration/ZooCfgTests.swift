import Testing

@testable import ZooKeeperServer

@Suite struct ZooCfgTests {
    /// zoo.cfg is a Java properties file to Apache: blank separators, continued lines and backslash escapes
    /// (`\\.` in a regular expression, `C:\\data`) mean what they mean to `Properties.load`.
    @Test func readsJavaPropertiesAsApacheDoes() throws {
        let text = """
            tickTime 2000
            clientPort:2182
            dataDir=/var/lib/zk\\\\data
            zookeeper.security.auth_to_local=RULE:[1:$1@$0](.*@EXAMPLE\\\\.COM)s/@.*// \\
                DEFAULT
            """
        let configuration = try ZooCfg.parse(text).configuration
        #expect(configuration.tickTime == 2000)
        #expect(configuration.clientPort == 2182)
        #expect(configuration.dataDirectory == "/var/lib/zk\\data")
        // The rule's regular expression kept its `\\.`: a realm with another character there does not match.
        let rules = configuration.sasl.authToLocal
        #expect(rules.shortName(components: ["alice"], realm: "EXAMPLE.COM", defaultRealm: nil) == "alice")
        #expect(rules.shortName(components: ["alice"], realm: "EXAMPLEXCOM", defaultRealm: nil) == nil)
    }

    @Test func anEscapedLineEndInAValueStillFailsInOneLine() {
        #expect {
            try ZooCfg.parse("tickTime=20\\n00")
        } throws: { error in
            (error as? ZooCfg.Failure).map { !$0.description.contains("\n") && $0.description.contains("line 1") }
                ?? false
        }
        // CRLF is one Character in Swift: the escaping goes scalar by scalar.
        #expect {
            try ZooCfg.parse("tickTime=20\\r\\n00")
        } throws: { error in
            (error as? ZooCfg.Failure).map { !$0.description.unicodeScalars.contains { $0 == "\n" || $0 == "\r" } }
                ?? false
        }
        #expect(throws: ZooCfg.Failure("line 2: malformed \\uXXXX escape")) { try ZooCfg.parse("a=1\nb=\\u00") }
    }

    @Test func readsApacheKeys() throws {
        let text = """
            # a comment
            tickTime=2000
            dataDir=/var/lib/zookeeper
            dataLogDir = /var/log/zk
            clientPort=2182
            clientPortAddress=127.0.0.1
            maxClientCnxns=10
            minSessionTimeout=5000
            maxSessionTimeout: 50000
            autopurge.snapRetainCount=5
            autopurge.purgeInterval=1
            snapCount=5000
            4lw.commands.whitelist=srvr, mntr ,ruok
            forceSync=no
            jute.maxbuffer=2000000
            extendedTypesEnabled=true
            zookeeper.DigestAuthenticationProvider.superDigest=super:gG7s8t3oDEtIqF6DM9LlI/R+9Ss=
            initLimit=10
            server.1=127.0.0.1:2888:3888
            """
        let result = try ZooCfg.parse(text)
        let configuration = result.configuration
        #expect(result.warnings.isEmpty)
        #expect(configuration.tickTime == 2000)
        #expect(configuration.dataDirectory == "/var/lib/zookeeper")
        #expect(configuration.dataLogDirectory == "/var/log/zk")
        #expect(configuration.clientPort == 2182)
        #expect(configuration.clientPortAddress == "127.0.0.1")
        #expect(configuration.maxClientConnections == 10)
        #expect(configuration.effectiveMinSessionTimeout == 5000)
        #expect(configuration.effectiveMaxSessionTimeout == 50000)
        #expect(configuration.autopurgeSnapRetainCount == 5 && configuration.autopurgePurgeInterval == 1)
        #expect(configuration.snapCount == 5000)
        #expect(configuration.fourLetterWordWhitelist == ["srvr", "mntr", "ruok"])
        #expect(configuration.forceSync == false)
        #expect(configuration.packetLimit == 2_000_000)
        #expect(configuration.extendedTypesEnabled)
        #expect(configuration.superDigest == "super:gG7s8t3oDEtIqF6DM9LlI/R+9Ss=")
    }

    @Test func defaultsAreApaches() throws {
        let configuration = try ZooCfg.parse("tickTime=2000\n").configuration
        #expect(configuration.effectiveMinSessionTimeout == 4000)
        #expect(configuration.effectiveMaxSessionTimeout == 40000)
        #expect(configuration.maxClientConnections == 60)
        #expect(configuration.fourLetterWordWhitelist == ["srvr"])
        #expect(configuration.packetLimit == 1_048_575)
        #expect(configuration.allowsFourLetterWord("srvr") && !configuration.allowsFourLetterWord("mntr"))
    }

    @Test func unknownKeysWarn() throws {
        let result = try ZooCfg.parse("tickTime=2000\nfrobnicate=yes\n")
        #expect(result.warnings == ["unknown key 'frobnicate' in the configuration is ignored"])
    }

    @Test func anEnsembleIsRefusedClearly() {
        #expect {
            try ZooCfg.parse("server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n")
        } throws: { error in
            String(describing: error).contains(
                "zkserver is a single-node server; run an ensemble with Apache ZooKeeper")
        }
    }

    /// Found by the zoo.cfg fuzz target: a huge tickTime trapped in 20 × tickTime. Apache reads ints, so such a
    /// number is refused; a configuration built in code saturates instead.
    @Test func hugeNumbersAreRefusedAndNeverOverflow() {
        #expect(
            throws: ZooCfg.Failure(
                "line 1: tickTime must be at most 2147483647, got '9223372036854775807'")
        ) {
            try ZooCfg.parse("tickTime=9223372036854775807\n")
        }
        #expect(throws: ZooCfg.Failure.self) { try ZooCfg.parse("maxSessionTimeout=2147483648\n") }
        var configuration = ServerConfiguration()
        configuration.tickTime = .max
        #expect(configuration.effectiveMinSessionTimeout == .max)
        #expect(configuration.effectiveMaxSessionTimeout == .max)
        let largest = try? ZooCfg.parse("tickTime=2147483647\n").configuration
        #expect(largest?.effectiveMaxSessionTimeout == 20 * 2_147_483_647)
    }

    @Test func badValuesNameTheLine() {
        #expect(throws: ZooCfg.Failure("line 2: tickTime must be a whole number, got 'fast'")) {
            try ZooCfg.parse("clientPort=1\ntickTime=fast\n")
        }
        #expect(throws: ZooCfg.Failure("line 1: expected key=value, got 'garbage'")) {
            try ZooCfg.parse("garbage\n")
        }
        #expect(throws: ZooCfg.Failure("line 1: clientPort must be at most 65535, got '65536'")) {
            try ZooCfg.parse("clientPort=65536\n")
        }
        #expect(throws: ZooCfg.Failure("line 1: snapCount must be at least 2, got '1'")) {
            try ZooCfg.parse("snapCount=1\n")
        }
    }
}

/// `metricsProvider.*`, as Apache's `PrometheusMetricsProvider` reads it.
struct ZooCfgMetricsTests {
    @Test func thePrometheusProviderEnablesTheEndpointWithApachesDefaults() throws {
        let result = try ZooCfg.parse(
            "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n")
        #expect(
            result.configuration.prometheusMetrics == PrometheusMetricsSettings(httpHost: "0.0.0.0", httpPort: 7000))
        #expect(result.warnings.isEmpty)
    }

    @Test func hostPortAndJvmInfoAreRead() throws {
        let result = try ZooCfg.parse(
            """
            metricsProvider.httpPort=7001
            metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
            metricsProvider.httpHost=127.0.0.1
            metricsProvider.exportJvmInfo=false
            """)
        #expect(
            result.configuration.prometheusMetrics
                == PrometheusMetricsSettings(httpHost: "127.0.0.1", httpPort: 7001, exportsProcessInfo: false))
        #expect(result.warnings.isEmpty)
    }

    @Test func withoutThePrometheusProviderThereIsNoEndpoint() throws {
        #expect(try ZooCfg.parse("metricsProvider.httpPort=7001\n").configuration.prometheusMetrics == nil)
        let defaultProvider = try ZooCfg.parse(
            "metricsProvider.className=org.apache.zookeeper.metrics.impl.DefaultMetricsProvider\n")
        #expect(defaultProvider.configuration.prometheusMetrics == nil)
    }

    @Test func badValuesAreRefusedInOneLine() {
        #expect(throws: ZooCfg.Failure.self) { try ZooCfg.parse("metricsProvider.className=com.example.Metrics\n") }
        #expect(throws: ZooCfg.Failure.self) { try ZooCfg.parse("metricsProvider.httpPort=70000\n") }
        #expect(throws: ZooCfg.Failure.self) { try ZooCfg.parse("metricsProvider.exportJvmInfo=maybe\n") }
    }
}
