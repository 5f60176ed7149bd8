#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The wall clock, injected so that expiry logic is tested with a controlled time (no `Date()` in
/// handlers or storage).
public protocol WallClock: Sendable {
    /// The current time.
    func now() -> Date
}

/// The real clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to, for tests.
public final class ManualClock: WallClock {
    private let current: Mutex<Date>

    /// - Parameter start: the initial time.
    public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.current = Mutex(start)
    }

    public func now() -> Date {
        current.withLock { $0 }
    }

    /// Moves the clock forward.
    /// - Parameter seconds: how far.
    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}
