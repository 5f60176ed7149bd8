import GatehouseAuth
import GatehouseCore
import NIOCore
import NIOHTTP1

/// The proxy's own check of Gatehouse-issued access tokens, before a request reaches Synapse.
///
/// Synapse caches each introspection answer for two minutes, so without this a logged-out or
/// replaced session's token would keep working that long. Gatehouse sees every client request, so
/// it refuses a token it knows to be dead at once, on every route, and only forwards tokens that are
/// active (or that it does not own: appservice tokens and anything not in its format go through
/// untouched for Synapse to judge). Synapse's own `syt_` tokens count as Gatehouse's: after
/// `gatehouse import-synapse` the store holds those that stay valid, and any other `syt_` token is dead
/// once Synapse delegates authentication. It reads the token exactly as Synapse will (``AccessToken``),
/// and refuses a request where Synapse might read a different one.
///
/// For an active token it also says whose it is (the localpart), which `balance: sticky_user` pools
/// choose their member by (``stickyKey(localpart:)``); the key is hashed only for such pools, never on
/// every proxied request. Every forwarded use of an active token is recorded as its session's
/// "last used at / from" in memory (``TokenValidator/recordUse(of:at:address:)``: one lock, no store
/// write); the address is the `X-Forwarded-For` Gatehouse itself sets on the upstream head.
struct EdgeTokenCheck: Sendable {
    let validator: TokenValidator
    /// Synapse's `server_name`: a token's user is `@username:serverName`.
    let serverName: String

    enum Decision: Equatable, Sendable {
        /// No access token, not a Gatehouse token, or an active one; `user` is the localpart of an
        /// active token's user (`nil` otherwise, and for tokens that act for no user).
        case forward(user: String?)
        /// A Gatehouse token that is not active.
        case refuse
        /// Not in memory: ask the store (off the event loop), then decide; `address` is the client
        /// address to record as the session's last use (``resolve(hash:kind:address:)``).
        case lookup(hash: TokenDigest, kind: TokenKind, address: String?)
        /// Synapse may read the token from the form-encoded body: decide once it has arrived whole
        /// (``decide(formBody:headReading:clientAddress:)``) with what the head says.
        case awaitFormBody(headReading: AccessToken.Reading)
        /// Synapse could read more than one token, or one Gatehouse cannot read exactly as it would
        /// (see ``AccessToken``): answer this error (401 `M_MISSING_TOKEN`) instead of forwarding.
        case ambiguous(MatrixError)
    }

    /// Decides from memory; cheap enough for every proxied request (a request with one `Bearer`
    /// header and no `%` or `access_token=` in its query allocates nothing but the token, and on the
    /// byte-level path not even that when the token cannot be Gatehouse's).
    /// - Parameters:
    ///   - method: the request method (Synapse reads form-encoded `POST` bodies for tokens too).
    ///   - headers: the request headers, as they will be forwarded.
    ///   - query: the query string without `?`, exactly as it will be forwarded.
    func decide(method: HTTPMethod, headers: HTTPHeaders, query: Substring?) -> Decision {
        var digests = TokenDigestMemo()
        return decide(
            reading: AccessToken.read(headers: headers, query: query),
            bodyCarrier: AccessToken.bodyCarrier(method: method, headers: headers),
            address: { headers.first(name: "x-forwarded-for") }, digests: &digests)
    }

    /// ``decide(method:headers:query:)`` on a head parsed as bytes (the HTTP/1.1 proxy path), read
    /// the same way without building headers.
    /// - Parameters:
    ///   - head: the request head.
    ///   - bytes: the buffer it was parsed from.
    ///   - clientAddress: the address Gatehouse forwards as the client's (`X-Forwarded-For`), recorded
    ///     as the session's last use.
    ///   - digests: the connection's memo of its last token's SHA-256 (a client presents the same
    ///     token on every request of a connection).
    func decide(_ head: HTTP1RequestHead, in bytes: ByteBuffer, clientAddress: String?, digests: inout TokenDigestMemo) -> Decision {
        decide(
            reading: AccessToken.read(head, in: bytes), bodyCarrier: AccessToken.bodyCarrier(head, in: bytes),
            address: { clientAddress }, digests: &digests)
    }

