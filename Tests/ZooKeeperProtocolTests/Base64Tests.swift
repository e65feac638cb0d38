import Testing
import ZooKeeperProtocol

@Suite struct Base64Tests {
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("hello", "aGVsbG8=")])
    func base64RoundTrip(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test func base64RejectsGarbage() {
        #expect(Base64.decode("!!!") == nil)
        #expect(Base64.decode("Zg=") == nil)
        #expect(Base64.decode("Z") == nil)
        #expect(Base64.decode("Zg") == Array("f".utf8))
    }
}
