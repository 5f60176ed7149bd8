import GatehouseCore
import GatehouseIdentity
import NIOCore
import NIOHTTP1

/// `GET|POST /oauth2/userinfo` (OpenID Connect Core 1.0 §5.3): `{"sub", "username"}` for a live
/// `mat_` token with the `openid` scope, as MAS answers; to a client that registered
/// `userinfo_signed_response_alg`, the same claims with `iss` and `aud` as a signed JWT
/// (`application/jwt`, §5.3.2).
///
/// The token comes in `Authorization: Bearer` or, on `POST`, in the form field `access_token`
/// (RFC 6750 §2.1–§2.2); both at once is `400 invalid_request`. Anything else about the token is
/// `401` with `WWW-Authenticate: Bearer error="invalid_token"`.
struct UserInfoEndpoint: Sendable {
    let service: OAuth2TokenService

    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        switch request.method {
        case .OPTIONS: return ClientFacingHeaders.preflight(methods: "GET, POST")
        case .GET, .POST: break
        default:
            var response = OAuth2Error(status: .methodNotAllowed, code: .invalidRequest, description: "Use GET or POST").response
            response.headers.add(name: "Allow", value: "GET, POST, OPTIONS")
            return ClientFacingHeaders.finish(response)
        }
        switch token(of: request) {
        case .failure(let error): return ClientFacingHeaders.finish(error.response)
        case .success: return nil
        }
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        guard case .success(let token) = token(of: request) else { return Self.invalidToken }
        do throws(OAuth2TokenError) {
            switch try await service.userInfo(accessToken: token) {
            case nil:
                return Self.invalidToken
            case .json(let info)?:
                return ClientFacingHeaders.finish(
                    .json(.ok, "{\"sub\":\(JSONText.quote(info.subject)),\"username\":\(JSONText.quote(info.username))}"))
            case .jwt(let jwt)?:
                return ClientFacingHeaders.finish(LocalResponse(status: .ok, headers: ["Content-Type": "application/jwt"], body: ByteBuffer(string: jwt)))
            }
        } catch {
            return ClientFacingHeaders.finish(OAuth2TokenRouteError.response(for: error))
        }
    }

    private static let invalidToken = ClientFacingHeaders.finish(
        OAuth2Error(status: .unauthorized, code: .invalidToken, description: "The access token is not valid for userinfo").response)

    /// The bearer token, from the header or the form.
    private func token(of request: LocalRequest) -> Result<String, OAuth2Error> {
        var header: String?
        if let authorization = request.headers.first(name: "authorization") {
            guard BearerScheme.hasPrefix(authorization) else {
                return .failure(OAuth2Error(status: .unauthorized, code: .invalidToken, description: "Use Authorization: Bearer"))
            }
            header = String(authorization.dropFirst(7))
        }
        var field: String?
        if request.method == .POST, ClientFacingHeaders.isForm(request) {
            guard let pairs = FormURLEncoded.parse(request.body.readableBytesView) else {
                return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "The body is not a valid form"))
            }
            switch FormURLEncoded.single("access_token", in: pairs) {
            case .absent: break
            case .value(let value): field = value
            case .duplicate: return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "`access_token` given twice"))
            }
        }
        switch (header, field) {
        case (let token?, nil), (nil, let token?): return .success(token)
        case (.some, .some):
            return .failure(OAuth2Error(status: .badRequest, code: .invalidRequest, description: "Send the access token once (RFC 6750 §2)"))
        case (nil, nil):
            return .failure(OAuth2Error(status: .unauthorized, code: .invalidToken, description: "Missing access token"))
        }
    }
}
