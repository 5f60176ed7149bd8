import GatehouseCore
import GatehouseStorage

/// A page request with what every handler needs: the query, the form (POST), the session cookie
/// and the signed-in browser session, if any. Handlers change ``cookie`` to sign in or out; the
/// responder then sends the new cookie.
struct PageRequest {
    let raw: LocalRequest
    let query: [(name: String, value: String)]
    var form: [(name: String, value: String)] = []
    var cookie: SessionCookieContents
    /// Whether the request carried a valid cookie (a POST without one fails the CSRF check).
    let hadCookie: Bool
    /// Whether ``cookie`` must be sent (new, changed, or its session found invalid).
    var cookieChanged: Bool
    /// The signed-in browser session and its user (active: not finished, user not locked or deactivated).
    var session: BrowserSession?
    var user: User?
    let clientAddress: String?

    var path: String { String(raw.target.canonicalPath) }
    var isPost: Bool { raw.method == .POST }
    var csrf: String { SessionCookie.csrfToken(for: cookie) }
    var userAgent: String? { raw.headers.first(name: "user-agent").map { String($0.prefix(512)) } }

    /// A query parameter; `nil` when absent or repeated.
    func query(_ name: String) -> String? {
        if case .value(let value) = FormURLEncoded.single(name, in: query) { return value }
        return nil
    }

    /// A form field; `nil` when absent or repeated.
    func field(_ name: String) -> String? {
        if case .value(let value) = FormURLEncoded.single(name, in: form) { return value }
        return nil
    }

    /// Replaces the cookie (sign-in, sign-out): a new CSRF secret each time (ASVS 7.2.4).
    mutating func replaceCookie(_ contents: SessionCookieContents) {
        cookie = contents
        cookieChanged = true
    }
}

/// Where the login (or registration) page continues once the user is signed in (MAS's
/// `kind=…&id=…` post-auth actions, and `kind=manage_account&action=…&device_id=…` for the account
/// page's deep links).
enum Continuation: Equatable {
    case authorizationGrant(String)
    case compatSSOLogin(String)
    case deviceGrant(String)
    /// The account page, with the MSC4191 action (and device) of the link that led to the login.
    case manageAccount(action: String?, deviceId: String?)

    /// From the query of a login or registration page; `nil` when it names none, or names one wrongly
    /// (the caller refuses that).
    /// - Parameter query: reads one query parameter.
    init?(query: (String) -> String?) {
        let kind = query("kind")
        if kind == "manage_account" {
            let action = query("action")
            let deviceId = query("device_id")
            // Plain text carried back into a URL (always encoded); bounded so a link cannot grow without limit.
            guard (action?.utf8.count ?? 0) <= 64, (deviceId?.utf8.count ?? 0) <= 255 else { return nil }
            self = .manageAccount(action: action, deviceId: deviceId)
            return
        }
        guard let kind, let id = query("id"), !id.isEmpty, id.utf8.count <= 64,
            id.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F })
        else { return nil }
        switch kind {
        case "continue_authorization_grant": self = .authorizationGrant(id)
        case "continue_compat_sso_login": self = .compatSSOLogin(id)
        case "continue_device_grant": self = .deviceGrant(id)
        default: return nil
        }
    }

    var parameters: [(String, String)] {
        switch self {
        case .authorizationGrant(let id): [("kind", "continue_authorization_grant"), ("id", id)]
        case .compatSSOLogin(let id): [("kind", "continue_compat_sso_login"), ("id", id)]
        case .deviceGrant(let id): [("kind", "continue_device_grant"), ("id", id)]
        case .manageAccount(let action, let deviceId):
            [("kind", "manage_account")] + (action.map { [("action", $0)] } ?? []) + (deviceId.map { [("device_id", $0)] } ?? [])
        }
    }

    /// The page that goes on with the flow (always a path of Gatehouse's own).
    var target: String {
        switch self {
        case .authorizationGrant(let id): "/consent/\(id)"
        case .compatSSOLogin(let id): "/complete-compat-sso/\(id)"
        case .deviceGrant(let id): "/device/\(id)"
        case .manageAccount(let action, let deviceId):
            FormURLEncoded.appendingQuery(to: "/account/", (action.map { [("action", $0)] } ?? []) + (deviceId.map { [("device_id", $0)] } ?? []))
        }
    }

    /// `path?kind=…&id=…` (plus `extra`).
    static func url(_ path: String, _ continuation: Continuation?, extra: [(String, String)] = []) -> String {
        FormURLEncoded.appendingQuery(to: path, (continuation?.parameters ?? []) + extra)
    }
}
