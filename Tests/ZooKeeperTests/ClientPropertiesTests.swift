import Foundation
import Testing
import ZooKeeper
import ZooKeeperTestSupport

@Suite struct ClientPropertiesTests {
    func file(_ text: String) throws -> String {
        let path = try TestEnvironment.temporaryDirectory("client-properties") + "/client.properties"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func javaPropertiesForms() throws {
        let parsed = try ClientProperties.parse(
            "# comment\n! also\na=1\nb : 2\nc 3\n  d=  4  \nempty\n\njute.maxbuffer=100\n")
        #expect(parsed == ["a": "1", "b": "2", "c": "3", "d": "4", "empty": "", "jute.maxbuffer": "100"])
    }

    /// Found by the client-properties fuzz target: a file with CRLF line ends (edited on Windows) was read as one
    /// line, its first key taking the rest of the file as its value, because Swift reads "\r\n" as one Character.
    @Test func crlfLineEndsReadAsLFOnes() throws {
        let parsed = try ClientProperties.parse(
            "zookeeper.client.secure=true\r\njute.maxbuffer=100\r\n\r\n# c\r\nkey\r\n")
        #expect(parsed == ["zookeeper.client.secure": "true", "jute.maxbuffer": "100", "key": ""])
    }

    /// The file is read as Java's `Properties.load` reads it: escapes (a Windows path), continued lines, and a
    /// malformed `\u` escape refused in one line naming the file and the line.
    @Test func escapesAndContinuedLinesAsJavaReadsThem() throws {
        #expect(
            try ClientProperties.parse("ks=C:\\\\certs\\\\k.jks\nlist=a,\\\n   b\n")
                == ["ks": "C:\\certs\\k.jks", "list": "a,b"])
        let path = try file("a=1\nb=\\uZZZZ\n")
        #expect(throws: TLSError(.invalidSetting, "-client-configuration \(path): line 2: malformed \\uXXXX escape")) {
            try ClientProperties.load(file: path, environment: [:])
        }
    }

    /// The words are split by the shared `JVMFlags` (its tests are in ZooKeeperProtocolTests); the client reads
    /// Kafka's values as Apache's.
    @Test func systemPropertiesFromJVMFlags() {
        let environment = [
            "CLIENT_JVMFLAGS": "-Xmx64m -Dzookeeper.client.secure=true -Dzookeeper.ssl.truststore.location=/t.jks",
            "JVMFLAGS": "-Dzookeeper.ssl.endpoint.identification.algorithm=HTTPS",
        ]
        #expect(
            ClientProperties.systemProperties(fromJVMFlags: ClientProperties.jvmFlagsVariables, in: environment) == [
                "zookeeper.client.secure": "true", "zookeeper.ssl.truststore.location": "/t.jks",
                "zookeeper.ssl.endpoint.identification.algorithm": "true",
            ])
    }

    @Test func theFilesKeysWinOverJVMFlagsAndJVMFLAGSOverCLIENT_JVMFLAGS() throws {
        let path = try file("zookeeper.ssl.trustStore.password=from-file\n")
        let properties = try ClientProperties.load(
            file: path,
            environment: [
                "CLIENT_JVMFLAGS": "-Dzookeeper.ssl.trustStore.password=from-flags -Djute.maxbuffer=10 -Dx=client",
                "JVMFLAGS": "-Dx=jvm",
            ])
        #expect(properties["zookeeper.ssl.trustStore.password"] == "from-file")
        #expect(properties.packetLimit == 10)
        #expect(properties["x"] == "jvm")
    }

    @Test func kafkaSpellingsStandForApachesKeys() throws {
        let properties = ClientProperties(
            try ClientProperties.parse(
                """
                zookeeper.ssl.client.enable=true
                zookeeper.ssl.truststore.location=/t.p12
                zookeeper.ssl.truststore.password=pw
                zookeeper.ssl.keystore.location=/k.jks
                zookeeper.ssl.enabled.protocols=TLSv1.3
                zookeeper.ssl.cipher.suites=TLS_AES_128_GCM_SHA256
                zookeeper.ssl.endpoint.identification.algorithm=
                """))
        #expect(properties.isSecure)
        let settings = try #require(try properties.tlsSettings())
        #expect(
            settings.trustStore
                == CertificateStore(
                    path: "/t.p12", password: "pw", type: .pkcs12, setting: "zookeeper.ssl.trustStore.location"))
        #expect(settings.keyStore?.type == .jks)
        #expect(settings.protocols == [.tlsv13])
        #expect(settings.cipherSuites == ["TLS_AES_128_GCM_SHA256"])
        #expect(settings.hostnameVerification == false)
    }

    @Test func apacheKeysAndDefaults() throws {
        var properties = ClientProperties(["zookeeper.ssl.trustStore.location": "/ca.pem"])
        #expect(try properties.tlsSettings() == nil)  // not secure
        properties = ClientProperties([
            "zookeeper.client.secure": "TRUE", "zookeeper.ssl.trustStore.location": "/ca.pem",
            "zookeeper.ssl.protocol": "TLSv1.2", "zookeeper.ssl.hostnameVerification": "yes",
        ])
        let settings = try #require(try properties.tlsSettings())
        #expect(settings.trustStore?.type == .pem)
        #expect(settings.keyStore == nil)
        #expect(settings.protocols == [.tlsv12])
        // Java's Boolean.parseBoolean: only "true" is true.
        #expect(settings.hostnameVerification == false)
        #expect(try ClientProperties(["zookeeper.client.secure": "true"]).tlsSettings()?.hostnameVerification == true)
    }

    @Test func passwordPathWinsOverPasswordAsInApache() throws {
        let passwordFile = try file("from-file\n")
        let properties = ClientProperties([
            "zookeeper.client.secure": "true", "zookeeper.ssl.keyStore.location": "/k.p12",
            "zookeeper.ssl.keyStore.password": "inline", "zookeeper.ssl.keyStore.passwordPath": passwordFile,
        ])
        #expect(try properties.tlsSettings()?.keyStore?.password == "from-file")
        let missing = ClientProperties([
            "zookeeper.client.secure": "true", "zookeeper.ssl.keyStore.location": "/k.p12",
            "zookeeper.ssl.keyStore.passwordPath": "/nonexistent/password",
        ])
        let error = #expect(throws: TLSError.self) { _ = try missing.tlsSettings() }
        #expect(error?.description == "zookeeper.ssl.keyStore.passwordPath: /nonexistent/password: no such file")
    }

    @Test func storeTypesThatCannotBeUsed() {
        for (type, location) in [("BCFKS", "/k.bcfks"), (nil, "/k.bcfks"), ("PKCS11", "/k"), (nil, "/k.keystore")] {
            var values = ["zookeeper.client.secure": "true", "zookeeper.ssl.keyStore.location": location]
            values["zookeeper.ssl.keyStore.type"] = type
            let error = #expect(throws: TLSError.self) { _ = try ClientProperties(values).tlsSettings() }
            #expect(error?.code == .unsupportedStoreType)
            #expect(error?.description.hasPrefix("zookeeper.ssl.keyStore.type: ") == true)
        }
    }
}
