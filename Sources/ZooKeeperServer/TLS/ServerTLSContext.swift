import NIOSSL
import ZooKeeperTLS

/// Builds the TLS context of the TLS ports from the `ssl.*` settings (the stores are read now), or says in one
/// line why it cannot.
enum ServerTLSContext {
    static func make(_ settings: TLSSettings) throws(TLSError) -> NIOSSLContext {
        let configuration = try settings.makeServerConfiguration()
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSError(.invalidSetting, "ssl.keyStore.location: the TLS context cannot be built: \(error)")
        }
    }
}
