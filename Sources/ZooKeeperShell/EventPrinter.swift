import Synchronization
import ZooKeeper

/// Watch events waiting to be printed, and the rule for when they may be printed directly.
final class EventPrinter: Sendable {
    private struct State {
        /// The connection state told by the latest connection event: the client's own snapshot is updated just
        /// after the event is delivered, and a prompt redrawn for the event must already show the new state.
        var connectionState: ConnectionState?
        var printWatches = true
        var pending: [String] = []
        var commandRunning = false
    }
    private let state = Mutex(State())
    let output: any ShellOutput
    let interactive: Bool
    /// How events are printed: zkCli's `WATCHER::` blocks, or one JSON object per line.
    let format: OutputFormat
    /// Called when text is queued while the terminal's line editor owns the screen.
    let wake: Mutex<(@Sendable () -> Void)?> = Mutex(nil)

    init(output: any ShellOutput, interactive: Bool, format: OutputFormat) {
        self.output = output
        self.interactive = interactive
        self.format = format
    }

    var printWatches: Bool {
        get { state.withLock { $0.printWatches } }
        set { state.withLock { $0.printWatches = newValue } }
    }

    /// The default watcher (called on the client's event loop, in server order).
    func deliver(_ event: WatchedEvent) {
        if event.type == .none, let state = Self.connectionState(event.state) {
            self.state.withLock { $0.connectionState = state }
        }
        // Scripts get the events they asked for; connection changes are not results.
        if event.type == .none && !interactive { return }
        let text = CommandResult.event(event).rendered(as: format)
        let wakeEditor: (@Sendable () -> Void)? = state.withLock { state in
            guard state.printWatches else { return nil }
            if interactive || state.commandRunning {
                state.pending.append(text)
                return interactive ? wake.withLock { $0 } : nil
            }
            output.write(text, to: .output)
            return nil
        }
        wakeEditor?()
    }

    static func connectionState(_ state: KeeperState) -> ConnectionState? {
        switch state {
        case .syncConnected: .connected
        case .connectedReadOnly: .connectedReadOnly
        case .disconnected: .connecting
        case .expired, .closed: .closed
        case .authFailed: .authFailed
        default: nil
        }
    }

    /// The state for the prompt: the client's, unless a newer connection event has been seen.
    func promptState(_ client: ZooKeeperClient) -> ConnectionState {
        let current = client.state
        guard current.isAlive else { return current }
        return state.withLock { $0.connectionState } ?? current
    }

    /// Forgets the last connection event (a new session starts).
    func resetConnectionState() {
        state.withLock { $0.connectionState = nil }
    }

    /// Takes the queued text (for the line editor to print above the prompt).
    func takePending() -> String? {
        state.withLock { state in
            guard !state.pending.isEmpty else { return nil }
            defer { state.pending.removeAll() }
            return state.pending.joined()
        }
    }

    /// Prints what is queued, now.
    func flush() {
        if let text = takePending() { output.write(text, to: .output) }
    }

    func setCommandRunning(_ running: Bool) {
        state.withLock { $0.commandRunning = running }
    }
}
