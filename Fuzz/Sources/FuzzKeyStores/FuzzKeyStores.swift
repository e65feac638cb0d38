import FuzzSupport
import ZooKeeperProtocol
import ZooKeeperTLS

#if canImport(Glibc)
    import Glibc
#endif

/// The key and trust store readers TLS uses (`CertificateStore`): JKS, PKCS#12 and PEM files, read as a trust
/// store and as a key store, with one of a few passwords (the seeds' own among them).
///
/// The input: a byte for the store type (JKS, PKCS12, PEM) and whether to recompute a JKS file's integrity digest
/// after the damage (so that the parser behind the check sees damaged entries with the right password, as the
/// persistence target does with checksums), a byte for the password, then the file.
///
/// What must hold: each read either yields certificates (a non-empty list; an identity with a chain) or fails
/// with one non-empty line naming the setting, never with "missing file"; nothing traps.
@main struct FuzzKeyStoresMain {
    static func main() {
        // libFuzzer ends with exit(): the store file goes with the process.
        atexit { _ = unlink(storePath) }
        runFuzzer(fuzzKeyStores)
    }
}

let passwords: [String?] = [nil, "changeit", "secret", "wrong", ""]
let storePath = "/tmp/fuzz-keystores-\(getpid()).store"
let setting = "zookeeper.ssl.keyStore.location"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyStores(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(start, count)
    let flags = input.byte()
    let type = [StoreType.jks, .pkcs12, .pem][Int(flags & 3) % 3]
    let password = passwords[input.below(passwords.count)]
    var bytes = input.remaining
    if flags & 4 != 0, let password, bytes.count >= 20 {
        // Java's store digest: SHA-1 of the password (UTF-16BE), "Mighty Aphrodite", and everything before it.
        let signed = bytes.count - 20
        let passwordBytes = password.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        let digest = SHA1.hash(passwordBytes + Array("Mighty Aphrodite".utf8) + bytes[0..<signed])
        bytes.replaceSubrange(signed..., with: digest)
    }
    write(bytes, to: storePath)

    let store = CertificateStore(path: storePath, password: password, type: type, setting: setting)
    do {
        let certificates = try store.trustedCertificates()
        fuzzCheck(!certificates.isEmpty, "a trust store of no certificates")
    } catch {
        check(error)
    }
    do {
        let identity = try store.identity()
        fuzzCheck(!identity.certificateChain.isEmpty, "an identity without a certificate")
    } catch {
        check(error)
    }
    return 0
}

func check(_ error: TLSError) {
    fuzzCheck(!error.message.isEmpty, "an empty failure")
    fuzzCheck(
        !error.message.unicodeScalars.contains { $0 == "\n" || $0 == "\r" },
        "a failure of more than one line: \(error.message)")
    fuzzCheck(error.message.hasPrefix(setting + ": "), "a failure that does not name the setting: \(error.message)")
    fuzzCheck(error.code != .missingFile && error.code != .unreadableFile, "the store file unread: \(error.message)")
}

func write(_ bytes: [UInt8], to path: String) {
    guard let file = fopen(path, "wb") else { fatalError("cannot write \(path)") }
    defer { fclose(file) }
    if !bytes.isEmpty { fuzzCheck(fwrite(bytes, 1, bytes.count, file) == bytes.count, "short write to \(path)") }
}
