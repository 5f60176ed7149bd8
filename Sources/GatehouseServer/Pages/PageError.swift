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
    /// An account page named a session that is not one of the user's (unknown or someone else's,
    /// ended or not: the same answer, so nothing leaks).
    case sessionNotFound
    /// An account page named one of the user's own sessions that had already ended: its view, its
    /// sign-out confirmation, a rename or a second sign-out (another tab, an old link). The admin API
    /// answers the same outcome with 400 too.
    case sessionAlreadyEnded
    /// A deep link named a device none of the user's active sessions has.
    case deviceNotFound(String)
    /// Synapse refused a change; nothing was changed.
    case homeserverRefused
    /// Synapse could not be reached; nothing was changed.
    case homeserverUnavailable
    /// A session ended, but Synapse did not confirm its device was deleted (a job keeps trying).
    case deviceRemovalUnconfirmed

    var status: HTTPResponseStatus {
        switch self {
        case .notFound, .grantNotFound, .ssoLoginNotFound, .registrationDisabled, .sessionNotFound, .deviceNotFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .csrf, .adminScopeRefused: .forbidden
        case .badRequest, .invalidAuthorizationRequest, .grantAnswered, .deviceCodeExpired, .ssoLoginExpired, .ssoLoginUsed,
            .invalidRedirectURL, .sessionAlreadyEnded:
            .badRequest
        case .pagesUnavailable, .unavailable, .homeserverUnavailable: .serviceUnavailable
        case .homeserverRefused, .deviceRemovalUnconfirmed: .badGateway
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
        case .sessionNotFound: "Session not found"
        case .sessionAlreadyEnded: "This session has already ended"
        case .deviceNotFound: "Device not found"
        case .homeserverRefused: "The homeserver refused the change"
        case .homeserverUnavailable: "The homeserver cannot be reached"
        case .deviceRemovalUnconfirmed: "Signed out, but the device is not removed yet"
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
        case .sessionNotFound: "You have no session with this ID."
        case .sessionAlreadyEnded: "It was signed out before; there is nothing more to do."
        case .deviceNotFound(let deviceId):
            "None of your active sessions uses the device \(deviceId). It may have been signed out already, or the link is wrong."
        case .homeserverRefused: "Nothing was changed. Try again; if it keeps failing, tell the server's administrator."
        case .homeserverUnavailable: "Nothing was changed. Try again in a moment."
        case .deviceRemovalUnconfirmed:
            "The session was signed out and its access token no longer works, but the homeserver did not confirm that the device "
                + "was deleted. Gatehouse keeps trying; the device disappears from your device list once the homeserver accepts it."
        }
    }
}
