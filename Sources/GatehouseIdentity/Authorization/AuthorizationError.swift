/// Error codes of the authorization response (sent to the client's redirect URI).
public enum AuthorizationErrorCode: String, Sendable, Equatable {
    /// RFC 6749 §4.1.2.1: a parameter is missing, repeated, malformed or not allowed.
    case invalidRequest = "invalid_request"
    /// RFC 6749 §4.1.2.1: the client may not use the authorization code grant.
    case unauthorizedClient = "unauthorized_client"
    /// RFC 6749 §4.1.2.1: the user declined.
    case accessDenied = "access_denied"
    /// RFC 6749 §4.1.2.1: only `code` is supported.
    case unsupportedResponseType = "unsupported_response_type"
    /// RFC 6749 §4.1.2.1: the scope is refused by the scope policy.
    case invalidScope = "invalid_scope"
    /// RFC 6749 §4.1.2.1: the server failed.
    case serverError = "server_error"
    /// OpenID Connect Core 1.0 §3.1.2.6: `prompt=none` without a browser session.
    case loginRequired = "login_required"
    /// OpenID Connect Core 1.0 §3.1.2.6: `prompt=none` while consent is always asked.
    case consentRequired = "consent_required"
    /// OpenID Connect Core 1.0 §3.1.2.6: `request` objects are not supported.
    case requestNotSupported = "request_not_supported"
    /// OpenID Connect Core 1.0 §3.1.2.6: `request_uri` is not supported.
    case requestURINotSupported = "request_uri_not_supported"
    /// OpenID Connect Core 1.0 §3.1.2.6: `registration` is not supported.
    case registrationNotSupported = "registration_not_supported"
}

/// An error to send back to the client through its redirect URI.
public struct AuthorizationError: Error, Equatable, Sendable {
    public var code: AuthorizationErrorCode
    public var description: String

    public init(_ code: AuthorizationErrorCode, _ description: String) {
        self.code = code
        self.description = description
    }
}
