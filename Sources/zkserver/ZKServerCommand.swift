import ArgumentParser
import Dispatch
import Foundation
import Logging
import ZooKeeperServer

/// `zkserver [zoo.cfg] [--port N] [--data-dir DIR | --in-memory]`: argument parsing and wiring only.
@main
struct ZKServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zkserver",
        abstract: "A single-node ZooKeeper-compatible server.",
        discussion: """
            Reads the same zoo.cfg as Apache ZooKeeper (tickTime, dataDir, dataLogDir, clientPort, \
            maxClientCnxns, snapCount, forceSync, autopurge.*, 4lw.commands.whitelist, ...). Flags override the \
            file. With a data directory every write is acknowledged only once it is fsynced to the transaction \
            log, and a restart recovers it; see docs/on-disk-format.md. Logs go to stderr.
            """)

    @Argument(help: "A zoo.cfg file.", completion: .file(extensions: ["cfg"]))
    var configFile: String?

    @Option(name: .long, help: "The client port (clientPort); 0 picks a free one.")
    var port: Int?

    @Option(name: .long, help: "The address to listen on (clientPortAddress).")
    var host: String?

    @Option(
        name: .customLong("data-dir"), help: "The data directory (dataDir): snapshots and, by default, the log.",
        completion: .directory)
    var dataDirectory: String?

    @Flag(name: .customLong("in-memory"), help: "Keep everything in memory (no data directory).")
    var inMemory = false

    @Option(
        name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.",
        completion: .list(Logger.Level.allCases.map(\.rawValue)))
    var logLevel: String = "info"

    func run() async throws {
        var configuration = ServerConfiguration()
        configuration.tickTime = 2000
        var warnings: [String] = []
        if let configFile {
            let text: String
            do {
                text = try String(contentsOfFile: configFile, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read \(configFile): \(error.localizedDescription)")
            }
            do {
                let result = try ZooCfg.parse(text, base: configuration)
                configuration = result.configuration
                warnings = result.warnings
            } catch {
                throw ValidationError("\(configFile): \(error.description)")
            }
        }
        if let port { configuration.clientPort = port }
        if let host { configuration.clientPortAddress = host }
        if let dataDirectory { configuration.dataDirectory = dataDirectory }
        if inMemory {
            configuration.dataDirectory = nil
            configuration.dataLogDirectory = nil
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "zkserver")
        for warning in warnings { logger.warning("\(warning)") }
        if configuration.dataDirectory == nil {
            logger.notice("no dataDir: everything lives in memory and is gone when zkserver stops")
        }

        let server: ZooKeeperServer
        do {
            server = try await ZooKeeperServer.start(configuration, logger: logger)
        } catch let error as PersistenceError {
            // One line naming the file and offset; the operator decides what to do with the directory.
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        }
        logger.notice("zkserver serving on \(server.connectString)")
        await waitForTerminationSignal()
        logger.notice("shutting down")
        await server.shutdown()
    }

    /// Returns on the first SIGTERM or SIGINT.
    private func waitForTerminationSignal() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let queue = DispatchQueue(label: "zkserver.signals")
            let once = SignalOnce(continuation)
            var sources: [any DispatchSourceSignal] = []
            for number in [SIGTERM, SIGINT] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { once.fire() }
                source.resume()
                sources.append(source)
            }
            once.keep(sources)
        }
    }
}

/// Resumes the waiting task once, however many signals arrive; keeps the signal sources alive meanwhile.
private final class SignalOnce: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, Never>?
    private var sources: [any DispatchSourceSignal] = []

    init(_ continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func keep(_ sources: [any DispatchSourceSignal]) {
        lock.lock()
        self.sources = sources
        lock.unlock()
    }

    func fire() {
        lock.lock()
        let pending = continuation
        continuation = nil
        lock.unlock()
        pending?.resume()
    }
}
