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
    /// Gatehouse: the endpoint does not exist.
    case notFound = "not_found"
}

/// An OAuth 2.0 `{error, error_description}` response with its status.
struct OAuth2Error: Error {
    var status: HTTPResponseStatus
    var code: OAuth2ErrorCode
    var description: String

    var response: LocalResponse {
        var response = LocalResponse.json(status, "{\"error\":\"\(code.rawValue)\",\"error_description\":\(JSONText.quote(description))}")
        response.headers.add(name: "Cache-Control", value: "no-store")
        if status == .unauthorized {
            response.headers.add(name: "WWW-Authenticate", value: "Bearer error=\"\(code.rawValue)\"")
        }
        return response
    }
}
