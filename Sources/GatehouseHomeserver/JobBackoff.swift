/// When a failed job is tried again: `base`, then twice as long after every further failure, never
/// longer than `cap`.
public struct JobBackoff: Sendable, Equatable {
    /// The wait after the first failure.
    public var base: Duration
    /// The longest wait.
    public var cap: Duration

    /// - Parameters:
    ///   - base: the wait after the first failure; more than zero, so a failed job is never due again
    ///     in the round that failed it.
    ///   - cap: the longest wait.
    public init(base: Duration, cap: Duration) {
        precondition(base > .zero && cap >= base, "a job backoff needs 0 < base ≤ cap")
        self.base = base
        self.cap = cap
    }

    /// For errors that may go away by themselves (Synapse down, 5xx): 1 s, 2 s, 4 s, … 5 min.
    public static let transient = JobBackoff(base: .seconds(1), cap: .seconds(300))
    /// For errors that need someone to act (wrong secret, unknown user, unreadable job): 1 min,
    /// 2 min, … 1 h. Such jobs are kept and retried, never dropped.
    public static let permanent = JobBackoff(base: .seconds(60), cap: .seconds(3600))

    /// The wait before the next attempt.
    /// - Parameter failures: how many attempts have failed, counting the one just made (≥ 1).
    public func delay(afterFailures failures: Int) -> Duration {
        var delay = base
        for _ in 1..<max(1, min(failures, 64)) {
            delay = delay * 2
            if delay >= cap { return cap }
        }
        return min(delay, cap)
    }
}
