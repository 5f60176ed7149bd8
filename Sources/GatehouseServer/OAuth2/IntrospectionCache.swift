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

        /// What the store said of the token.
        struct Fields: Sendable, Equatable {
            var isRefreshToken: Bool
            /// `nil` for OAuth 2.0 `client_credentials` sessions, which act for no user.
            var userId: String?
            var username: String?
            var sessionId: String
            var family: Family
            var issuedAt: Date
            var expiresAt: Date?
        }

        /// The fields and the answer made from them, in one object: the edge check copies an entry out
        /// of the cache on every request with a Gatehouse token, and a copy of one reference is one
        /// retain where the fields' and the answer's strings were one each.
        private final class Storage: Sendable {
            let fields: Fields
            let json: IntrospectionJSON?

            init(fields: Fields) {
                self.fields = fields
                self.json = IntrospectionJSON(fields)
            }
        }

        private let storage: Storage

        var isRefreshToken: Bool { storage.fields.isRefreshToken }
        /// `nil` for OAuth 2.0 `client_credentials` sessions, which act for no user.
        var userId: String? { storage.fields.userId }
        var username: String? { storage.fields.username }
        var sessionId: String { storage.fields.sessionId }
        var family: Family { storage.fields.family }
        var issuedAt: Date { storage.fields.issuedAt }
        var expiresAt: Date? { storage.fields.expiresAt }
        /// The introspection answer, prepared when the entry is made.
        var json: IntrospectionJSON? { storage.json }

        init(
            isRefreshToken: Bool, userId: String?, username: String?, sessionId: String, family: Family, issuedAt: Date, expiresAt: Date?
        ) {
            storage = Storage(fields: Fields(
                isRefreshToken: isRefreshToken, userId: userId, username: username, sessionId: sessionId, family: family, issuedAt: issuedAt,
                expiresAt: expiresAt))
        }

        static func == (lhs: ActiveToken, rhs: ActiveToken) -> Bool {
            lhs.storage === rhs.storage || lhs.storage.fields == rhs.storage.fields
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

        mutating func observe(counter: Int) {
            if let last = lastObservedCounter, last != counter {
                entries.removeAll(keepingCapacity: true)
                generation &+= 1
            }
            lastObservedCounter = counter
        }
    }

    private let state = Mutex(State())
    private let capacity: Int

    /// - Parameter capacity: entries kept before the cache starts over (bounds memory under attack).
    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// The entry for `hash` once `counter` is observed (``observe(counter:)``), under one lock: the
    /// edge check does both on every request with a Gatehouse token.
    func entry(forHash hash: TokenDigest, observing counter: Int) -> Entry? {
        state.withLock { state in
            state.observe(counter: counter)
            return state.entries[hash]
        }
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
        state.withLock { $0.observe(counter: counter) }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
