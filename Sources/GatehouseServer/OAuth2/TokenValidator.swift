#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CoreMetrics
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import NIOPosix

/// Decides whether a Gatehouse-issued token is active, from memory when it can.
///
/// Shared by introspection (Synapse asking) and the proxy's edge check (Gatehouse refusing dead
/// tokens before they reach Synapse). Before trusting anything cached it reads the store's
/// revocation counter through a per-thread read-only SQLite connection, so a revocation committed by
/// any process is seen by the very next request.
final class TokenValidator: Sendable {
    let store: any IdentityStore
    let cache: IntrospectionCache
    let clock: any WallClock
    /// Where uses of active tokens are recorded ("last used at / from"); `nil` records nothing.
    let activity: SessionActivityRecorder?
    /// One synchronous revision reader per thread (event loop), made on first use.
    private let probes = ThreadSpecificVariable<ProbeBox>()
    /// `gatehouse_introspection_cache_total{result="hit"|"miss"}` (answered from memory, or from the
    /// store), made once: counting is one relaxed atomic add (swift-prometheus), no lock and no
    /// allocation on the proxy's edge check.
    private let cacheHits: Counter?
    private let cacheMisses: Counter?

    init(
        store: any IdentityStore, cache: IntrospectionCache, clock: any WallClock, activity: SessionActivityRecorder? = nil,
        metrics: (any MetricsFactory)? = nil
    ) {
        self.store = store
        self.cache = cache
        self.clock = clock
        self.activity = activity
        self.cacheHits = metrics.map { Counter(label: "gatehouse_introspection_cache_total", dimensions: [("result", "hit")], factory: $0) }
        self.cacheMisses = metrics.map { Counter(label: "gatehouse_introspection_cache_total", dimensions: [("result", "miss")], factory: $0) }
    }

    /// What memory knows about a token.
    enum CachedAnswer {
        case known(IntrospectionCache.Entry)
        /// Not cached (or the counter could not be read): the store must be asked.
        case unknown
    }

    /// The cached entry for `hash`, valid as of now; never blocks beyond a shared-memory read.
    func cached(hash: TokenDigest) -> CachedAnswer {
        guard let revision = currentRevision() else { return .unknown }
        guard let entry = cache.entry(forHash: hash, observing: revision) else { return .unknown }
        cacheHits?.increment()
        return .known(entry)
    }

    /// Reads the store, caches the answer and records activity for active tokens. The first lookup
    /// that finds an OAuth 2.0 access token active records its first use before answering: from then
    /// on, presenting the refresh token that preceded it again is a replay, not a lost answer. A compat
    /// session's first use after a lookup goes to the store too, time and address (its refresh rule
    /// reads `last_active_at`); everything else goes to the activity recorder, which writes in batches.
    /// - Parameters:
    ///   - hash: the token's SHA-256.
    ///   - kind: what its format says it is.
    ///   - address: the client address of the request that presented it (the edge check), recorded
    ///     with the use; `nil` when unknown (introspection: the caller is Synapse, not the client).
    func lookup(hash: TokenDigest, kind: TokenKind, address: String? = nil) async throws -> IntrospectionCache.Entry {
        // A miss is counted here, where the store is read, not in `cached(hash:)`: a caller may ask
        // memory twice (an immediate answer, then the async one) before it reads the store once.
        cacheMisses?.increment()
        cache.observe(counter: try await store.changeCounter())
        let generation = cache.generation
        let (entry, firstUse) = try await read(hash: hash.hex, kind: kind)
        if let firstUse {
            try await store.oauth2Sessions.markUsed(accessTokenId: firstUse, at: clock.now())
        }
        cache.store(entry, forHash: hash, generation: generation)
        if case .active(let token) = entry {
            let now = clock.now()
            if !token.isOAuth2 {
                // Written with the address: the recorder's entry for this same instant would not move
                // `last_active_at` forward at the next flush, so it could not add the address then.
                let store = self.store
                let use = SessionActivity(kind: .compat, sessionId: token.sessionId, lastActiveAt: now, address: address)
                Task { try? await store.sessionActivity.record([use]) }
            }
            recordUse(of: token, at: now, address: address)
        }
        return entry
    }

