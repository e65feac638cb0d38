import ArgumentParser
import Dispatch
import Logging
import ZooKeeperServer
import ZooKeeperTLS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        name: .customLong("secure-port"),
        help: "A port that accepts only TLS (secureClientPort); 0 picks a free one. Needs ssl.keyStore.* in zoo.cfg.")
    var securePort: Int?

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
                let contents = try PosixFileSystem().readFile(configFile)
                text = String(decoding: contents.readableBytesView, as: UTF8.self)
            } catch {
                throw Self.fail("cannot read \(configFile): \(error)", exitCode: ExitCode.validationFailure)
            }
            do {
                let result = try ZooCfg.parse(text, base: configuration)
                configuration = result.configuration
                warnings = result.warnings
            } catch {
                throw Self.fail("\(configFile): \(error.description)", exitCode: ExitCode.validationFailure)
            }
        }
        if let port { configuration.clientPort = port }
        if let securePort {
            configuration.secureClientPort = securePort
            guard configuration.tls.keyStore != nil else {
                throw Self.fail(
                    "--secure-port needs ssl.keyStore.location in zoo.cfg (the server's certificate and key)",
                    exitCode: ExitCode.validationFailure)
            }
        }
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

        // Before anything starts: a SIGTERM from now on is never lost, whenever it comes.
        TerminationSignal.install()
        let server: ZooKeeperServer
        do {
            server = try await ZooKeeperServer.start(configuration, logger: logger)
        } catch let error as PersistenceError {
            // One line naming the file and offset; the operator decides what to do with the directory.
            logger.critical("cannot start: \(error)")
            throw ExitCode(2)
        } catch let error as TLSError {
            // One line naming the setting: a zoo.cfg that asks for TLS is never served without it.
            throw Self.fail("cannot start: \(error)")
        }
        if configuration.dataDirectory == nil {
            logger.notice("no dataDir: everything lives in memory and is gone when zkserver stops")
        }
        logger.notice("zkserver serving on \(server.connectString)")
        await TerminationSignal.wait()
        logger.notice("shutting down")
        await server.shutdown()
    }
}

extension ZKServerCommand {
    /// Writes `message` as one line on stderr and returns the exit code to throw: 64 for a bad configuration
    /// file or option, 2 for settings that cannot be honoured when the server starts.
    static func fail(_ message: String, exitCode: ExitCode = ExitCode(2)) -> ExitCode {
        FileHandleOutput.standardError("zkserver: \(message)\n")
        return exitCode
    }
}

enum FileHandleOutput {
    static func standardError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// SIGTERM and SIGINT, turned into an awaitable event through a pipe: the handler only writes a byte (safe in
/// a signal handler), so a signal that arrives at any moment after `install()` is kept until `wait()` reads it.
enum TerminationSignal {
    nonisolated(unsafe) private static var pipeEnds: (read: Int32, write: Int32) = (-1, -1)

    static func install() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        pipeEnds = (ends[0], ends[1])
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            _ = write(TerminationSignal.pipeEnds.write, &byte, 1)
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
    }

    /// Returns once SIGTERM or SIGINT has arrived (at once if one came before).
    static func wait() async {
        let readEnd = pipeEnds.read
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                var byte: UInt8 = 0
                while read(readEnd, &byte, 1) < 0 && errno == EINTR {}
                continuation.resume()
            }
        }
    }
}
