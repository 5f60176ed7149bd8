import Foundation
import Testing

@testable import GatehouseCore

struct RateLimiterTests {
    @Test func burstIsAllowedThenLimitedWithTheExactWait() {
        let clock = ManualClock()
        let limiter = RateLimiter(burst: 3, perSecond: 0.5, clock: clock)
        #expect(limiter.check("a") == .allowed)
        #expect(limiter.check("a") == .allowed)
        #expect(limiter.check("a") == .allowed)
        // T = 2 s, τ = 4 s; TAT = 6 s, so the next request conforms at 6 − 4 = 2 s.
        #expect(limiter.check("a") == .limited(retryAfter: .seconds(2)))
        clock.advance(by: 0.5)
        #expect(limiter.check("a") == .limited(retryAfter: .milliseconds(1500)))
        #expect(limiter.check("a") == .limited(retryAfter: .milliseconds(1500)), "a limited request is not counted")
        clock.advance(by: 1.5)
        #expect(limiter.check("a") == .allowed, "exactly at retryAfter")
        #expect(limiter.check("a") == .limited(retryAfter: .seconds(2)))
    }

    @Test func retryAfterIsRoundedUpToMilliseconds() {
        #expect(RateLimitDecision.allowed.retryAfterMilliseconds == nil)
        #expect(RateLimitDecision.limited(retryAfter: .seconds(20)).retryAfterMilliseconds == 20_000)
        #expect(RateLimitDecision.limited(retryAfter: .nanoseconds(1)).retryAfterMilliseconds == 1)
        #expect(RateLimitDecision.limited(retryAfter: .nanoseconds(1_000_001)).retryAfterMilliseconds == 2)
        #expect(RateLimitDecision.limited(retryAfter: .milliseconds(1500)).retryAfterMilliseconds == 1500)
        #expect(RateLimitDecision.limited(retryAfter: .seconds(Int64.max)).retryAfterMilliseconds == Int.max)
        #expect(RateLimitDecision.limited(retryAfter: .seconds(1)).isAllowed == false)
        #expect(RateLimitDecision.allowed.isAllowed)
    }

