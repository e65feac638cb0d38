import ServiceLifecycle

extension ZooKeeperClient: Service {
    /// Keeps the session for the life of a `ServiceGroup`: returns after graceful shutdown (or cancellation of
    /// the calling task), having closed the session, so that the server deletes its ephemeral nodes at once
    /// instead of when the session times out.
    ///
    /// The client connects when it is made, not when `run()` starts; other services may use it as soon as
    /// they have it. Once the shutdown begins, the close waits for calls still in flight to be answered.
    ///
    /// - Throws: the session's end when it ends on its own: `ZooKeeperError.Code.sessionExpired` or
    ///   `ZooKeeperError.Code.authFailed`, so that the group sees the failure. Returns normally when the
    ///   program closed the client itself.
    public func run() async throws {
        let driver = self.driver
        await withTaskCancellationOrGracefulShutdownHandler {
            await withUnsafeContinuation { continuation in driver.waitUntilEnded(continuation: continuation) }
        } onCancelOrGracefulShutdown: {
            driver.stopWaitingForEnd()
        }
        if let reason = await driver.sessionEndReason() { throw reason }
        await close()
    }
}
