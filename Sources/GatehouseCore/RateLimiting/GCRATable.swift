/// The state of a keyed GCRA limiter, with no clock and no lock: ``RateLimiter`` feeds it the time
/// and serialises access. Pure, so every decision can be tested with exact numbers.
///
/// ## Algorithm
/// The Generic Cell Rate Algorithm (ITU-T I.371), in the "virtual scheduling" form used by the Rust
/// `governor` crate that MAS uses. With the emission interval `T = 1 / per_second` and the tolerance
/// `τ = T × (burst − 1)`, each key remembers one number, its *theoretical arrival time* (TAT). A
/// request at time `t` conforms when `t ≥ TAT − τ`; it then moves the TAT to `max(TAT, t) + T`.
/// A key that is not in the table behaves as if `TAT = t`. So a fresh key gets exactly `burst`
/// requests at `t`, and after that one more every `T`. A request that does not conform changes
/// nothing, and the wait until one would conform is `TAT − τ − t`.
///
/// ## Memory
/// A key whose TAT is at or before now is in exactly the state of a key never seen (`max(TAT, t) = t`),
/// so dropping it changes no decision; that is what `governor`'s `retain_recent` does in MAS. The
/// table drops such keys in a *sweep*, which runs only when a new key is about to be added and the
/// table has reached ``sweepThreshold``. After a sweep the threshold becomes twice the keys left
/// (at least ``minimumSweepThreshold``, at most `maxKeys`), so sweeping costs amortised O(1) per new key.
///
/// If more than three quarters of `maxKeys` are left after dropping recovered keys (that many keys are
/// being limited at once, e.g. an attacker spreads over very many addresses), the sweep also forgets
/// the keys whose TAT is earliest (those closest to full recovery) until a quarter of `maxKeys` is
/// free, so the next sweep is again at least `maxKeys / 4` new keys away.
/// A forgotten key starts again with a full burst. This fails open for those keys, on purpose:
/// refusing unknown keys instead would let an attacker lock every legitimate user out by filling the
/// table. Memory stays at most `maxKeys` entries.
struct GCRATable {
    /// `T`: nanoseconds one request costs.
    let emissionInterval: Int64
    /// `τ`: how far ahead of now a TAT may be and still let a request through (`T × (burst − 1)`).
    let tolerance: Int64
    /// The most keys kept.
    let maxKeys: Int
    /// TAT per key, in nanoseconds on the caller's time line.
    private(set) var arrivals: [String: Int64] = [:]
    /// Adding a new key when `arrivals.count` has reached this runs a sweep first.
    private(set) var sweepThreshold: Int
    /// The latest time seen, so that a clock stepping backwards cannot make a key wait longer.
    private var latest: Int64 = 0

    /// The longest `T × burst`, in nanoseconds (`Int64.max / 4`, about 73 years).
    static let maximumWindow = Int64.max / 4

    /// Below this many keys the table does not bother to sweep.
    static let minimumSweepThreshold = 1024

    /// - Parameters:
    ///   - configuration: burst and refill rate (already validated: burst ≥ 1, rate > 0).
    ///   - maxKeys: the most keys kept (≥ 1).
    init(configuration: RateLimitConfiguration, maxKeys: Int) {
        precondition(configuration.burst >= 1, "burst must be at least 1")
        precondition(configuration.perSecond > 0 && configuration.perSecond.isFinite, "perSecond must be more than 0")
        precondition(maxKeys >= 1, "maxKeys must be at least 1")
        // Keep `T × burst` (the whole window a key can be remembered for) within about 73 years, so
        // no TAT arithmetic can overflow. Only rates slower than `burst` per 73 years are affected.
        let emissionInterval = min(configuration.emissionIntervalNanoseconds, Self.maximumWindow / Int64(configuration.burst))
        self.emissionInterval = emissionInterval
        tolerance = emissionInterval * Int64(configuration.burst - 1)
        self.maxKeys = maxKeys
        sweepThreshold = min(maxKeys, Self.minimumSweepThreshold)
    }

    /// Decides one request for `key` at `time` and counts it when allowed.
    /// - Parameters:
    ///   - key: what is limited (a client address, an account id).
    ///   - time: nanoseconds on a time line that starts at or after 0; earlier than a previous call
    ///     counts as that previous time.
    mutating func check(_ key: String, at time: Int64) -> RateLimitDecision {
        let now = max(time, latest)
        latest = now
        if let index = arrivals.index(forKey: key) {
            let arrival = arrivals.values[index]
            // arrival ≥ 0 and tolerance ≥ 0, so this cannot overflow.
            let earliest = arrival - tolerance
            if now < earliest {
                return .limited(retryAfter: .nanoseconds(earliest - now))
            }
            arrivals.values[index] = Self.saturatingAdd(max(arrival, now), emissionInterval)
            return .allowed
        }
        if arrivals.count >= sweepThreshold {
            sweep(now: now)
        }
        arrivals[key] = Self.saturatingAdd(now, emissionInterval)
        return .allowed
    }

    /// Drops recovered keys and, when still full, the keys closest to recovery; then sets the next
    /// threshold. Leaves room for at least one new key.
    /// - Parameter now: the current time.
    mutating func sweep(now: Int64) {
        arrivals = arrivals.filter { $0.value > now }
        let keep = min(maxKeys - 1, maxKeys - maxKeys / 4)
        if arrivals.count > keep {
            let latestFirst = arrivals.sorted { $0.value > $1.value }
            arrivals = Dictionary(uniqueKeysWithValues: latestFirst.prefix(keep).map { ($0.key, $0.value) })
        }
        let doubled = arrivals.count.multipliedReportingOverflow(by: 2)
        sweepThreshold = min(maxKeys, max(Self.minimumSweepThreshold, doubled.overflow ? Int.max : doubled.partialValue))
    }

    private static func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
        let sum = a.addingReportingOverflow(b)
        return sum.overflow ? Int64.max : sum.partialValue
    }
}
