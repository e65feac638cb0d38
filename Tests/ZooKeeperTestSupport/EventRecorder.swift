import Foundation

/// Consumes an async sequence in the background and lets a test wait for its elements, each wait bounded.
///
/// `next(within:)` resumes as soon as an element arrives (no polling); the bound only limits how long a
/// broken expectation can hang a test.
public final class EventRecorder<Element: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer: [Element] = []
    private var readIndex = 0
    private var finished = false
    private var waiter: CheckedContinuation<Element?, Never>?
    private var consumer: Task<Void, Never>?

    public init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == Element {
        consumer = Task { [weak self] in
            do {
                for try await element in sequence {
                    guard let self else { return }
                    self.append(element)
                }
            } catch {}
            self?.finish()
        }
    }

    deinit {
        consumer?.cancel()
    }

    private func append(_ element: Element) {
        lock.lock()
        if let waiter {
            self.waiter = nil
            readIndex += 1
            buffer.append(element)
            lock.unlock()
            waiter.resume(returning: element)
            return
        }
        buffer.append(element)
        lock.unlock()
    }

    private func finish() {
        lock.lock()
        finished = true
        let waiter = self.waiter
        self.waiter = nil
        lock.unlock()
        waiter?.resume(returning: nil)
    }

    /// Everything received so far, read or not.
    public var all: [Element] {
        lock.lock()
        defer { lock.unlock() }
        return buffer
    }

    /// Whether the sequence has ended and every element was read.
    public var isFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finished && readIndex == buffer.count
    }

    /// The next unread element; nil if none arrives within `timeout` or the sequence ended.
    public func next(within timeout: Duration = .seconds(15)) async -> Element? {
        await withTaskGroup(of: Element?.self) { group in
            group.addTask { await self.waitForNext() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// The next unread element that satisfies `predicate`, skipping others; nil on timeout or end.
    public func next(
        within timeout: Duration = .seconds(15), where predicate: (Element) -> Bool
    ) async -> Element? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, let element = await next(within: remaining) else { return nil }
            if predicate(element) { return element }
        }
    }

    private func waitForNext() async -> Element? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                register(continuation)
            }
        } onCancel: {
            cancelWaiter()
        }
    }

    private func register(_ continuation: CheckedContinuation<Element?, Never>) {
        lock.lock()
        if Task.isCancelled {
            lock.unlock()
            continuation.resume(returning: nil)
        } else if readIndex < buffer.count {
            let element = buffer[readIndex]
            readIndex += 1
            lock.unlock()
            continuation.resume(returning: element)
        } else if finished {
            lock.unlock()
            continuation.resume(returning: nil)
        } else {
            precondition(waiter == nil, "one waiter at a time")
            waiter = continuation
            lock.unlock()
        }
    }

    private func cancelWaiter() {
        lock.lock()
        let waiter = self.waiter
        self.waiter = nil
        lock.unlock()
        waiter?.resume(returning: nil)
    }
}
