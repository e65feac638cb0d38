import ZooKeeperProtocol

/// Request latency in milliseconds: min / average / max, as `srvr` and `mntr` report them.
struct LatencyStatistics {
    private(set) var minimum: Int64 = 0
    private(set) var maximum: Int64 = 0
    private(set) var total: Int64 = 0
    private(set) var count: Int64 = 0

    mutating func record(_ latency: Int64) {
        if count == 0 || latency < minimum { minimum = latency }
        if latency > maximum { maximum = latency }
        total += latency
        count += 1
    }

    /// Apache's figure: the mean rounded to four decimals, printed as Java prints a double (`0.0`, `8.8333`).
    var averageText: String { JSONValue.double(average).text }

    /// The mean rounded to four decimals, as a number (the AdminServer's `avg_latency`).
    var average: Double {
        guard count > 0 else { return 0 }
        return (Double(total) / Double(count) * 10_000).rounded() / 10_000
    }

    /// The mean rounded down, as `cons` prints `avglat`.
    var averageWhole: Int64 { count > 0 ? total / count : 0 }

    mutating func reset() { self = LatencyStatistics() }
}

/// Server-wide counters for the four-letter words.
struct ServerStatistics {
    var packetsReceived: Int64 = 0
    var packetsSent: Int64 = 0
    var latency = LatencyStatistics()
    var authFailures: Int64 = 0
    var bytesReceived: Int64 = 0
    /// Reply sizes in bytes; -1 until a reply has gone out, as Apache reports them.
    var lastResponseSize: Int = -1
    var minimumResponseSize: Int = -1
    var maximumResponseSize: Int = -1
    /// Bytes of every reply (`response_bytes`).
    var responseBytes: Int64 = 0
    var rejectedConnections: Int64 = 0
    /// Connections accepted (`connection_request_count`), those the client closed (`connection_drop_count`), and
    /// those closed for sending no ConnectRequest in time (`sessionless_connections_expired`).
    var acceptedConnections: Int64 = 0
    var clientDisconnects: Int64 = 0
    var sessionlessConnectionsExpired: Int64 = 0
    /// Sessions ended because their client went quiet for longer than the timeout (`stale_sessions_expired`).
    var expiredSessions: Int64 = 0
    /// TLS handshakes that failed (`unsuccessful_handshake`), and those of them that ran out of time
    /// (`tls_handshake_exceeded`).
    var failedHandshakes: Int64 = 0
    var timedOutHandshakes: Int64 = 0
    /// Requests by opcode since the start (`srst` leaves them: Prometheus counters only grow).
    var requestsByOpCode: [OpCode: Int64] = [:]
    /// Apache's `readlatency` and `updatelatency`: ms from a request's arrival to its reply, for requests that
    /// do not and that do go through the transaction log (Apache's quorum requests).
    var readLatency = QuantileSummary()
    var updateLatency = QuantileSummary()
    /// Apache's `fsynctime`: ms to write and fsync one batch of the transaction log.
    var fsyncTime = QuantileSummary()
    /// Apache's `snapshottime`: ms to write one snapshot, from its start until it is in place.
    var snapshotTime = QuantileSummary()
    /// Apache's `sync_processor_batch_size`: the transactions one fsync of the log made durable.
    var syncBatchSize = QuantileSummary()
    /// Plaintext connections accepted from a loopback address and from any other, which Apache's Netty connection
    /// factory counts as `non_mtls_local_conn_count` and `non_mtls_remote_conn_count` (`srst` leaves them).
    var plaintextLocalConnections: Int64 = 0
    var plaintextRemoteConnections: Int64 = 0

    mutating func recordResponse(size: Int) {
        lastResponseSize = size
        if minimumResponseSize < 0 || size < minimumResponseSize { minimumResponseSize = size }
        if size > maximumResponseSize { maximumResponseSize = size }
        responseBytes += Int64(size)
    }

    /// `srst`: latency, packet counts, reply sizes and `mntr`'s summaries start again (the Prometheus counts and
    /// sums keep growing).
    mutating func reset(at now: Int64) {
        packetsReceived = 0
        packetsSent = 0
        latency.reset()
        readLatency.restartMonitorFigures(at: now)
        updateLatency.restartMonitorFigures(at: now)
        fsyncTime.restartMonitorFigures(at: now)
        snapshotTime.restartMonitorFigures(at: now)
        syncBatchSize.restartMonitorFigures(at: now)
        lastResponseSize = -1
        minimumResponseSize = -1
        maximumResponseSize = -1
    }
}

/// Per-connection counters for `cons` and `stat`.
struct ConnectionStatistics {
    var packetsReceived: Int64 = 0
    var packetsSent: Int64 = 0
    var latency = LatencyStatistics()
    /// Wall-clock ms when the session was established on this connection.
    var established: Int64 = 0
    var lastOperation = "NA"
    var lastXid: Int32 = -1
    var lastZxid: Int64 = -1
    /// Monotonic ms of the last reply.
    var lastResponseTime: Int64 = 0
    var lastLatency: Int64 = 0

    /// `crst`: counters start again (the connection's identity stays).
    mutating func reset() {
        packetsReceived = 0
        packetsSent = 0
        latency.reset()
        lastOperation = "NA"
        lastXid = -1
        lastZxid = -1
        lastResponseTime = 0
        lastLatency = 0
    }
}

extension OpCode {
    /// Whether Apache counts the request in `updatelatency` (its quorum requests: those that change the state);
    /// every other request, pings included, counts in `readlatency`.
    var goesThroughLog: Bool {
        switch self {
        case .create, .create2, .createTTL, .createContainer, .delete, .deleteContainer, .setData, .setACL, .check,
            .multi, .reconfig, .createSession, .closeSession, .error:
            true
        default:
            false
        }
    }
}
