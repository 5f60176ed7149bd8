import Foundation
import NIOHTTP1

/// Every operation of the admin API with its method and path (MAS's `crates/handlers/src/admin/v1`
/// names and shapes). The responder dispatches on this table and the OpenAPI document is written
/// from it, so the two cannot disagree (a test checks the document against it).
enum AdminEndpoint: String, CaseIterable, Sendable {
    /// GET /api/admin/v1/site-config
    case siteConfig
    /// GET /api/admin/v1/users
    case listUsers
    /// POST /api/admin/v1/users
    case addUser
    /// GET /api/admin/v1/users/{id}
    case getUser
    /// GET /api/admin/v1/users/by-username/{username}
    case getUserByUsername
    /// POST /api/admin/v1/users/{id}/set-password
    case setPassword
    /// POST /api/admin/v1/users/{id}/set-admin
    case setAdmin
    /// POST /api/admin/v1/users/{id}/lock
    case lockUser
    /// POST /api/admin/v1/users/{id}/unlock
    case unlockUser
    /// POST /api/admin/v1/users/{id}/deactivate
    case deactivateUser
    /// POST /api/admin/v1/users/{id}/reactivate
    case reactivateUser
    /// GET /api/admin/v1/compat-sessions
    case listCompatSessions
    /// GET /api/admin/v1/compat-sessions/{id}
    case getCompatSession
    /// POST /api/admin/v1/compat-sessions/{id}/finish
    case finishCompatSession
    /// GET /api/admin/v1/oauth2-sessions
    case listOAuth2Sessions
    /// GET /api/admin/v1/oauth2-sessions/{id}
    case getOAuth2Session
    /// POST /api/admin/v1/oauth2-sessions/{id}/finish
    case finishOAuth2Session
    /// GET /api/admin/v1/user-sessions
    case listUserSessions
    /// GET /api/admin/v1/user-sessions/{id}
    case getUserSession
    /// POST /api/admin/v1/user-sessions/{id}/finish
    case finishUserSession
    /// GET /api/admin/v1/oauth2-clients
    case listOAuth2Clients
    /// GET /api/admin/v1/oauth2-clients/{id}
    case getOAuth2Client

    /// The prefix of every operation's path.
    static let base = "/api/admin/v1"
    /// `GET /api/spec.json`: the OpenAPI document (not an operation of its own).
    static let specPath = "/api/spec.json"

    var method: HTTPMethod {
        switch self {
        case .addUser, .setPassword, .setAdmin, .lockUser, .unlockUser, .deactivateUser, .reactivateUser, .finishCompatSession,
            .finishOAuth2Session, .finishUserSession:
            .POST
        default: .GET
        }
    }

    /// The path template, OpenAPI style (`{id}` is one segment).
    var path: String { Self.base + relativePath }

    /// The path under ``base``.
    private var relativePath: String {
        switch self {
            case .siteConfig: "/site-config"
            case .listUsers, .addUser: "/users"
            case .getUser: "/users/{id}"
            case .getUserByUsername: "/users/by-username/{username}"
            case .setPassword: "/users/{id}/set-password"
            case .setAdmin: "/users/{id}/set-admin"
            case .lockUser: "/users/{id}/lock"
            case .unlockUser: "/users/{id}/unlock"
            case .deactivateUser: "/users/{id}/deactivate"
            case .reactivateUser: "/users/{id}/reactivate"
            case .listCompatSessions: "/compat-sessions"
            case .getCompatSession: "/compat-sessions/{id}"
            case .finishCompatSession: "/compat-sessions/{id}/finish"
            case .listOAuth2Sessions: "/oauth2-sessions"
            case .getOAuth2Session: "/oauth2-sessions/{id}"
            case .finishOAuth2Session: "/oauth2-sessions/{id}/finish"
            case .listUserSessions: "/user-sessions"
            case .getUserSession: "/user-sessions/{id}"
            case .finishUserSession: "/user-sessions/{id}/finish"
            case .listOAuth2Clients: "/oauth2-clients"
            case .getOAuth2Client: "/oauth2-clients/{id}"
        }
    }

    /// The `filter[…]` names a list accepts (the handler and the OpenAPI document both read this).
    var filters: [String] {
        switch self {
        case .listUsers: ["admin", "status", "search"]
        case .listCompatSessions, .listUserSessions: ["user", "status"]
        case .listOAuth2Sessions: ["user", "client", "status"]
        default: []
        }
    }

    /// Whether the operation is a paginated list.
    var isList: Bool {
        switch self {
        case .listUsers, .listCompatSessions, .listOAuth2Sessions, .listUserSessions, .listOAuth2Clients: true
        default: false
        }
    }

    /// The members of the JSON body: name, JSON type, required.
    var bodyMembers: [(name: String, type: String, required: Bool)] {
        switch self {
        case .addUser: [("username", "string", true), ("skip_homeserver_check", "boolean", false)]
        case .setPassword: [("password", "string", true), ("skip_password_check", "boolean", false)]
        case .setAdmin: [("admin", "boolean", true)]
        case .deactivateUser: [("skip_erase", "boolean", false)]
        default: []
        }
    }

    /// What a path matched: the operations at that path (one per method) and the `{…}` parameter.
    struct Match: Equatable {
        var endpoints: [AdminEndpoint]
        /// The value of the template's parameter, percent-decoded; `nil` for paths without one.
        var parameter: String?
    }

    /// The operations whose template matches `path` (a literal segment beats a parameter, so
    /// `/users/by-username/x` is never `/users/{id}` with id `by-username`), or `nil`.
    /// - Parameter path: the canonical request path, without query.
    static func match(path: String) -> Match? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var best: (literal: Int, match: Match)?
        for endpoint in allCases {
            let template = endpoint.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            guard template.count == segments.count else { continue }
            var parameter: String?
            var literal = 0
            var matches = true
            for (part, segment) in zip(template, segments) {
                if part.hasPrefix("{") {
                    // No id or username holds a NUL; SQLite would read bound text only up to it.
                    guard !segment.isEmpty, let decoded = String(segment).removingPercentEncoding, !decoded.utf8.contains(0) else {
                        matches = false
                        break
                    }
                    parameter = decoded
                } else if part == segment {
                    literal += 1
                } else {
                    matches = false
                    break
                }
            }
            guard matches else { continue }
            switch best {
            case .some(let current) where current.literal > literal: continue
            case .some(let current) where current.literal == literal: best?.match.endpoints.append(endpoint)
            default: best = (literal, Match(endpoints: [endpoint], parameter: parameter))
            }
        }
        return best?.match
    }
}
