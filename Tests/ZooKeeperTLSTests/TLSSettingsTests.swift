import NIOSSL
import Testing
import ZooKeeperTestSupport

@testable import ZooKeeperTLS

@Suite struct TLSSettingsTests {
    @Test func protocolListsAsJSSENamesThem() throws {
        #expect(try TLSSettings.protocols(from: "TLSv1.2", setting: "p") == [.tlsv12])
        #expect(try TLSSettings.protocols(from: " TLSv1.3 , TLSv1.2", setting: "p") == [.tlsv13, .tlsv12])
        let error = #expect(throws: TLSError.self) {
            _ = try TLSSettings.protocols(from: "SSLv3", setting: "zookeeper.ssl.enabledProtocols")
        }
        #expect(error?.code == .invalidSetting)
        #expect(error?.description.hasPrefix("zookeeper.ssl.enabledProtocols: unknown protocol 'SSLv3'") == true)
    }

    @Test func clientConfigurationTrustsOnlyTheTrustStore() throws {
        let certificates = try TestCertificates.shared()
        var settings = TLSSettings(
            trustStore: CertificateStore(path: certificates.path("trust.jks"), password: certificates.password))
        settings.protocols = [.tlsv13]
        let configuration = try settings.makeClientConfiguration()
        #expect(
            configuration.trustRoots
                == .certificates([try NIOSSLCertificate.fromPEMFile(certificates.path("ca.pem"))[0]]))
        #expect(configuration.minimumTLSVersion == .tlsv13)
        #expect(configuration.maximumTLSVersion == .tlsv13)
        #expect(configuration.certificateVerification == .fullVerification)
        #expect(configuration.certificateChain.isEmpty)
    }

    @Test func clientConfigurationOffersTheKeyStoresIdentity() throws {
        let certificates = try TestCertificates.shared()
        var settings = TLSSettings(
            trustStore: CertificateStore(path: certificates.path("trust.pem")),
            keyStore: CertificateStore(path: certificates.path("client.p12"), password: certificates.password))
        settings.hostnameVerification = false
        let configuration = try settings.makeClientConfiguration()
        #expect(
            configuration.certificateChain.first
                == .certificate(try NIOSSLCertificate.fromPEMFile(certificates.path("client.pem"))[0]))
        #expect(configuration.certificateVerification == .noHostnameVerification)
    }

    @Test func serverConfigurationNeedsAKeyStoreAndAsksForClientCertificates() throws {
        let certificates = try TestCertificates.shared()
        #expect(throws: TLSError.self) { _ = try TLSSettings().makeServerConfiguration() }
        var settings = TLSSettings(
            trustStore: CertificateStore(path: certificates.path("trust.pem")),
            keyStore: CertificateStore(path: certificates.path("server.jks"), password: certificates.password))
        #expect(try settings.makeServerConfiguration().certificateVerification == .noHostnameVerification)
        settings.clientAuthentication = .none
        #expect(try settings.makeServerConfiguration().certificateVerification == .none)
    }

    @Test func cipherSuitesByTheirIANANames() throws {
        var settings = TLSSettings()
        settings.cipherSuites = TLSSettings.cipherSuites(
            from: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256")
        #expect(
            try settings.makeClientConfiguration().cipherSuiteValues.contains(.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256))
        settings.cipherSuites = ["TLS_MADE_UP"]
        let error = #expect(throws: TLSError.self) { _ = try settings.makeClientConfiguration() }
        #expect(error?.code == .invalidSetting)
        #expect(error?.description.hasPrefix("zookeeper.ssl.ciphersuites: ") == true)
    }
}
