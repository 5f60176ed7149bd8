#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// An in-memory rate limiter keyed by string (a client address, an account id), with the same
/// semantics as the `governor` GCRA limiters MAS keeps per process (`crates/handlers/src/rate_limit.rs`).
///
/// A key may make `burst` requests at once; after that one more request is allowed every
/// `1 / perSecond` seconds, and unused allowance builds up again to `burst`. With MAS's login default
/// per address (`burst: 3, perSecond: 0.05`) three attempts go through, the fourth is limited with
/// `retryAfter` 20 s, and 20 s later one more is allowed. The algorithm and the memory policy are
/// described on ``GCRATable``: keys that have fully recovered are forgotten (which changes no
/// decision), and the table never holds more than `maxKeys` keys; when more keys than that are being
/// limited at once, those closest to recovery are forgotten first (fail open rather than lock out).
///
/// Time comes from the injected ``WallClock``, measured from the moment the limiter was made, at
/// nanosecond resolution. Wall clocks can step backwards (NTP); the limiter never lets its time go
/// back, so a step back only delays refilling by the size of the step and never lengthens a wait
/// already reported. State is per process and lost on restart, as in MAS.
///
/// All methods are thread-safe: one `Mutex` guards the table, and it is held only for a dictionary
/// lookup and update (a sweep, amortised O(1) per new key, runs under it too).
public final class RateLimiter: Sendable {
    /// The quota this limiter enforces.
    public let configuration: RateLimitConfiguration
    /// The most keys remembered at once.
    public let maxKeys: Int
    private let clock: any WallClock
    private let origin: Date
    private let table: Mutex<GCRATable>

    /// - Parameters:
    ///   - burst: requests a key may make at once; at least 1.
    ///   - perSecond: how many requests per second the allowance refills; more than 0, may be fractional.
    ///   - clock: the time source (``SystemClock`` in production, ``ManualClock`` in tests).
    ///   - maxKeys: the most keys kept in memory (each costs roughly the key plus 8 bytes and table
    ///     overhead); at least 1.
    public init(burst: Int, perSecond: Double, clock: any WallClock, maxKeys: Int = 100_000) {
        let configuration = RateLimitConfiguration(burst: burst, perSecond: perSecond)
        self.configuration = configuration
        self.maxKeys = maxKeys
        self.clock = clock
        self.origin = clock.now()
        self.table = Mutex(GCRATable(configuration: configuration, maxKeys: maxKeys))
    }

    /// A limiter for a configured quota.
    /// - Parameters:
    ///   - configuration: burst and refill rate, as validated by the configuration loader.
    ///   - clock: the time source.
    ///   - maxKeys: the most keys kept in memory.
    public convenience init(_ configuration: RateLimitConfiguration, clock: any WallClock, maxKeys: Int = 100_000) {
        self.init(burst: configuration.burst, perSecond: configuration.perSecond, clock: clock, maxKeys: maxKeys)
    }

    /// Decides whether one more request for `key` may go ahead now, and counts it if so.
    ///
    /// A limited request is not counted: a client that keeps retrying while limited does not push
    /// its own wait further out (as in `governor`).
    /// - Parameter key: what is limited, e.g. a normalised client address from ``ClientAddress``.
    /// - Returns: ``RateLimitDecision/allowed``, or ``RateLimitDecision/limited(retryAfter:)`` with the
    ///   time until one more request for this key would be allowed.
    public func check(_ key: String) -> RateLimitDecision {
        let time = elapsedNanoseconds()
        return table.withLock { $0.check(key, at: time) }
    }

    /// How many keys are remembered now (for metrics and tests).
    public var keyCount: Int {
        table.withLock { $0.arrivals.count }
    }

    /// Nanoseconds since the limiter was made; 0 if the clock has gone back before that.
    private func elapsedNanoseconds() -> Int64 {
        let nanoseconds = (clock.now().timeIntervalSince(origin) * 1e9).rounded()
        guard nanoseconds > 0 else { return 0 }
        return nanoseconds < 9.2e18 ? Int64(nanoseconds) : Int64.max
    }
}
