internal import CNIOBoringSSL
internal import CNIOBoringSSLShims

/// What BoringSSL finds in a PKCS#12 file, as DER. swift-nio-ssl's `NIOSSLPKCS12Bundle` requires a private key (a
/// certificates-only trust store made by `keytool -importcert -storetype PKCS12` stops the process there), so the
/// file is opened here with the same BoringSSL call underneath, which accepts both.
struct PKCS12Contents {
    enum OpenError: Error {
        /// The MAC does not verify, or a bag does not decrypt, with the password given.
        case wrongPasswordOrMalformed(String)
        case malformed
    }

    /// PKCS#8 `PrivateKeyInfo`, if the file holds a key.
    var privateKey: [UInt8]?
    /// Every certificate in the file; when there is a key, the one it belongs to first.
    var certificates: [[UInt8]]

    init(bytes: [UInt8], password: String?) throws(OpenError) {
        guard let stack = CNIOBoringSSLShims_sk_X509_new_null() else { throw .malformed }
        defer { CNIOBoringSSLShims_sk_X509_pop_free(stack, X509_free) }
        var key: OpaquePointer? = nil
        ERR_clear_error()
        let status = bytes.withUnsafeBufferPointer { buffer -> Int32 in
            var cbs = CBS()
            CBS_init(&cbs, buffer.baseAddress, buffer.count)
            return (password ?? "").withCString { password in
                PKCS12_get_key_and_certs(&key, stack, &cbs, password)
            }
        }
        guard status == 1 else {
            let reason = Self.lastErrorReason()
            ERR_clear_error()
            // BoringSSL reports a failed MAC check as INCORRECT_PASSWORD; a file that is not PKCS#12 as a parse error.
            if reason.contains("INCORRECT_PASSWORD") || reason.contains("DECRYPT") || reason.contains("BAD_DECRYPT") {
                throw .wrongPasswordOrMalformed(reason)
            }
            throw .malformed
        }
        defer { if let key { EVP_PKEY_free(key) } }

        var certificates: [[UInt8]] = []
        var leafIndex: Int?
        for index in 0..<CNIOBoringSSLShims_sk_X509_num(stack) {
            guard let certificate = CNIOBoringSSLShims_sk_X509_value(stack, index) else { continue }
            if let key, leafIndex == nil, X509_check_private_key(certificate, key) == 1 {
                leafIndex = certificates.count
            }
            certificates.append(Self.der(of: certificate))
        }
        if let leafIndex, leafIndex != 0 {
            certificates.insert(certificates.remove(at: leafIndex), at: 0)
        }
        self.certificates = certificates
        self.privateKey = key.flatMap(Self.pkcs8)
        ERR_clear_error()
    }

    private static func der(of certificate: OpaquePointer) -> [UInt8] {
        let length = i2d_X509(certificate, nil)
        guard length > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, count in
            var pointer = buffer.baseAddress
            count = Int(i2d_X509(certificate, &pointer))
        }
    }

    private static func pkcs8(_ key: OpaquePointer) -> [UInt8]? {
        var cbb = CBB()
        guard CBB_init(&cbb, 0) == 1 else { return nil }
        defer { CBB_cleanup(&cbb) }
        guard EVP_marshal_private_key(&cbb, key) == 1 else { return nil }
        return Array(UnsafeBufferPointer(start: CBB_data(&cbb), count: CBB_len(&cbb)))
    }

    private static func lastErrorReason() -> String {
        let code = ERR_peek_last_error()
        guard code != 0, let reason = ERR_reason_error_string(code) else { return "" }
        return String(cString: reason)
    }
}

/// True when the private key (PKCS#8 or traditional DER) is the one whose public half the certificate (DER) carries.
func privateKey(_ keyDER: [UInt8], matches certificateDER: [UInt8]) -> Bool {
    let certificate = certificateDER.withUnsafeBufferPointer { buffer -> OpaquePointer? in
        var pointer = buffer.baseAddress
        return d2i_X509(nil, &pointer, buffer.count)
    }
    guard let certificate else { return false }
    defer { X509_free(certificate) }
    let key = keyDER.withUnsafeBufferPointer { buffer -> OpaquePointer? in
        var pointer = buffer.baseAddress
        return d2i_AutoPrivateKey(nil, &pointer, buffer.count)
    }
    guard let key else { return false }
    defer { EVP_PKEY_free(key) }
    let matches = X509_check_private_key(certificate, key) == 1
    ERR_clear_error()
    return matches
}
