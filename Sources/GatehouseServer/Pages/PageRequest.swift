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

    var path: String { raw.target.canonicalPath }
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
/// `kind=…&id=…` post-auth actions).
enum Continuation: Equatable {
    case authorizationGrant(String)
    case compatSSOLogin(String)
    case deviceGrant(String)

    /// From `kind` and `id`; `nil` when either is missing or unknown.
    init?(kind: String?, id: String?) {
        guard let kind, let id, !id.isEmpty, id.utf8.count <= 64,
            id.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F })
        else { return nil }
        switch kind {
        case "continue_authorization_grant": self = .authorizationGrant(id)
        case "continue_compat_sso_login": self = .compatSSOLogin(id)
        case "continue_device_grant": self = .deviceGrant(id)
        default: return nil
        }
    }

    var kind: String {
        switch self {
        case .authorizationGrant: "continue_authorization_grant"
        case .compatSSOLogin: "continue_compat_sso_login"
        case .deviceGrant: "continue_device_grant"
        }
    }

    var id: String {
        switch self {
        case .authorizationGrant(let id), .compatSSOLogin(let id), .deviceGrant(let id): id
        }
    }

    var parameters: [(String, String)] { [("kind", kind), ("id", id)] }

    /// The page that goes on with the flow.
    var target: String {
        switch self {
        case .authorizationGrant(let id): "/consent/\(id)"
        case .compatSSOLogin(let id): "/complete-compat-sso/\(id)"
        case .deviceGrant(let id): "/device/\(id)"
        }
    }

    /// `path?kind=…&id=…` (plus `extra`).
    static func url(_ path: String, _ continuation: Continuation?, extra: [(String, String)] = []) -> String {
        FormURLEncoded.appendingQuery(to: path, (continuation?.parameters ?? []) + extra)
    }
}
