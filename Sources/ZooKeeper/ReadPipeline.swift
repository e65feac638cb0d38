import NIOConcurrencyHelpers
import NIOCore
import ZooKeeperProtocol

/// Reads kept in flight by the hundred without a task or an await each: `send` hands a batch of reads to the
/// client in one hop onto its event loop, and `arrivals` gives back the answers that came in since it was last
/// asked, each with the tag it was sent with. For the shell's walks, which keep a window of reads in flight over
/// a whole tree; a task and a continuation per read cost more than the read itself at 100,000 znodes.
///
/// One consumer: `arrivals` is called from one task at a time.
package final class ReadPipeline: Sendable {
    /// What to read of a znode.
    package enum Read: Sendable {
        /// getChildren2: the children's names and the znode's Stat.
        case childrenWithStat
        /// getData.
        case data
        /// getACL.
        case acl
        /// multiRead (Apache 3.6 and later): several getChildren and getData in one request, each answered on its
        /// own (a znode that cannot be read gets an `.error` result, the others are read). The server's work per
        /// request, not per read, is what bounds a walk on Apache: a window of reads costs a few requests.
        case several([ZooKeeperClient.ReadOperation])
        /// A multi of writes (deleteall's batches of deletes): answered in the order sent, like every request of a
        /// session, so that a batch can go out before the one ahead of it is answered.
        case writes([ZooKeeperClient.Operation])
    }

    /// A read's answer.
    package enum Answer: Sendable {
        case children([String], Stat)
        case data([UInt8]?, Stat)
        case acl([ACL], Stat)
        /// A multiRead's results, one per read in the order asked.
        case results([MultiResult])
        /// A multi of writes that succeeded.
        case written
    }

    package typealias Arrival = (tag: Int, result: Result<Answer, ZooKeeperError>)

    private struct State {
        var arrived: [Arrival] = []
        var waiter: UnsafeContinuation<Void, Never>?
        var cancelled = false
    }

    private let client: ZooKeeperClient
    private let state = NIOLockedValueBox(State())

    package init(client: ZooKeeperClient) {
        self.client = client
    }

    /// Sends `reads` at once, in order. Every one is answered through `arrivals` with its tag: an invalid path at
    /// once with its error, the others when the server answers (or the connection is lost). `path` names the read
    /// in its errors (for `several` and `writes`, whose paths are their operations').
    ///
    /// `session`, when given, sends them on another session to the same servers and chroot (a walk spreads its
    /// reads over a few sessions, as Apache serves each session's requests one after another); their answers
    /// arrive with the others'.
    package func send(_ reads: [(tag: Int, path: String, read: Read)], on session: ZooKeeperClient? = nil) {
        let client = session ?? self.client
        var submissions: [SessionDriver.Machine.Submission] = []
        submissions.reserveCapacity(reads.count)
        var refused: [Arrival] = []
        let metrics = client.metrics
        let start = metrics == nil ? nil : ContinuousClock.now
        for (tag, path, read) in reads {
            let request: ZooKeeperRequest
            do throws(ZooKeeperError) {
                request = try Self.request(read, path, client)
            } catch {
                refused.append((tag, .failure(error)))
                continue
            }
            let completion = SessionDriver.Completion.handler { [self] result in
                if let metrics, let start { metrics.requestFinished(request.opCode, since: start, result) }
                arrive((tag, Self.answer(result, read, path)))
            }
            submissions.append(.init(request: request, token: completion, clientPath: path, watch: nil, removal: nil))
        }
        for arrival in refused { arrive(arrival) }
        if !submissions.isEmpty { client.driver.submit(submissions) }
    }

    /// The answers that arrived since the last call, in the order they arrived; waits for one when none has.
    /// Returns at once (possibly nothing) when the calling task is cancelled. The caller must have reads in
    /// flight, else it waits for ever.
    package func arrivals() async -> [Arrival] {
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                let ready = state.withLockedValue { state in
                    if !state.arrived.isEmpty || state.cancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
            return state.withLockedValue { state in
                defer { state.arrived.removeAll(keepingCapacity: true) }
                return state.arrived
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in
                state.cancelled = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    private static func request(
        _ read: Read, _ path: String, _ client: ZooKeeperClient
    ) throws(ZooKeeperError) -> ZooKeeperRequest {
        switch read {
        case .childrenWithStat:
            try ZooKeeperPath.validate(path)
            return .getChildren2(PathWatchRequest(path: client.serverPath(path), watch: false))
        case .data:
            try ZooKeeperPath.validate(path)
            return .getData(PathWatchRequest(path: client.serverPath(path), watch: false))
        case .acl:
            try ZooKeeperPath.validate(path)
            return .getACL(PathRequest(path: client.serverPath(path)))
        case .several(let operations):
            return .multiRead(MultiRequest(try client.wireOperations(operations)))
        case .writes(let operations):
            return .multi(MultiRequest(try client.wireOperations(operations)))
        }
    }

    private func arrive(_ arrival: Arrival) {
        let waiter = state.withLockedValue { state in
            state.arrived.append(arrival)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    private static func answer(
        _ result: Result<ZooKeeperResponse, ZooKeeperError>, _ read: Read, _ path: String
    ) -> Result<Answer, ZooKeeperError> {
        switch (result, read) {
        case (.failure(let error), _): .failure(error)
        case (.success(.childrenAndStat(let children, let stat)), .childrenWithStat):
            .success(.children(children, stat))
        case (.success(.data(let data, let stat)), .data): .success(.data(data, stat))
        case (.success(.acl(let acl, let stat)), .acl): .success(.acl(acl, stat))
        case (.success(.multi(let multi)), .several): .success(.results(multi.results))
        case (.success(.multi(let multi)), .writes(let operations)):
            if let (index, code) = multi.firstError {
                .failure(ZooKeeperError(code, path: operations[index].path, multiResults: multi.results))
            } else {
                .success(.written)
            }
        case (.success, _): .failure(ZooKeeperError(.marshallingError, path: path))
        }
    }
}
