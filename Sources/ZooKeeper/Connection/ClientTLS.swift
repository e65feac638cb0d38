import NIOCore
import NIOSSL
import NIOTLS
import ZooKeeperProtocol
import ZooKeeperTLS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The client's TLS, prepared once: the stores are read when the client is made, and every connection gets a
/// handler from the same context.
struct ClientTLS: Sendable {
    let context: NIOSSLContext
    /// Whether a client certificate is offered to servers that ask for one.
    let offersCertificate: Bool

    init(settings: TLSSettings) throws(ZooKeeperError) {
        do {
            let configuration = try settings.makeClientConfiguration()
            offersCertificate = !configuration.certificateChain.isEmpty
            do {
                context = try NIOSSLContext(configuration: configuration)
            } catch {
                throw ZooKeeperError(.tlsConfiguration, message: "TLS settings cannot be used: \(error)")
            }
        } catch let error as TLSError {
            throw ZooKeeperError(.tlsConfiguration, message: error.message)
        } catch let error as ZooKeeperError {
            throw error
        } catch {
            throw ZooKeeperError(.tlsConfiguration, message: "TLS settings cannot be used: \(error)")
        }
    }

    /// The TLS handler for a connection to `host`: SNI and hostname verification use the host of the connect
    /// string when it is a name; an IP address is checked against the certificate's IP addresses (swift-nio-ssl
    /// takes the peer's address when no name is given).
    func makeHandler(for host: HostAndPort) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: Self.isIPAddress(host.host) ? nil : host.host)
    }

    static func isIPAddress(_ host: String) -> Bool {
        var address4 = in_addr()
        var address6 = in6_addr()
        return inet_pton(AF_INET, host, &address4) == 1 || inet_pton(AF_INET6, host, &address6) == 1
    }
}

/// Follows one connection's TLS handshake and says, when it fails, why: the driver turns that into the error a
/// caller waiting for a connection sees. Sits right after the TLS handler.
final class TLSHandshakeObserver: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let host: HostAndPort
    private let offersCertificate: Bool
    private let report: (Result<Void, ZooKeeperError>) -> Void
    /// The server's certificate, when BoringSSL rejected it (read from the TLS handler as the failure arrives).
    private var rejectedCertificate: NIOSSLCertificate?
    private var reported = false

    /// `report` is called once, on the event loop: success when the handshake completes, the reason when it fails.
    init(host: HostAndPort, offersCertificate: Bool, report: @escaping (Result<Void, ZooKeeperError>) -> Void) {
        self.host = host
        self.offersCertificate = offersCertificate
        self.report = report
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, !reported {
            reported = true
            report(.success(()))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !reported {
            reported = true
            rejectedCertificate = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                .peerCertificate
            report(.failure(explain(error)))
        } else if let reason = rejectionAfterHandshake(error) {
            // TLS 1.3: the server checks the client's certificate after the client has finished its handshake.
            report(.failure(reason))
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !reported {
            reported = true
            report(.failure(notTLS()))
        }
        context.fireChannelInactive()
    }

    private func explain(_ error: any Error) -> ZooKeeperError {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return ZooKeeperError(
                .tlsHostnameMismatch,
                message: "TLS: the certificate of \(host) is not valid for the name '\(host.host)'")
        }
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            if let certificate = rejectedCertificate {
                let now = time(nil)
                if certificate.notValidAfter < now {
                    return ZooKeeperError(
                        .tlsCertificateExpired,
                        message: "TLS: the certificate of \(host) (\(Self.name(of: certificate))) has expired")
                }
                if certificate.notValidBefore > now {
                    return ZooKeeperError(
                        .tlsCertificateExpired,
                        message: "TLS: the certificate of \(host) (\(Self.name(of: certificate))) is not valid yet")
                }
                return ZooKeeperError(
                    .tlsUntrustedCertificate,
                    message:
                        "TLS: the certificate of \(host) (\(Self.name(of: certificate))) is not signed by a CA of the trust store"
                )
            }
            return ZooKeeperError(
                .tlsUntrustedCertificate, message: "TLS: the certificate of \(host) is not trusted")
        }
        if let reason = rejectionAfterHandshake(error) { return reason }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("eofDuringHandshake")
            || text.contains("EOF during handshake") || error as? NIOSSLError == .uncleanShutdown
        {
            return notTLS()
        }
        return ZooKeeperError(.tlsHandshakeFailed, message: "TLS: the handshake with \(host) failed: \(text)")
    }

    /// The alerts a server sends when it wants a client certificate it did not get (or does not accept).
    private func rejectionAfterHandshake(_ error: any Error) -> ZooKeeperError? {
        let text = String(describing: error)
        let alerts = [
            "CERTIFICATE_REQUIRED", "ALERT_BAD_CERTIFICATE", "ALERT_HANDSHAKE_FAILURE", "ALERT_UNKNOWN_CA",
            "ALERT_CERTIFICATE_UNKNOWN",
        ]
        guard alerts.contains(where: text.contains) else { return nil }
        if offersCertificate {
            return ZooKeeperError(
                .tlsClientCertificateRequired,
                message: "TLS: \(host) refused our client certificate (\(Self.alertName(text)))")
        }
        return ZooKeeperError(
            .tlsClientCertificateRequired,
            message: "TLS: \(host) requires a client certificate; configure a key store")
    }

    private func notTLS() -> ZooKeeperError {
        ZooKeeperError(
            .tlsServerNotTLS,
            message: "TLS: \(host) closed the connection during the TLS handshake; is it a plaintext port?")
    }

    private static func alertName(_ text: String) -> String {
        for alert in [
            "CERTIFICATE_REQUIRED", "BAD_CERTIFICATE", "HANDSHAKE_FAILURE", "UNKNOWN_CA", "CERTIFICATE_UNKNOWN",
        ]
        where text.contains(alert) {
            return alert.lowercased()
        }
        return "alert"
    }

    /// `CN=localhost, issued by CN=Some CA`: what an operator compares with the stores.
    private static func name(of certificate: NIOSSLCertificate) -> String {
        func commonName(_ names: [SSLCertificateName]) -> String {
            names.first { $0.type == .commonName }.map { "CN=\($0.value)" } ?? "no CN"
        }
        return "\(commonName(certificate.subjectName)), issued by \(commonName(certificate.issuerName))"
    }
}

@available(*, unavailable)
extension TLSHandshakeObserver: Sendable {}