    /// Records a use of an active token's session in memory (a lock and a dictionary write).
    /// - Parameters:
    ///   - token: the active token.
    ///   - at: the time of the use.
    ///   - address: the client address, when known.
    func recordUse(of token: IntrospectionCache.ActiveToken, at: Date, address: String?) {
        activity?.record(token.isOAuth2 ? .oauth2 : .compat, sessionId: token.sessionId, at: at, address: address)
    }

    /// Whether `entry` is active at this moment (expiry is re-checked on every use).
    func isActive(_ entry: IntrospectionCache.Entry) -> Bool {
        guard case .active(let token) = entry else { return false }
        return token.expiresAt.map { $0 > clock.now() } ?? true
    }

    /// The entry, and the id of an OAuth 2.0 access token seen active for the first time.
    private func read(hash: String, kind: TokenKind) async throws -> (IntrospectionCache.Entry, String?) {
        let now = clock.now()
        switch kind {
        case .compatRefreshToken:
            guard let (token, session, user) = try await store.compatSessions.lookupRefreshToken(hash: hash),
                token.consumedAt == nil, token.revokedAt == nil, session.finishedAt == nil, user.isActive
            else { return (.inactive, nil) }
            return (.active(.init(
                isRefreshToken: true, userId: user.id, username: user.username, sessionId: session.id,
                family: .compat(deviceId: session.deviceId, isSynapseAdmin: session.isSynapseAdmin), issuedAt: token.createdAt,
                expiresAt: nil)), nil)
        case .compatAccessToken:
            guard let found = try await store.compatSessions.lookupAccessToken(hash: hash),
                found.token.revokedAt == nil, found.session.finishedAt == nil, found.user.isActive,
                found.token.expiresAt.map({ $0 > now }) ?? true
            else { return (.inactive, nil) }
            return (.active(.init(
                isRefreshToken: false, userId: found.user.id, username: found.user.username, sessionId: found.session.id,
                family: .compat(deviceId: found.session.deviceId, isSynapseAdmin: found.session.isSynapseAdmin),
                issuedAt: found.token.createdAt, expiresAt: found.token.expiresAt)), nil)
        case .accessToken:
            guard let found = try await store.oauth2Sessions.lookupAccessToken(hash: hash),
                found.token.revokedAt == nil, found.token.expiresAt > now, found.session.finishedAt == nil,
                found.user?.isActive ?? (found.session.userId == nil)
            else { return (.inactive, nil) }
            return (.active(.init(
                isRefreshToken: false, userId: found.user?.id, username: found.user?.username, sessionId: found.session.id,
                family: .oauth2(clientId: found.session.clientId, scope: found.session.scope, tokenId: found.token.id),
                issuedAt: found.token.createdAt, expiresAt: found.token.expiresAt)), found.token.firstUsedAt == nil ? found.token.id : nil)
        case .refreshToken:
            guard let found = try await store.oauth2Sessions.lookupRefreshToken(hash: hash),
                found.token.consumedAt == nil, found.token.revokedAt == nil, found.session.finishedAt == nil,
                found.user?.isActive ?? (found.session.userId == nil)
            else { return (.inactive, nil) }
            return (.active(.init(
                isRefreshToken: true, userId: found.user?.id, username: found.user?.username, sessionId: found.session.id,
                family: .oauth2(clientId: found.session.clientId, scope: found.session.scope, tokenId: found.token.id),
                issuedAt: found.token.createdAt, expiresAt: nil)), nil)
        case .personalAccessToken:
            return (.inactive, nil)
        }
    }

    private func currentRevision() -> Int? {
        if let box = probes.currentValue { return box.probe.currentRevision() }
        guard let probe = try? store.makeRevisionProbe() else { return nil }
        probes.currentValue = ProbeBox(probe: probe)
        return probe.currentRevision()
    }
}

/// Holds a thread's ``RevisionProbe``; only ever touched by that thread.
private final class ProbeBox: @unchecked Sendable {
    let probe: any RevisionProbe

    init(probe: any RevisionProbe) {
        self.probe = probe
    }
}
