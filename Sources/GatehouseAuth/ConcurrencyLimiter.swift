/// An async semaphore with a bounded wait queue: at most `limit` holders at a time, at most
/// `maxWaiting` callers waiting in FIFO order, and anyone beyond that is turned away at once.
///
/// It keeps a burst of logins from piling up unbounded work behind the password thread pool: callers
/// that would wait too long get ``PasswordHasherError/overloaded`` immediately and the server can
/// answer 429/503 instead of holding the connection. Waiting is cancellable.
actor ConcurrencyLimiter {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }

    private let limit: Int
    private let maxWaiting: Int
    private var holders = 0
    private var waiters: [Waiter] = []
    private var nextID: UInt64 = 0

    /// - Parameters:
    ///   - limit: permits, at least 1.
    ///   - maxWaiting: callers allowed to wait for a permit; 0 refuses whenever all permits are taken.
    init(limit: Int, maxWaiting: Int) {
        precondition(limit >= 1 && maxWaiting >= 0)
        self.limit = limit
        self.maxWaiting = maxWaiting
    }

    /// Number of permits currently held.
    var holderCount: Int { holders }
    /// Number of callers waiting for a permit.
    var waitingCount: Int { waiters.count }

    /// Takes a permit, waiting in line if all are held.
    /// - Throws: ``PasswordHasherError/overloaded`` when the line is full, `CancellationError` when the
    ///   task is cancelled while waiting.
    func acquire() async throws {
        if holders < limit {
            holders += 1
            return
        }
        guard waiters.count < maxWaiting else { throw PasswordHasherError.overloaded }
        try Task.checkCancellation()
        let id = nextID
        nextID += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters.append(Waiter(id: id, continuation: continuation))
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// Returns a permit, handing it straight to the longest waiter if there is one.
    func release() {
        if waiters.isEmpty {
            precondition(holders > 0, "release() without acquire()")
            holders -= 1
        } else {
            waiters.removeFirst().continuation.resume()
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }
}
