import GatehouseCore
import NIOHTTP1

/// OAuth 2.0 error codes Gatehouse sends.
enum OAuth2ErrorCode: String {
    /// RFC 6749 §5.2: the request is missing a parameter or is malformed.
    case invalidRequest = "invalid_request"
    /// RFC 6749 §5.2: client authentication failed.
    case invalidClient = "invalid_client"
    /// RFC 6749 §4.1.2.1: the caller is not allowed (used by MAS for a wrong introspection bearer).
    case accessDenied = "access_denied"
    /// RFC 7591 §3.2.2: a redirect URI of a registration is missing or not allowed.
    case invalidRedirectURI = "invalid_redirect_uri"
    /// RFC 7591 §3.2.2: other registration metadata is invalid.
    case invalidClientMetadata = "invalid_client_metadata"
    /// RFC 6749 §4.1.2.1: the server cannot answer now (the store is unavailable).
    case temporarilyUnavailable = "temporarily_unavailable"
    /// RFC 6749 §4.1.2.1: an unexpected failure.
    case serverError = "server_error"
    /// RFC 6749 §5.2: the code, refresh token or device code is invalid, expired, revoked or used.
    case invalidGrant = "invalid_grant"
    /// RFC 6749 §5.2 (RFC 7009 §2.1): the client may not use this grant type or token.
    case unauthorizedClient = "unauthorized_client"
    /// RFC 6749 §5.2: the grant type is not supported.
    case unsupportedGrantType = "unsupported_grant_type"
    /// RFC 6749 §5.2: the requested scope is invalid.
    case invalidScope = "invalid_scope"
    /// RFC 8628 §3.5: the user has not decided yet.
    case authorizationPending = "authorization_pending"
    /// RFC 8628 §3.5: polled too often.
    case slowDown = "slow_down"
    /// RFC 8628 §3.5: the device code expired.
    case expiredToken = "expired_token"
    /// RFC 7009 §2.2.1: an unknown `token_type_hint`.
    case unsupportedTokenType = "unsupported_token_type"
    /// RFC 6750 §3.1: the bearer token is invalid (userinfo).
    case invalidToken = "invalid_token"
    /// Gatehouse: the endpoint does not exist.
    case notFound = "not_found"
}

/// An OAuth 2.0 `{error, error_description}` response with its status.
struct OAuth2Error: Error {
    var status: HTTPResponseStatus
    var code: OAuth2ErrorCode
    var description: String
    /// The `WWW-Authenticate` scheme of a 401: `Bearer` where a bearer token was expected, `Basic`
    /// where client credentials were (RFC 6749 §5.2).
    var challengeScheme = "Bearer"

    var response: LocalResponse {
        var response = LocalResponse.json(status, "{\"error\":\"\(code.rawValue)\",\"error_description\":\(JSONText.quote(description))}")
        response.headers.add(name: "Cache-Control", value: "no-store")
        if status == .unauthorized {
            response.headers.add(name: "WWW-Authenticate", value: "\(challengeScheme) error=\"\(code.rawValue)\"")
        }
        return response
    }
}
