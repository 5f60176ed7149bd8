/// What a matching rule does with the request.
public enum RouteAction: Sendable, Equatable, CustomStringConvertible {
    /// Answered inside Gatehouse by the named service (see ``LocalServiceName``).
    case local(LocalServiceName)
    /// Forwarded to the named upstream pool.
    case proxy(String)
    /// Refused with this status and a Matrix JSON error.
    case deny(Int)
    /// Answered with a redirect to a fixed location.
    case redirect(status: Int, location: String)

    public var description: String {
        switch self {
        case .local(let service): "local \(service.rawValue)"
        case .proxy(let upstream): "proxy \(upstream)"
        case .deny(let status): "deny \(status)"
        case .redirect(let status, let location): "redirect \(status) \(location)"
        }
    }
}

/// The services Gatehouse answers itself. A `local` rule must name one of these.
public enum LocalServiceName: String, Sendable, CaseIterable {
    /// `GET /health`: 200 while the process serves.
    case health
    /// The Matrix legacy login layer: `/login`, `/logout`, `/logout/all`, `/refresh`.
    case matrixCompat = "matrix-compat"
    /// OAuth 2.0 / OpenID Connect endpoints and discovery documents.
    case oauth2
    /// The HTML pages (login, consent, account).
    case pages
    /// The administration API (`/api/admin/v1/…`, `/api/spec.json`), answered only on the listeners
    /// of `admin_api.listeners`.
    case adminAPI = "admin-api"

    /// The largest request body the service ever needs; a rule's `max_body=` can only lower it.
    /// Health and discovery take none, the rest small forms and JSON documents.
    public var maxBodyBytes: Int {
        switch self {
        case .health: 0
        case .matrixCompat, .oauth2, .pages, .adminAPI: 64 * 1024
        }
    }
}

/// Per-rule settings written as `key=value` after the action.
public struct RouteOptions: Sendable, Equatable {
    /// `max_body=SIZE`: largest request body accepted; `nil` uses `limits.max_body_bytes`.
    public var maxBodyBytes: Int?
    /// `timeout=DURATION`: how long to wait for the upstream; `nil` uses `timeouts.upstream`.
    public var upstreamTimeout: Duration?

    public init(maxBodyBytes: Int? = nil, upstreamTimeout: Duration? = nil) {
        self.maxBodyBytes = maxBodyBytes
        self.upstreamTimeout = upstreamTimeout
    }
}

/// Where a rule was written, for error messages and `gatehouse routes test`.
public struct RuleSource: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    /// The line as written, without its trailing comment.
    public var text: String

    public var description: String { "\(file):\(line)" }
}

/// One parsed (not yet compiled) route rule.
public struct RouteRule: Sendable, Equatable {
    /// Methods the rule applies to; `nil` means any. `GET` also covers `HEAD`.
    public var methods: Set<String>?
    /// The PCRE2 pattern, matched against the canonical path.
    public var pattern: String
    public var action: RouteAction
    public var options: RouteOptions
    public var source: RuleSource

    /// Whether `method` is one this rule applies to.
    /// - Parameter method: the request method, upper case.
    @inlinable
    public func allows(method: String) -> Bool {
        guard let methods else { return true }
        return methods.contains(method) || (method == "HEAD" && methods.contains("GET"))
    }
}
