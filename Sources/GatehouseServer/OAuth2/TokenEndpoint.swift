import GatehouseCore
import GatehouseIdentity
import NIOCore
import NIOHTTP1

/// `POST /oauth2/token` (RFC 6749 §3.2), a thin adapter over ``OAuth2TokenService``: method, media
/// type, form and client credentials here, every grant rule in the service.
///
/// Answers `200 {"access_token", "token_type": "Bearer", "expires_in", "refresh_token"?, "scope"?,
/// "id_token"?}` or `{"error", "error_description"}` (``OAuth2TokenRouteError``); every answer
/// carries `Cache-Control: no-store`, `Pragma: no-cache` and the CORS header
/// (``ClientFacingHeaders``).
struct TokenEndpoint: Sendable {
    let service: OAuth2TokenService
    var metrics: LoginMetrics = .off

    func immediateResponse(to request: LocalRequest) -> LocalResponse? {
        ClientFacingHeaders.refusal(of: request)
    }

    func respond(to request: LocalRequest) async -> LocalResponse {
        if let response = immediateResponse(to: request) { return response }
        return ClientFacingHeaders.finish(await exchange(request))
    }

    private func exchange(_ request: LocalRequest) async -> LocalResponse {
        var grantType = "other"
        do throws(OAuth2TokenError) {
            let form = try OAuth2Form.parse(request.body.readableBytesView).get()
            // Only the grant types Gatehouse knows become label values: a client cannot add series.
            if let sent = try? form.optional("grant_type"), Self.knownGrantTypes.contains(sent) { grantType = sent }
            let credentials = try ClientCredentials.parse(authorization: request.headers.first(name: "authorization"), form: form).get()
            let response = Self.response(try await service.token(credentials: credentials, form: form))
            metrics.tokenGrant(grantType: grantType, outcome: "success")
            return response
        } catch {
            metrics.tokenGrant(grantType: grantType, outcome: error.code.rawValue)
            return OAuth2TokenRouteError.response(for: error)
        }
    }

    static let knownGrantTypes: Set = [GrantType.authorizationCode, GrantType.refreshToken, GrantType.deviceCode, GrantType.clientCredentials]

    /// RFC 6749 §5.1, members in MAS's order of importance; absent values are left out.
    static func response(_ token: OAuth2TokenService.TokenResponse) -> LocalResponse {
        var members = [
            ("access_token", JSONText.quote(token.accessToken)), ("token_type", "\"Bearer\""), ("expires_in", String(token.expiresIn)),
        ]
        if let refresh = token.refreshToken { members.append(("refresh_token", JSONText.quote(refresh))) }
        if let scope = token.scope { members.append(("scope", JSONText.quote(scope))) }
        if let idToken = token.idToken { members.append(("id_token", JSONText.quote(idToken))) }
        return .json(.ok, "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    }
}
