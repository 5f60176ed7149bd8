import GatehouseAuth
import GatehouseCore
import NIOHTTP1

/// The proxy's own check of Gatehouse-issued access tokens, before a request reaches Synapse.
///
/// Synapse caches each introspection answer for two minutes, so without this a logged-out or
/// replaced session's token would keep working that long. Gatehouse sees every client request, so
/// it refuses a token it knows to be dead at once, on every route, and only forwards tokens that are
/// active (or that it does not own: appservice tokens and anything not in its format go through
/// untouched for Synapse to judge).
struct EdgeTokenCheck: Sendable {
    let validator: TokenValidator

    enum Decision: Equatable {
        /// Not a Gatehouse token, or an active one.
        case forward
        /// A Gatehouse token that is not active.
        case refuse
        /// Not in memory: ask the store (off the event loop), then decide.
        case lookup(hash: String)
    }

    /// Decides from memory; cheap enough for every proxied request.
    func decide(headers: HTTPHeaders, query: Substring?) -> Decision {
        guard case .success(let token) = AccessToken.extract(headers: headers, query: query),
            case .success(.compatAccessToken) = TokenFormat.check(token)
        else { return .forward }
        let hash = TokenHasher.sha256Hex(token)
        switch validator.cached(hash: hash) {
        case .known(let entry): return validator.isActive(entry) ? .forward : .refuse
        case .unknown: return .lookup(hash: hash)
        }
    }

    /// Whether to forward after asking the store. A store failure forwards: Synapse will then ask
    /// introspection itself, which reports the failure rather than guessing.
    func resolve(hash: String) async -> Bool {
        guard let entry = try? await validator.lookup(hash: hash, kind: .compatAccessToken) else { return true }
        return validator.isActive(entry)
    }
}
