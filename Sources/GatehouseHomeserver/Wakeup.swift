import Synchronization

/// Lets one waiting task sleep until it is signalled or a timeout passes. A signal sent while
/// nobody waits is kept, so the next wait returns at once: a job queued while the runner is busy
/// is not left for the next poll.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: (id: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var lastId: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Wakes the waiter, or the next one to wait.
    func signal() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        continuation?.resume()
    }

    /// Returns when signalled, after `timeout`, or when the task is cancelled. One waiter at a time.
    /// - Parameter timeout: the longest wait.
    func wait(timeout: Duration) async {
        let signalled = state.withLock { state in
            defer { state.pending = false }
            return state.pending
        }
        if signalled || Task.isCancelled { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForSignal() }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        let id = state.withLock { state in
            state.lastId += 1
            return state.lastId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Under the lock: either cancellation is already visible here, or the cancellation
                // handler runs later and finds the stored continuation.
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    precondition(state.waiter == nil, "Wakeup supports one waiter at a time")
                    state.waiter = (id, continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            continuation?.resume()
        }
    }
}
