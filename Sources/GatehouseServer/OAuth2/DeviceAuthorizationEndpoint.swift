import GatehouseCore
import GatehouseIdentity
import NIOCore
import NIOHTTP1

/// `POST /oauth2/device`, the device authorization request (RFC 8628 §3.1–§3.2), a thin adapter over
/// ``DeviceAuthorizationService``.
///
/// Answers `200 {"device_code", "user_code", "verification_uri", "verification_uri_complete",
/// "expires_in", "interval"}`; the user enters the code at `<public_base>link` (the `/link` page
/// takes it in any case, with or without the dash). Each client address (``ClientAddress``) may
/// start `rate_limiting.device_authorization` grants; more get `429` with `Retry-After`.
struct DeviceAuthorizationEndpoint: Sendable {
    let service: DeviceAuthorizationService
    /// `http.public_base`, ending in `/`.
    let publicBase: String
    let limiter: RateLimiter
    let trustedProxies: [IPNetwork]

    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        ClientFacingHeaders.refusal(of: request)
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        return ClientFacingHeaders.finish(await authorize(request))
    }

    private func authorize(_ request: LocalRequest) async -> LocalResponse {
        let address = ClientAddress.resolve(
            peer: request.peerAddress, forwardedFor: request.headers["x-forwarded-for"], trustedProxies: trustedProxies)
        if let retryAfter = limiter.check(address ?? "(no client address)").retryAfterMilliseconds {
            let seconds = max(1, retryAfter / 1000 + (retryAfter % 1000 > 0 ? 1 : 0))
            var response = OAuth2Error(
                status: .tooManyRequests, code: .temporarilyUnavailable,
                description: "Too many device authorizations from this address; try again in \(seconds) s").response
            response.headers.add(name: "Retry-After", value: String(seconds))
            return response
        }
        do throws(OAuth2TokenError) {
            let form = try OAuth2Form.parse(request.body.readableBytesView).get()
            let credentials = try ClientCredentials.parse(authorization: request.headers.first(name: "authorization"), form: form).get()
            let authorization = try await service.authorize(credentials: credentials, form: form)
            let link = publicBase + "link"
            let complete = link + "?code=" + authorization.userCode
            return .json(.ok, """
                {"device_code":\(JSONText.quote(authorization.deviceCode)),"user_code":\(JSONText.quote(authorization.userCode)),\
                "verification_uri":\(JSONText.quote(link)),"verification_uri_complete":\(JSONText.quote(complete)),\
                "expires_in":\(authorization.expiresIn),"interval":\(authorization.interval)}
                """)
        } catch {
            return OAuth2TokenRouteError.response(for: error)
        }
    }
}
