/// Why a token, revocation, userinfo or device authorization request was refused, in OAuth 2.0's
/// own terms. The HTTP layer maps ``code`` to a status in one switch; ``description`` becomes
/// `error_description` and never contains a secret or a token.
public struct OAuth2TokenError: Error, Equatable, Sendable {
    /// The `error` value of the answer.
    public enum Code: String, Sendable, CaseIterable {
        /// RFC 6749 §5.2: a parameter is missing, repeated, malformed or unsupported.
        case invalidRequest = "invalid_request"
        /// RFC 6749 §5.2: client authentication failed (unknown client, wrong secret or method).
        case invalidClient = "invalid_client"
        /// RFC 6749 §5.2: the code, refresh token or device code is invalid, expired, revoked, used,
        /// or was issued to another client.
        case invalidGrant = "invalid_grant"
        /// RFC 6749 §5.2: the client may not use this grant type (or this token: RFC 7009 §2.1).
        case unauthorizedClient = "unauthorized_client"
        /// RFC 6749 §5.2: the grant type is not supported.
        case unsupportedGrantType = "unsupported_grant_type"
        /// RFC 6749 §5.2: the requested scope is invalid or not allowed for this grant.
        case invalidScope = "invalid_scope"
        /// RFC 8628 §3.5: the user has not decided yet.
        case authorizationPending = "authorization_pending"
        /// RFC 8628 §3.5: polled sooner than the interval allows.
        case slowDown = "slow_down"
        /// RFC 8628 §3.5: the device code expired.
        case expiredToken = "expired_token"
        /// RFC 8628 §3.5: the user declined.
        case accessDenied = "access_denied"
        /// RFC 7009 §2.2.1: `token_type_hint` names a type this server does not know.
        case unsupportedTokenType = "unsupported_token_type"
        /// RFC 6749 §4.1.2.1: Synapse or the store cannot serve the request now; retrying may work.
        case temporarilyUnavailable = "temporarily_unavailable"
        /// RFC 6749 §4.1.2.1: an unexpected failure.
        case serverError = "server_error"
    }

    public let code: Code
    public let description: String

    /// - Parameters:
    ///   - code: the `error` value.
    ///   - description: the `error_description` (MAS always sends one).
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    static func invalidRequest(_ description: String) -> Self { Self(.invalidRequest, description) }
    static func invalidClient(_ description: String) -> Self { Self(.invalidClient, description) }
    static func invalidGrant(_ description: String) -> Self { Self(.invalidGrant, description) }
    static func unauthorizedClient(_ description: String) -> Self { Self(.unauthorizedClient, description) }
    static func invalidScope(_ description: String) -> Self { Self(.invalidScope, description) }
    static let unavailable = Self(.temporarilyUnavailable, "The service is temporarily unavailable; try again later")
    static let internalError = Self(.serverError, "An internal error occurred")
}
