import CoreMetrics

/// Counts login outcomes through swift-metrics: `POST /login` with a password or a login token, and
/// OAuth 2.0 token requests by grant type. A login is rare next to a proxied request and costs a
/// password hash, so a handle is looked up per event (the registry returns the same counter).
public struct LoginMetrics: Sendable {
    private let factory: (any MetricsFactory)?

    /// - Parameter factory: where counters are made; `nil` records nothing (metrics off).
    public init(factory: (any MetricsFactory)?) {
        self.factory = factory
    }

    /// Records nothing.
    public static let off = LoginMetrics(factory: nil)

    /// One `POST /login` answered.
    /// - Parameters:
    ///   - type: the login type as the client sent it, when it is one Gatehouse knows (`m.login.password`, `m.login.token`), else `other`.
    ///   - outcome: `success`, or the refusal's short name (`invalid_credentials`, `rate_limited`, ...).
    func compatLogin(type: String, outcome: String) {
        guard let factory else { return }
        Counter(label: "gatehouse_compat_logins_total", dimensions: [("type", type), ("outcome", outcome)], factory: factory).increment()
    }

    /// One `POST /oauth2/token` answered.
    /// - Parameters:
    ///   - grantType: the grant type when it is one Gatehouse supports, else `other`.
    ///   - outcome: `success`, or the OAuth 2.0 error code (RFC 6749 §5.2).
    func tokenGrant(grantType: String, outcome: String) {
        guard let factory else { return }
        Counter(label: "gatehouse_oauth2_token_requests_total", dimensions: [("grant_type", grantType), ("outcome", outcome)], factory: factory)
            .increment()
    }
}
