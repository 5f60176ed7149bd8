import NIOHTTP1

/// Every failure a page shows, mapped in one place to a status and the words of the error page.
enum PageError: Error, Equatable {
    case notFound
    case methodNotAllowed
    /// A form without the CSRF token of this browser's cookie.
    case csrf
    case badRequest(String)
    /// `/authorize` with an unknown client or an unregistered redirect URI: shown, never redirected.
    case invalidAuthorizationRequest(String)
    case grantNotFound
    case grantAnswered
    case deviceCodeExpired
    case ssoLoginNotFound
    case ssoLoginExpired
    case ssoLoginUsed
    case invalidRedirectURL(String)
    case adminScopeRefused
    case registrationDisabled
    /// `secrets.encryption` is not configured: no cookie can be sealed.
    case pagesUnavailable
    case unavailable
    case internalError

    var status: HTTPResponseStatus {
        switch self {
        case .notFound, .grantNotFound, .ssoLoginNotFound, .registrationDisabled: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .csrf, .adminScopeRefused: .forbidden
        case .badRequest, .invalidAuthorizationRequest, .grantAnswered, .deviceCodeExpired, .ssoLoginExpired, .ssoLoginUsed,
            .invalidRedirectURL:
            .badRequest
        case .pagesUnavailable, .unavailable: .serviceUnavailable
        case .internalError: .internalServerError
        }
    }

    var title: String {
        switch self {
        case .notFound: "Page not found"
        case .methodNotAllowed: "Method not allowed"
        case .csrf: "This form has expired"
        case .badRequest: "Bad request"
        case .invalidAuthorizationRequest: "Invalid request from the application"
        case .grantNotFound: "Request not found"
        case .grantAnswered: "This request was already answered"
        case .deviceCodeExpired: "This code has expired"
        case .ssoLoginNotFound: "Login not found"
        case .ssoLoginExpired: "This login session expired."
        case .ssoLoginUsed: "This login was already completed"
        case .invalidRedirectURL: "Invalid redirect address"
        case .adminScopeRefused: "Administrator access refused"
        case .registrationDisabled: "Registration is not available"
        case .pagesUnavailable: "Sign-in is not available"
        case .unavailable: "Try again later"
        case .internalError: "Something went wrong"
        }
    }

    var message: String {
        switch self {
        case .notFound: "There is no page at this address."
        case .methodNotAllowed: "This page does not accept that kind of request."
        case .csrf: "The form was not sent from this browser session, or the session changed. Go back, reload the page and try again."
        case .badRequest(let detail), .invalidAuthorizationRequest(let detail), .invalidRedirectURL(let detail): detail
        case .grantNotFound: "The sign-in request does not exist. Start again from the application."
        case .grantAnswered: "The sign-in request has already been allowed or cancelled. Start again from the application."
        case .deviceCodeExpired: "The code is no longer valid. Start again on your device to get a new one."
        case .ssoLoginNotFound: "This login does not exist. Start again from your Matrix client."
        case .ssoLoginExpired: "Logins must be completed within 30 minutes. Start again from your Matrix client."
        case .ssoLoginUsed: "Start again from your Matrix client to sign in once more."
        case .adminScopeRefused:
            "The application asks for server administration rights (urn:synapse:admin:*), which your account does not have. "
                + "Ask the application to sign in without them."
        case .registrationDisabled: "This server does not offer account registration."
        case .pagesUnavailable:
            "The server's administrator has not configured secrets.encryption, which the sign-in pages need to protect their cookies."
        case .unavailable: "The server is busy or cannot reach the homeserver. Try again in a moment."
        case .internalError: "The server could not complete the request. Try again; if it keeps failing, tell the server's administrator."
        }
    }
}
