import Foundation
import NIOSSL
import Testing
import ZooKeeperTestSupport

@testable import ZooKeeperTLS

/// The stores users have, made by `openssl` and `keytool`, read into swift-nio-ssl's types.
@Suite struct CertificateStoreTests {
    let certificates: TestCertificates

    init() throws {
        certificates = try TestCertificates.shared()
    }

    func store(_ name: String, password: String? = nil, type: StoreType? = nil) -> CertificateStore {
        CertificateStore(
            path: certificates.path(name), password: password, type: type, setting: "zookeeper.ssl.keyStore.location")
    }

    func certificate(_ name: String) throws -> NIOSSLCertificate {
        try NIOSSLCertificate.fromPEMFile(certificates.path(name))[0]
    }

    @Test(arguments: ["trust.pem", "trust.p12", "trust.jks"])
    func trustStoreHoldsTheCA(file: String) throws {
        let trusted = try store(file, password: certificates.password).trustedCertificates()
        #expect(trusted == [try certificate("ca.pem")])
    }

    @Test func jksTrustStoreOpensWithoutAPasswordAsJavaDoes() throws {
        #expect(try store("trust.jks").trustedCertificates() == [try certificate("ca.pem")])
    }

    @Test(arguments: ["client-keystore.pem", "client.p12", "client.jks"])
    func keyStoreGivesTheKeyAndItsChain(file: String) throws {
        let identity = try store(file, password: certificates.password).identity()
        #expect(identity.certificateChain.first == (try certificate("client.pem")))
        #expect(identity.certificateChain.contains(try certificate("ca.pem")))
        let key = try NIOSSLPrivateKey(file: certificates.path("client.key"), format: .pem)
        let loaded = try identity.privateKey.derBytes
        #expect(try loaded == key.derBytes)
    }

    @Test func encryptedPEMKeyOpensWithItsPassword() throws {
        let identity = try store("client-encrypted-keystore.pem", password: certificates.password).identity()
        #expect(identity.certificateChain.first == (try certificate("client.pem")))
    }

    @Test func storeTypeFollowsTheContentWhenTheNameSaysOtherwise() throws {
        // Java's keystore.type.compat: a JKS file read as PKCS12 and the reverse.
        let jksAsPKCS12 = try store("client.jks", password: certificates.password, type: .pkcs12).identity()
        #expect(jksAsPKCS12.certificateChain.first == (try certificate("client.pem")))
        let pkcs12AsJKS = try store("trust.p12", password: certificates.password, type: .jks).trustedCertificates()
        #expect(pkcs12AsJKS == [try certificate("ca.pem")])
    }

    @Test(arguments: ["client.p12", "client.jks", "client-encrypted-keystore.pem", "trust.jks", "trust.p12"])
    func wrongPasswordIsOneLineNamingTheSetting(file: String) throws {
        let wrong = store(file, password: "not-the-password")
        let error = #expect(throws: TLSError.self) {
            if file.hasPrefix("trust") {
                _ = try wrong.trustedCertificates()
            } else {
                _ = try wrong.identity()
            }
        }
        #expect(error?.code == .wrongPassword)
        #expect(error?.description.hasPrefix("zookeeper.ssl.keyStore.location: ") == true)
        #expect(error?.description.contains("wrong password") == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test func alteredJKSFailsItsIntegrityCheck() throws {
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: certificates.path("trust.jks"))))
        bytes[bytes.count / 2] ^= 0xFF
        let path = certificates.path("altered.jks")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: TLSError.self) {
            _ = try CertificateStore(path: path, password: certificates.password).trustedCertificates()
        }
        #expect(error?.code == .wrongPassword)
    }

    @Test func missingAndUnreadableFiles() throws {
        let missing = #expect(throws: TLSError.self) {
            _ = try store("nowhere/trust.jks").trustedCertificates()
        }
        #expect(missing?.code == .missingFile)
        #expect(
            missing?.description
                == "zookeeper.ssl.keyStore.location: \(certificates.path("nowhere/trust.jks")): no such file")
        let directory = try TestEnvironment.temporaryDirectory("store-dir") + "/stores.pem"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let unreadable = #expect(throws: TLSError.self) {
            _ = try CertificateStore(path: directory).trustedCertificates()
        }
        #expect(unreadable?.code == .unreadableFile)
    }

    @Test func keyThatIsNotTheCertificatesOwn() throws {
        let error = #expect(throws: TLSError.self) { _ = try store("mismatch-keystore.pem").identity() }
        #expect(error?.code == .keyDoesNotMatchCertificate)
        #expect(error?.description.contains("does not match its certificate") == true)
    }

    @Test func trustStoreIsNoKeyStore() throws {
        for file in ["trust.pem", "trust.p12", "trust.jks"] {
            let error = #expect(throws: TLSError.self) {
                _ = try store(file, password: certificates.password).identity()
            }
            #expect(error?.code == .noPrivateKey)
        }
    }

    @Test func notAStoreAtAll() throws {
        let path = certificates.path("garbage.p12")
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: TLSError.self) {
            _ = try CertificateStore(path: path, password: "x").trustedCertificates()
        }
        #expect(error?.code == .malformedStore)
    }

    @Test func typeFromTheSettingOrTheExtension() throws {
        #expect(try StoreType.resolve(named: "jks", path: "x.pem", setting: "s") == .jks)
        #expect(try StoreType.resolve(named: "Pkcs12", path: "x", setting: "s") == .pkcs12)
        #expect(try StoreType.resolve(named: nil, path: "/a.b/x.jks", setting: "s") == .jks)
        #expect(try StoreType.resolve(named: "", path: "x.p12", setting: "s") == .pkcs12)
        #expect(try StoreType.resolve(named: nil, path: "x.pfx", setting: "s") == .pkcs12)
        #expect(try StoreType.resolve(named: nil, path: "x.pem", setting: "s") == .pem)
        #expect(try StoreType.resolve(named: nil, path: "x.crt", setting: "s") == .pem)
        for (name, path) in [
            ("BCFKS", "x.jks"), (nil, "x.bcfks"), ("PKCS11", "x.jks"), (nil, "/a.d/store"), (nil, "x.txt"),
        ] {
            let error = #expect(throws: TLSError.self) {
                _ = try StoreType.resolve(named: name, path: path, setting: "zookeeper.ssl.trustStore.type")
            }
            #expect(error?.code == .unsupportedStoreType)
            #expect(error?.description.hasPrefix("zookeeper.ssl.trustStore.type: ") == true)
        }
    }
}
