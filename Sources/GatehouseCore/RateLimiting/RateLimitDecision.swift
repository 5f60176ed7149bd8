/// The answer of a ``RateLimiter`` for one request.
public enum RateLimitDecision: Sendable, Equatable {
    /// The request conforms; it has been counted.
    case allowed
    /// The request does not conform and was not counted.
    ///
    /// `retryAfter` is the time from the check until one more request for the same key would be
    /// allowed (if nothing else is counted meanwhile). It is what Matrix calls `retry_after_ms`
    /// on `429 M_LIMIT_EXCEEDED`; use ``retryAfterMilliseconds`` for that field.
    case limited(retryAfter: Duration)

    /// Whether the request may go ahead.
    public var isAllowed: Bool {
        if case .allowed = self { return true }
        return false
    }

    /// The wait as whole milliseconds for Matrix `retry_after_ms`, rounded **up** so that a client
    /// that waits exactly this long is allowed; `nil` when allowed.
    public var retryAfterMilliseconds: Int? {
        guard case .limited(let retryAfter) = self else { return nil }
        let (seconds, attoseconds) = retryAfter.components
        let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000
        let (wholeMilliseconds, remainder) = attoseconds.quotientAndRemainder(dividingBy: attosecondsPerMillisecond)
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow else { return Int.max }
        let total = milliseconds.partialValue.addingReportingOverflow(wholeMilliseconds + (remainder > 0 ? 1 : 0))
        return total.overflow ? Int.max : Int(total.partialValue)
    }
}
