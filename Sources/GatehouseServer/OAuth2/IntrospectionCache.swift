#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import Synchronization

/// What introspection found for one token, kept in memory so that Synapse's calls (one per token per
/// two minutes per Synapse process) are answered without touching the store after the first.
///
/// Every entry is dropped as soon as anything that could revoke a token changes: in this process
/// through ``invalidateAll()`` (logout, lock, ...), and in any process (`gatehouse manage ...`)
/// through the store's revocation counter, which the endpoint reads before every use and feeds to
/// ``observe(counter:)``. A lookup that began before an invalidation never stores its (possibly
/// stale) result: it must present the ``generation`` it started under.
final class IntrospectionCache: Sendable {
    /// An introspection result; expiry is re-checked on every use.
    enum Entry: Sendable, Equatable {
        case inactive
        case active(ActiveToken)
    }

    struct ActiveToken: Sendable, Equatable {
        /// What kind of session the token belongs to, with what the answer needs of it.
        enum Family: Sendable, Equatable {
            /// A compat session: one device, maybe Synapse admin.
            case compat(deviceId: String, isSynapseAdmin: Bool)
            /// An OAuth 2.0 session: its client and granted scope; `tokenId` is the `jti`.
            case oauth2(clientId: String, scope: String, tokenId: String)
        }

        var isRefreshToken: Bool
        /// `nil` for OAuth 2.0 `client_credentials` sessions, which act for no user.
        var userId: String?
        var username: String?
        var sessionId: String
        var family: Family
        var issuedAt: Date
        var expiresAt: Date?
        /// The introspection answer, prepared when the entry is made.
        private(set) var json: IntrospectionJSON?

        init(
            isRefreshToken: Bool, userId: String?, username: String?, sessionId: String, family: Family, issuedAt: Date, expiresAt: Date?
        ) {
            self.isRefreshToken = isRefreshToken
            self.userId = userId
            self.username = username
            self.sessionId = sessionId
            self.family = family
            self.issuedAt = issuedAt
            self.expiresAt = expiresAt
            self.json = IntrospectionJSON(self)
        }

        /// Whether the token is an OAuth 2.0 (`mat_`/`mar_`) token.
        var isOAuth2: Bool {
            if case .oauth2 = family { return true }
            return false
        }
    }

    private struct State {
        var entries: [TokenDigest: Entry] = [:]
        var lastObservedCounter: Int?
        var generation: UInt64 = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    /// - Parameter capacity: entries kept before the cache starts over (bounds memory under attack).
    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    func entry(forHash hash: TokenDigest) -> Entry? {
        state.withLock { $0.entries[hash] }
    }

    /// Take this before reading the store, and hand it back to ``store(_:forHash:generation:)``.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Keeps `entry` unless something was invalidated since `generation` was taken.
    func store(_ entry: Entry, forHash hash: TokenDigest, generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[hash] = entry
        }
    }

    /// Drops everything (a revocation happened in this process).
    func invalidateAll() {
        state.withLock { state in
            state.entries.removeAll(keepingCapacity: true)
            state.generation &+= 1
        }
    }

    /// Drops everything when the store's revocation counter moved (a change by another process).
    func observe(counter: Int) {
        state.withLock { state in
            if let last = state.lastObservedCounter, last != counter {
                state.entries.removeAll(keepingCapacity: true)
                state.generation &+= 1
            }
            state.lastObservedCounter = counter
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
