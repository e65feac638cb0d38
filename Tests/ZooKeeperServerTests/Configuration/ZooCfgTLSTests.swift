import Testing
import ZooKeeperTLS

@testable import ZooKeeperServer

/// The TLS keys of zoo.cfg: read as Apache reads them, and a file that asks for TLS is never silently served
/// without it.
@Suite struct ZooCfgTLSTests {
    @Test func readsApachesTLSKeys() throws {
        let text = """
            clientPort=2181
            secureClientPort=2281
            secureClientPortAddress=127.0.0.1
            serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
            ssl.keyStore.location=/etc/zk/server.p12
            ssl.keyStore.password=secret
            ssl.keyStore.type=pkcs12
            zookeeper.ssl.trustStore.location=/etc/zk/trust.jks
            ssl.trustStore.passwordPath=/etc/zk/trust.pass
            ssl.clientAuth=WANT
            ssl.protocol=TLSv1.2
            ssl.ciphersuites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            ssl.hostnameVerification=false
            ssl.handshakeDetectionTimeoutMillis=700
            X509AuthenticationProvider.superUser=CN=admin,O=Example
            """
        let result = try ZooCfg.parse(text) { path in
            #expect(path == "/etc/zk/trust.pass")
            return "from-file\n"
        }
        #expect(result.warnings.isEmpty)
        let configuration = result.configuration
        #expect(configuration.clientPort == 2181)
        #expect(configuration.secureClientPort == 2281)
        #expect(configuration.secureClientPortAddress == "127.0.0.1")
        #expect(configuration.servesTLS && !configuration.portUnification)
        let tls = configuration.tls
        #expect(
            tls.keyStore
                == CertificateStore(
                    path: "/etc/zk/server.p12", password: "secret", type: .pkcs12, setting: "ssl.keyStore.location"))
        #expect(
            tls.trustStore
                == CertificateStore(
                    path: "/etc/zk/trust.jks", password: "from-file", setting: "ssl.trustStore.location"))
        #expect(tls.clientAuthentication == .want)
        #expect(tls.protocols == [.tlsv12])
        #expect(
            tls.cipherSuites == ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"])
        #expect(configuration.tlsHandshakeTimeoutMilliseconds == 700)
        #expect(configuration.x509SuperUser == "CN=admin,O=Example")
    }

    @Test func apachesDefaults() throws {
        let configuration = try ZooCfg.parse(
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\n"
        ).configuration
        // Only the secure port: no plaintext port is opened behind the user's back.
        #expect(configuration.clientPort == nil)
        #expect(configuration.tls.clientAuthentication == .need)
        #expect(configuration.tls.protocols == [.tlsv13, .tlsv12])
        #expect(configuration.tls.cipherSuites == nil)
        #expect(configuration.tlsHandshakeTimeoutMilliseconds == 5000)
    }

    @Test func enabledProtocolsWinOverTheProtocol() throws {
        let configuration = try ZooCfg.parse(
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.protocol=TLSv1.2\nssl.enabledProtocols=TLSv1.3\n"
        ).configuration
        #expect(configuration.tls.protocols == [.tlsv13])
    }

    @Test func portUnificationServesTLSOnTheClientPort() throws {
        let configuration = try ZooCfg.parse(
            "clientPort=2181\nclient.portUnification=true\nssl.keyStore.location=/k.pem\n"
        ).configuration
        #expect(configuration.clientPort == 2181 && configuration.secureClientPort == nil)
        #expect(configuration.servesTLS && configuration.portUnification)
    }

    @Test(arguments: [
        (
            "secureClientPort=2281\n",
            "secureClientPort needs ssl.keyStore.location (the server's certificate and private key)"
        ),
        (
            "clientPort=2181\nssl.keyStore.location=/k.pem\n",
            "ssl.keyStore.location is set but no port serves TLS: add secureClientPort=PORT or client.portUnification=true"
        ),
        (
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.clientAuth=bogus\n",
            "line 3: ssl.clientAuth must be none, want or need, got 'bogus'"
        ),
        (
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.enabledProtocols=TLSv1.2,SSLv3\n",
            "line 3: ssl.enabledProtocols: unknown protocol 'SSLv3' (use TLSv1.2 or TLSv1.3)"
        ),
        (
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.keyStore.type=BCFKS\n",
            "ssl.keyStore.type: store type BCFKS is not supported (use PEM, PKCS12 or JKS)"
        ),
        (
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.crl=true\n",
            "line 3: ssl.crl=true is not supported by zkserver"
        ),
        (
            "secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.keyStor.location=/x\n",
            "line 3: unknown TLS setting 'ssl.keyStor.location'"
        ),
        (
            "serverCnxnFactory=com.example.Factory\n",
            "line 1: serverCnxnFactory must be org.apache.zookeeper.server.NettyServerCnxnFactory or NIOServerCnxnFactory, got 'com.example.Factory'"
        ),
    ])
    func whatCannotBeHonouredStopsWithOneLine(text: String, message: String) {
        #expect(throws: ZooCfg.Failure(message)) { try ZooCfg.parse(text) }
    }

    @Test func anUnreadablePasswordFileStopsWithOneLine() {
        #expect(throws: ZooCfg.Failure("ssl.keyStore.passwordPath: /nope cannot be read")) {
            try ZooCfg.parse("secureClientPort=1\nssl.keyStore.location=/k.p12\nssl.keyStore.passwordPath=/nope\n") {
                _ in throw ZooCfg.Failure("no")
            }
        }
    }
}
