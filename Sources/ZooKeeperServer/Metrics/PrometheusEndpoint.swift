import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `/metrics` endpoint of `metricsProvider.className=…PrometheusMetricsProvider`: the HTTP listener, and a
/// responder that reads the runtime's numbers on its loop at each scrape.
enum PrometheusEndpoint {
    static let path = "/metrics"

    /// Binds `settings.httpHost:httpPort`; the connections run on the runtime's loop.
    static func bind(_ settings: PrometheusMetricsSettings, runtime: ServerRuntime) -> EventLoopFuture<HTTPListener> {
        let exporter = PrometheusExporter()
        return HTTPListener.bind(
            host: settings.httpHost, port: settings.httpPort, idleTimeout: .seconds(30),
            eventLoopGroup: runtime.eventLoop
        ) { request in
            guard request.path == path else { return .plainText(.notFound) }
            guard request.method == .GET || request.method == .HEAD else { return .plainText(.methodNotAllowed) }
            do {
                let body = try await runtime.eventLoop.submit {
                    exporter.scrape(runtime.report(), now: runtime.clock.monotonicMilliseconds())
                }.get()
                return HTTPResponse(contentType: PrometheusExporter.contentType, body: body)
            } catch {
                return .plainText(.serviceUnavailable)
            }
        }.flatMapErrorThrowing { error in
            let reason = (error as? IOError).map { String(cString: strerror($0.errnoCode)) } ?? "\(error)"
            throw UnavailableEndpoint(
                description:
                    "cannot serve Prometheus metrics on \(settings.httpHost):\(settings.httpPort) "
                    + "(metricsProvider.httpHost, metricsProvider.httpPort): \(reason)")
        }
    }

    /// The endpoint's address cannot be bound; the server does not start, as Apache does not.
    struct UnavailableEndpoint: Error, CustomStringConvertible {
        var description: String
    }
}
