import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import NIOCore
import NIOHTTP1

/// `POST /oauth2/registration`: dynamic client registration (RFC 7591, MSC2966), a thin adapter over
/// ``ClientRegistrationService``: method and media type here, every metadata rule in
/// ``ClientRegistrationPolicy``.
///
/// Answers `201` with the registered metadata, `client_id` and `client_id_issued_at` (RFC 7591
/// §3.2.1), or `400 {"error", "error_description"}` naming the rule that failed (§3.2.2). Every answer
/// carries `Cache-Control: no-store`. The body is capped by the `oauth2` service (64 KiB).
///
/// Browser clients (Element Web in OAuth mode) register from their own origin, so every answer
/// allows any origin and `OPTIONS` answers the CORS preflight, as MAS's `oauth` resource does. No
/// credentials (cookies) are involved, so `*` exposes nothing.
///
/// Each client address (``ClientAddress``, through `http.trusted_proxies`) may register
/// `rate_limiting.client_registration` clients; more get `429` with `Retry-After`, before the body is
/// parsed.
struct RegistrationEndpoint: Sendable {
    let service: ClientRegistrationService
    let limiter: RateLimiter
    let trustedProxies: [IPNetwork]

    /// Refusals that need no store access, and the CORS preflight.
    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        immediate(request).map(Self.withCORS)
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        return Self.withCORS(await register(request))
    }

    /// Adds the CORS header every answer carries.
    private static func withCORS(_ response: LocalResponse) -> LocalResponse {
        var response = response
        response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: "*")
        return response
    }

    private func immediate(_ request: LocalRequest) -> LocalResponse? {
        if request.method == .OPTIONS {
            return LocalResponse(status: .noContent, headers: [
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Accept, Accept-Language, Content-Language, Content-Type, X-Requested-With",
                "Access-Control-Max-Age": "3600", "Cache-Control": "no-store",
            ])
        }
        guard request.method == .POST else {
            var response = OAuth2Error(status: .methodNotAllowed, code: .invalidRequest, description: "Use POST").response
            response.headers.add(name: "Allow", value: "POST, OPTIONS")
            return response
        }
        let mediaType = request.headers.first(name: "content-type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard mediaType == "application/json" else {
            return OAuth2Error(
                status: .badRequest, code: .invalidRequest,
                description: "Send the client metadata as a JSON object with Content-Type: application/json (RFC 7591 §3.1)"
            ).response
        }
        return nil
    }

    /// Counts the request against its address's allowance (here, not in ``immediateResponse(to:)``,
    /// which may be asked more than once per request), then registers.
    private func register(_ request: LocalRequest) async -> LocalResponse {
        let address = ClientAddress.resolve(
            peer: request.peerAddress, forwardedFor: request.headers["x-forwarded-for"], trustedProxies: trustedProxies)
        if let retryAfter = limiter.check(address ?? "(no client address)").retryAfterMilliseconds {
            let seconds = max(1, retryAfter / 1000 + (retryAfter % 1000 > 0 ? 1 : 0))
            var response = OAuth2Error(
                status: .tooManyRequests, code: .temporarilyUnavailable,
                description: "Too many client registrations from this address; try again in \(seconds) s").response
            response.headers.add(name: "Retry-After", value: String(seconds))
            return response
        }
        do {
            switch try await service.register(body: request.body.readableBytesView) {
            case .refused(let error):
                return Self.response(for: error)
            case .registered(let client):
                let issuedAt = Int64((client.createdAt.timeIntervalSince1970).rounded(.down))
                let json = client.metadata.json(extra: ["client_id": JSONText.quote(client.id), "client_id_issued_at": String(issuedAt)])
                var response = LocalResponse.json(.created, json)
                response.headers.add(name: "Cache-Control", value: "no-store")
                return response
            }
        } catch {
            return OAuth2Error(status: .serviceUnavailable, code: .temporarilyUnavailable, description: "The store is unavailable; try again later")
                .response
        }
    }

    /// The one mapping from ``ClientRegistrationError`` to the wire.
    static func response(for error: ClientRegistrationError) -> LocalResponse {
        let code: OAuth2ErrorCode =
            switch error.code {
            case .invalidRedirectURI: .invalidRedirectURI
            case .invalidClientMetadata: .invalidClientMetadata
            case .invalidRequest: .invalidRequest
            }
        return OAuth2Error(status: .badRequest, code: code, description: error.message).response
    }
}