    @Test func allowanceRefillsOverTimeUpToTheBurst() {
        let clock = ManualClock()
        let limiter = RateLimiter(burst: 4, perSecond: 1, clock: clock)
        for _ in 0..<4 { #expect(limiter.check("k") == .allowed) }
        #expect(!limiter.check("k").isAllowed)
        clock.advance(by: 2)
        #expect(limiter.check("k") == .allowed)
        #expect(limiter.check("k") == .allowed)
        #expect(limiter.check("k") == .limited(retryAfter: .seconds(1)))
        // A long pause refills only up to the burst, not beyond.
        clock.advance(by: 3600)
        for _ in 0..<4 { #expect(limiter.check("k") == .allowed) }
        #expect(limiter.check("k") == .limited(retryAfter: .seconds(1)))
        // Steady traffic at exactly the rate is always allowed.
        for _ in 0..<10 {
            clock.advance(by: 1)
            #expect(limiter.check("k") == .allowed)
            #expect(!limiter.check("k").isAllowed)
        }
    }

    @Test func keysAreIndependent() {
        let clock = ManualClock()
        let limiter = RateLimiter(burst: 1, perSecond: 0.1, clock: clock)
        #expect(limiter.check("192.0.2.1") == .allowed)
        #expect(limiter.check("192.0.2.1") == .limited(retryAfter: .seconds(10)))
        #expect(limiter.check("192.0.2.2") == .allowed)
        #expect(limiter.check("@alice:example.org") == .allowed)
        #expect(limiter.check("192.0.2.2") == .limited(retryAfter: .seconds(10)))
        clock.advance(by: 4)
        #expect(limiter.check("192.0.2.1") == .limited(retryAfter: .seconds(6)))
        #expect(limiter.keyCount == 3)
    }

    /// MAS's `test_password_login_rate_limit`: 3 attempts, the 4th is limited; 20 s later one more.
    @Test func masLoginDefaults() {
        let clock = ManualClock()
        let perIP = LoginRateLimitingConfiguration.default.perIP
        let limiter = RateLimiter(perIP, clock: clock)
        #expect(perIP == RateLimitConfiguration(burst: 3, perSecond: 0.05))
        for _ in 0..<3 { #expect(limiter.check("198.51.100.7") == .allowed) }
        let fourth = limiter.check("198.51.100.7")
        #expect(fourth == .limited(retryAfter: .seconds(20)))
        #expect(fourth.retryAfterMilliseconds == 20_000)
        clock.advance(by: 19.75)
        #expect(limiter.check("198.51.100.7") == .limited(retryAfter: .milliseconds(250)))
        clock.advance(by: 0.25)
        #expect(limiter.check("198.51.100.7") == .allowed)
        #expect(limiter.check("198.51.100.7") == .limited(retryAfter: .seconds(20)))

        let perAccount = RateLimiter(LoginRateLimitingConfiguration.default.perAccount, clock: clock)
        for _ in 0..<1800 { #expect(perAccount.check("@bob:example.org") == .allowed) }
        #expect(perAccount.check("@bob:example.org") == .limited(retryAfter: .seconds(2)))
    }

    @Test func emissionIntervalsAreExactAndSaturate() {
        #expect(RateLimitConfiguration(burst: 1, perSecond: 0.05).emissionIntervalNanoseconds == 20_000_000_000)
        #expect(RateLimitConfiguration(burst: 1, perSecond: 3.0 / 3600.0).emissionIntervalNanoseconds == 1_200_000_000_000)
        #expect(RateLimitConfiguration(burst: 1, perSecond: 1_000_000).emissionIntervalNanoseconds == 1000)
        #expect(RateLimitConfiguration(burst: 1, perSecond: 1e12).emissionIntervalNanoseconds == 1)
        #expect(RateLimitConfiguration(burst: 1, perSecond: 1e-300).emissionIntervalNanoseconds == Int64.max)
        // A rate that never refills in practice: the whole burst is granted, then the key is limited;
        // `T × burst` is capped at about 73 years so nothing overflows.
        let limiter = RateLimiter(burst: 1000, perSecond: 1e-300, clock: ManualClock())
        for _ in 0..<1000 { #expect(limiter.check("x") == .allowed) }
        #expect(limiter.check("x") == .limited(retryAfter: .nanoseconds(GCRATable.maximumWindow / 1000)))
    }

    @Test func aClockSteppingBackNeverLengthensAWait() {
        let clock = ManualClock()
        let limiter = RateLimiter(burst: 1, perSecond: 1, clock: clock)
        clock.advance(by: 10)
        #expect(limiter.check("a") == .allowed)
        clock.advance(by: -3600)
        #expect(limiter.check("a") == .limited(retryAfter: .seconds(1)), "time holds at its high-water mark")
        clock.advance(by: 3600 + 1)
        #expect(limiter.check("a") == .allowed)
    }

    @Test func recoveredKeysAreForgottenAndTheTableIsCapped() {
        let clock = ManualClock()
        let maxKeys = 2000
        let limiter = RateLimiter(burst: 2, perSecond: 1, clock: clock, maxKeys: maxKeys)
        // Many distinct keys over time: each recovers within 1 s, so sweeps keep the table small.
        for round in 0..<20 {
            for index in 0..<500 { #expect(limiter.check("r\(round)-\(index)") == .allowed) }
            clock.advance(by: 2)
        }
        #expect(limiter.keyCount <= GCRATable.minimumSweepThreshold, "\(limiter.keyCount)")

        // More keys limited at once than the cap: the table never exceeds it.
        for index in 0..<10_000 {
            _ = limiter.check("flood-\(index)")
            #expect(limiter.keyCount <= maxKeys)
        }
        #expect(limiter.keyCount <= maxKeys)
        #expect(limiter.keyCount >= maxKeys / 2, "recent keys are kept")
    }

    @Test func sweepsDropRecoveredKeysThenTheKeysClosestToRecovery() {
        let second: Int64 = 1_000_000_000
        var table = GCRATable(configuration: RateLimitConfiguration(burst: 1, perSecond: 0.1), maxKeys: 4)
        #expect(table.sweepThreshold == 4)
        // T = 10 s, τ = 0: TATs b = 10 s, c = 11 s, a = 12 s, d = 13 s.
        #expect(table.check("b", at: 0) == .allowed)
        #expect(table.check("c", at: 1 * second) == .allowed)
        #expect(table.check("a", at: 2 * second) == .allowed)
        #expect(table.check("d", at: 3 * second) == .allowed)
        #expect(table.arrivals.count == 4)
        // At 10.5 s b has recovered and is dropped, which changes no decision; nothing else is evicted.
        #expect(table.check("e", at: 10 * second + second / 2) == .allowed)
        #expect(Set(table.arrivals.keys) == ["a", "c", "d", "e"])
        #expect(table.check("b", at: 10 * second + second / 2) == .allowed, "b was recovered anyway")
        #expect(Set(table.arrivals.keys) == ["a", "d", "e", "b"], "full of limited keys: c, closest to recovery, went")
        #expect(table.check("a", at: 11 * second) == .limited(retryAfter: .seconds(1)), "a is still remembered")
        #expect(table.check("c", at: 11 * second) == .allowed, "c was forgotten (and had recovered by now)")
    }

    @Test func concurrentChecksNeverExceedTheBurst() async {
        let clock = ManualClock()
        let burst = 50
        let limiter = RateLimiter(burst: burst, perSecond: 0.001, clock: clock)
        let allowed = await withTaskGroup(of: Int.self) { group in
            for task in 0..<64 {
                group.addTask {
                    var count = 0
                    for attempt in 0..<100 {
                        if limiter.check("shared").isAllowed { count += 1 }
                        _ = limiter.check("own-\(task)-\(attempt % 3)")
                    }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == burst)
        #expect(limiter.keyCount == 1 + 64 * 3)
    }
}
