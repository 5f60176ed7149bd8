import GatehouseIdentity
import NIOHTTP1

/// The one mapping from ``OAuth2TokenError`` to the wire, for the token, revocation and device
/// authorization endpoints: statuses as MAS sends them (401 for `invalid_client` and
/// `unauthorized_client`), except the device code answers, which are 400 as RFC 8628 §3.5 says (MAS
/// sends 403).
enum OAuth2TokenRouteError {
    static func error(for error: OAuth2TokenError) -> OAuth2Error {
        let (status, code): (HTTPResponseStatus, OAuth2ErrorCode) =
            switch error.code {
            case .invalidRequest: (.badRequest, .invalidRequest)
            case .invalidClient: (.unauthorized, .invalidClient)
            case .invalidGrant: (.badRequest, .invalidGrant)
            case .unauthorizedClient: (.unauthorized, .unauthorizedClient)
            case .unsupportedGrantType: (.badRequest, .unsupportedGrantType)
            case .invalidScope: (.badRequest, .invalidScope)
            case .authorizationPending: (.badRequest, .authorizationPending)
            case .slowDown: (.badRequest, .slowDown)
            case .expiredToken: (.badRequest, .expiredToken)
            case .accessDenied: (.badRequest, .accessDenied)
            case .unsupportedTokenType: (.badRequest, .unsupportedTokenType)
            case .temporarilyUnavailable: (.serviceUnavailable, .temporarilyUnavailable)
            case .serverError: (.internalServerError, .serverError)
            }
        return OAuth2Error(status: status, code: code, description: error.description, challengeScheme: "Basic")
    }

    static func response(for error: OAuth2TokenError) -> LocalResponse {
        Self.error(for: error).response
    }
}
