import NIOCore
import NIOSSL
import ZooKeeperProtocol

/// Builds a client connection's pipeline from small handlers, each doing one thing:
///
/// ```
/// plaintext port   FourLetterWord → FrameDecoder → Connection
/// TLS-only port    NIOSSLServer → TLSHandshake → FourLetterWord → FrameDecoder → Connection
/// unified port     TLSDetection → FourLetterWord → FrameDecoder → Connection
///                  (TLSDetection puts NIOSSLServer → TLSHandshake in its place when the first byte is 0x16)
/// ```
enum ConnectionPipeline {
    enum PortKind {
        case plaintext
        case tls(NIOSSLContext)
        /// Plaintext, and TLS when the first byte says so (`client.portUnification`).
        case unified(NIOSSLContext)
    }

    static func configure(
        _ channel: any Channel, kind: PortKind, runtime: ServerRuntime, handshakeTimeout: TimeAmount
    ) throws {
        let operations = channel.pipeline.syncOperations
        func tlsHandlers(_ context: NIOSSLContext) -> [any ChannelHandler] {
            [
                NIOSSLServerHandler(context: context),
                TLSHandshakeHandler(timeout: handshakeTimeout, logger: runtime.logger),
            ]
        }
        switch kind {
        case .plaintext:
            break
        case .tls(let context):
            try operations.addHandlers(tlsHandlers(context))
        case .unified(let context):
            try operations.addHandler(TLSDetectionHandler { tlsHandlers(context) })
        }
        try operations.addHandlers([
            FourLetterWordHandler { [runtime] word, channel in runtime.fourLetterWordText(word, on: channel) },
            ByteToMessageHandler(ZooKeeperFrameDecoder(maximumFrameLength: runtime.configuration.packetLimit)),
            ConnectionHandler(runtime: runtime),
        ])
    }
}
