/// The quota of one rate limiter, in MAS's terms (`rate_limiting.*.{burst, per_second}`).
///
/// A key may make `burst` requests at once; after that the allowance comes back at `perSecond`
/// requests per second, up to `burst` again. `burst: 3, perSecond: 0.05` is "3 at once, then one
/// every 20 seconds".
public struct RateLimitConfiguration: Sendable, Hashable {
    /// `burst`: requests allowed at once by a key that has not been seen for a while; 1...1_000_000.
    public var burst: Int
    /// `per_second`: how fast the allowance refills, in requests per second; may be fractional, > 0.
    public var perSecond: Double

    /// - Parameters:
    ///   - burst: requests allowed at once (at least 1).
    ///   - perSecond: refill rate in requests per second (more than 0).
    public init(burst: Int, perSecond: Double) {
        self.burst = burst
        self.perSecond = perSecond
    }

    /// The time one request "costs" (GCRA's emission interval, `1 / perSecond`), in whole
    /// nanoseconds: rounded to the nearest nanosecond, at least 1 ns, and saturating at `Int64.max`
    /// for rates so slow that they never refill in practice.
    var emissionIntervalNanoseconds: Int64 {
        let nanoseconds = (1e9 / perSecond).rounded()
        guard nanoseconds.isFinite, nanoseconds < 9.2e18 else { return Int64.max }
        return max(1, Int64(nanoseconds))
    }
}
