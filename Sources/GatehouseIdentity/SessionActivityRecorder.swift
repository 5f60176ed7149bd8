#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage
import Synchronization

/// "Session last used at / from", collected in memory on the hot path and written in batches by
/// ``SessionActivityFlusher``: the edge token check and the pages record a use with one lock and one
/// dictionary write, and the store sees one transaction per flush interval, never a write per request.
///
/// Each session keeps only its latest use, so memory grows with the sessions active within one
/// interval, not with requests. Past ``maximumPending`` sessions, uses of further sessions are
/// dropped until the next flush (the timestamps are informational; nothing is decided on them).
public final class SessionActivityRecorder: Sendable {
    /// The most sessions held between two flushes.
    public static let defaultMaximumPending = 65_536

    private struct Pending {
        var entries: [String: SessionActivity] = [:]
    }

    private let pending = Mutex(Pending())
    private let maximumPending: Int

    /// - Parameter maximumPending: the most sessions held between two flushes.
    public init(maximumPending: Int = defaultMaximumPending) {
        self.maximumPending = maximumPending
    }

    /// Records a use of a session.
    /// - Parameters:
    ///   - kind: compat, OAuth 2.0 or browser session.
    ///   - sessionId: the session.
    ///   - at: the time of the use.
    ///   - address: the client address, when known (`nil` keeps the last known one).
    public func record(_ kind: SessionActivity.Kind, sessionId: String, at: Date, address: String?) {
        pending.withLock { pending in
            // The edge check records a use for every request with a token: the entry is found with
            // one hash and changed where it is (a copy written back hashed the id again).
            if let index = pending.entries.index(forKey: sessionId) {
                guard at >= pending.entries.values[index].lastActiveAt else { return }
                pending.entries.values[index].lastActiveAt = at
                if let address { pending.entries.values[index].address = address }
            } else if pending.entries.count < maximumPending {
                pending.entries[sessionId] = SessionActivity(kind: kind, sessionId: sessionId, lastActiveAt: at, address: address)
            }
        }
    }

    /// Takes everything recorded since the last call, sorted by session id (a stable write order).
    public func drain() -> [SessionActivity] {
        let entries = pending.withLock { pending in
            let taken = pending.entries
            pending.entries = [:]
            return taken
        }
        return entries.values.sorted { $0.sessionId < $1.sessionId }
    }

    /// Puts back a batch whose write failed, so the next flush tries it again; uses recorded since
    /// the batch was taken win.
    /// - Parameter batch: what ``drain()`` returned.
    public func restore(_ batch: [SessionActivity]) {
        pending.withLock { pending in
            for entry in batch {
                if let newer = pending.entries[entry.sessionId] {
                    if newer.address == nil, let address = entry.address { pending.entries[entry.sessionId]?.address = address }
                } else if pending.entries.count < maximumPending {
                    pending.entries[entry.sessionId] = entry
                }
            }
        }
    }

    /// The use of a session recorded since the last flush, if any (the account page shows it before
    /// it reaches the store).
    /// - Parameter sessionId: the session.
    public func pending(sessionId: String) -> SessionActivity? {
        pending.withLock { $0.entries[sessionId] }
    }
}