    /// The decision for a request whose form-encoded body has arrived whole, after
    /// ``Decision/awaitFormBody(headReading:)``.
    /// - Parameters:
    ///   - formBody: the whole body.
    ///   - headReading: what the head said.
    ///   - clientAddress: the address Gatehouse forwards as the client's.
    func decide(formBody: ByteBuffer, headReading: AccessToken.Reading, clientAddress: String?) -> Decision {
        var digests = TokenDigestMemo()
        return decide(AccessToken.read(headReading: headReading, formBody: formBody), address: { clientAddress }, digests: &digests)
    }

    private func decide(
        reading: AccessToken.Reading, bodyCarrier: AccessToken.BodyCarrier, address: () -> String?, digests: inout TokenDigestMemo
    ) -> Decision {
        switch bodyCarrier {
        case .none: break
        case .unreadable: return .ambiguous(MatrixError(status: 401, code: .missingToken, message: AccessToken.Message.formBody))
        case .form:
            if case .ambiguous(let message) = reading { return .ambiguous(MatrixError(status: 401, code: .missingToken, message: message)) }
            return .awaitFormBody(headReading: reading)
        }
        return decide(reading, address: address, digests: &digests)
    }

    private func decide(_ reading: AccessToken.Reading, address: () -> String?, digests: inout TokenDigestMemo) -> Decision {
        switch reading {
        case .none, .foreign: return .forward(user: nil)
        case .ambiguous(let message): return .ambiguous(MatrixError(status: 401, code: .missingToken, message: message))
        case .token(var token): return token.withUTF8 { decide(token: UnsafeRawBufferPointer($0), address: address, digests: &digests) }
        case .tokenBytes(let token): return token.withUnsafeReadableBytes { decide(token: $0, address: address, digests: &digests) }
        }
    }

    /// The decision for the token `bytes`, read where it arrived.
    private func decide(token bytes: UnsafeRawBufferPointer, address: () -> String?, digests: inout TokenDigestMemo) -> Decision {
        guard TokenFormat.mayBeAccessToken(bytes) else { return .forward(user: nil) }
        let hash = digests.digest(of: bytes)
        // A token in memory is byte for byte one whose format was checked before it was looked up (its
        // SHA-256 matched), so only a token memory does not know has its format checked.
        if case .known(let entry) = validator.cached(hash: hash) { return decision(for: entry, address: address()) }
        switch TokenFormat.classify(String(decoding: bytes, as: UTF8.self)) {
        case .success(.compatAccessToken): return .lookup(hash: hash, kind: .compatAccessToken, address: address())
        case .success(.accessToken): return .lookup(hash: hash, kind: .accessToken, address: address())
        default: return .forward(user: nil)
        }
    }

    /// The decision after asking the store: ``Decision/forward(user:)`` or ``Decision/refuse``. A
    /// store failure forwards (with no user): Synapse will then ask introspection itself, which
    /// reports the failure rather than guessing.
    /// - Parameters:
    ///   - hash: the token's hash, from ``Decision/lookup(hash:kind:address:)``.
    ///   - kind: its kind.
    ///   - address: the client address of the request, recorded with the use the lookup records.
    func resolve(hash: TokenDigest, kind: TokenKind, address: String?) async -> Decision {
        guard let entry = try? await validator.lookup(hash: hash, kind: kind, address: address) else { return .forward(user: nil) }
        return decision(for: entry, address: nil)
    }

    /// The sticky key of a user this check resolved: the Matrix user ID `@localpart:serverName`.
    func stickyKey(localpart: String) -> StickyKey {
        StickyKey(localpart: localpart, serverName: serverName)
    }

    /// - Parameter address: the client address of the request, recorded as the session's last use
    ///   (`nil` after a store lookup, which records the use itself).
    private func decision(for entry: IntrospectionCache.Entry, address: String?) -> Decision {
        guard validator.isActive(entry), case .active(let token) = entry else { return .refuse }
        if address != nil { validator.recordUse(of: token, at: validator.clock.now(), address: address) }
        guard let username = token.username else { return .forward(user: nil) }
        return .forward(user: username)
    }
}
