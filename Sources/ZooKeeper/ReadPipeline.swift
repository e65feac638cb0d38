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
    }

    /// A read's answer.
    package enum Answer: Sendable {
        case children([String], Stat)
        case data([UInt8]?, Stat)
        case acl([ACL], Stat)
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
    /// once with its error, the others when the server answers (or the connection is lost).
    package func send(_ reads: [(tag: Int, path: String, read: Read)]) {
        var submissions: [SessionDriver.Machine.Submission] = []
        submissions.reserveCapacity(reads.count)
        var refused: [Arrival] = []
        let metrics = client.metrics
        let start = metrics == nil ? nil : ContinuousClock.now
        for (tag, path, read) in reads {
            do throws(ZooKeeperError) {
                try ZooKeeperPath.validate(path)
            } catch {
                refused.append((tag, .failure(error)))
                continue
            }
            let serverPath = client.serverPath(path)
            let request: ZooKeeperRequest =
                switch read {
                case .childrenWithStat: .getChildren2(PathWatchRequest(path: serverPath, watch: false))
                case .data: .getData(PathWatchRequest(path: serverPath, watch: false))
                case .acl: .getACL(PathRequest(path: serverPath))
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
        case (.success, _): .failure(ZooKeeperError(.marshallingError, path: path))
        }
    }
}
