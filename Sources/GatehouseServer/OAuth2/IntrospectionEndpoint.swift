#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage
import NIOCore
import NIOHTTP1

/// `POST /oauth2/introspect` (RFC 7662), exactly as Synapse calls it: form body
/// `token=…&token_type_hint=access_token`, `Authorization: Bearer <shared secret>`,
/// `X-MAS-Supports-Device-Id: 1`.
///
/// A bad *caller* gets 401; anything wrong with the *token* (malformed, bad checksum, unknown,
/// revoked, expired, finished session, locked or deactivated user) gets `200 {"active":false}` and
/// nothing else. This is Synapse's hot path: after the first lookup a token is answered from
/// ``IntrospectionCache`` on the event loop, without a task hop or a store read.
struct IntrospectionEndpoint: Sendable {
    let secret: [UInt8]
    let validator: TokenValidator
    var clock: any WallClock { validator.clock }

    /// - Parameters:
    ///   - sharedSecret: `matrix.secret`, the bearer Synapse presents.
    ///   - validator: token state, cached.
    init(sharedSecret: String, validator: TokenValidator) {
        self.secret = Array(sharedSecret.utf8)
        self.validator = validator
    }

    /// What a request asks, once the caller is authenticated and the body parsed.
    struct Query {
        var token: String
        var hint: String?
        var supportsDeviceId: Bool
    }

    /// Parses and authenticates; `.failure` is the error response to send.
    func parse(_ request: LocalRequest) -> Result<Query, OAuth2Error> {
        guard request.method == .POST else {
            return .failure(OAuth2Error(status: .methodNotAllowed, code: .invalidRequest, description: "Use POST"))
        }
        guard let authorization = request.headers.first(name: "authorization"), BearerScheme.hasPrefix(authorization) else {
            return .failure(OAuth2Error(status: .unauthorized, code: .accessDenied, description: "Missing bearer credentials"))
        }
        // Constant time in the content; only the length (not a secret: generated secrets have a fixed one) shows.
        guard ConstantTime.equals(authorization.utf8.dropFirst(7), secret) else {
            return .failure(OAuth2Error(status: .unauthorized, code: .accessDenied, description: "Invalid bearer credentials"))
        }
        // The token is only hashed, never bound as text: one holding a NUL is just not active.
        guard let pairs = FormURLEncoded.parse(request.body.readableBytesView, allowingNUL: true) else {
            return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "The body is not a valid form"))
        }
        guard case .value(let token) = FormURLEncoded.single("token", in: pairs) else {
            return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "Exactly one `token` parameter is required"))
        }
        var hint: String?
        switch FormURLEncoded.single("token_type_hint", in: pairs) {
        case .absent: hint = nil
        case .value(let value): hint = value
        case .duplicate:
            return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "`token_type_hint` given twice"))
        }
        let supportsDeviceId = request.headers.first(name: "x-mas-supports-device-id") == "1"
        return .success(Query(token: token, hint: hint, supportsDeviceId: supportsDeviceId))
    }

    /// The answer when it needs no store access (bad caller, bad token format, cache hit), else `nil`.
    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        switch parse(request) {
        case .failure(let error):
            return error.response
        case .success(let query):
            guard let kind = tokenKind(of: query) else { return Self.inactive }
            guard case .known(let entry) = validator.cached(hash: TokenHasher.digest(query.token)) else { return nil }
            return render(entry, kind: kind, query: query)
        }
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        guard case .success(let query) = parse(request), let kind = tokenKind(of: query) else { return Self.inactive }
        do {
            let entry = try await validator.lookup(hash: TokenHasher.digest(query.token), kind: kind)
            return render(entry, kind: kind, query: query)
        } catch {
            // Not a cacheable answer: Synapse does not cache errors either and will ask again.
            return OAuth2Error(status: .serviceUnavailable, code: .invalidRequest, description: "The store is unavailable").response
        }
    }

    /// The token kind the request is about, or `nil` when the answer is simply "inactive" (bad format
    /// or checksum, a kind not issued by this build, or a hint that contradicts it).
    private func tokenKind(of query: Query) -> TokenKind? {
        guard case .success(let kind) = TokenFormat.classify(query.token) else { return nil }
        switch (kind, query.hint) {
        case (.compatAccessToken, nil), (.compatAccessToken, "access_token"),
            (.compatRefreshToken, nil), (.compatRefreshToken, "refresh_token"),
            (.accessToken, nil), (.accessToken, "access_token"),
            (.refreshToken, nil), (.refreshToken, "refresh_token"):
            return kind
        default:
            return nil
        }
    }

    static let inactive = LocalResponse(
        status: .ok, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: ByteBuffer(string: #"{"active":false}"#))

    private func render(_ entry: IntrospectionCache.Entry, kind: TokenKind, query: Query) -> LocalResponse {
        guard case .active(let token) = entry,
            let json = token.json?.render(now: clock.now(), supportsDeviceId: query.supportsDeviceId)
        else { return Self.inactive }
        return LocalResponse(status: .ok, headers: ["Content-Type": "application/json", "Cache-Control": "no-store"], body: ByteBuffer(string: json))
    }

}
