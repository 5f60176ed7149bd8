/// Paths of Gatehouse's OAuth 2.0 / OIDC endpoints (relative to `http.public_base`, served at the root
/// because Synapse drops any path of its `matrix_authentication_service.endpoint`).
enum OAuth2Endpoints {
    /// GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §4, RFC 8414)
    static let discovery = "/.well-known/openid-configuration"
    /// GET /.well-known/webfinger (RFC 7033; OpenID Connect Discovery 1.0 §2)
    static let webfinger = "/.well-known/webfinger"
    /// GET /oauth2/keys.json (RFC 7517 JWK Set; MAS's `jwks_uri`)
    static let keys = "/oauth2/keys.json"
    /// POST /oauth2/introspect (RFC 7662)
    static let introspection = "/oauth2/introspect"
    /// GET /authorize (RFC 6749 §3.1)
    static let authorization = "/authorize"
    /// POST /oauth2/token (RFC 6749 §3.2)
    static let token = "/oauth2/token"
    /// POST /oauth2/registration (RFC 7591 dynamic client registration; MSC2966).
    static let registration = "/oauth2/registration"
    /// POST /oauth2/revoke (RFC 7009)
    static let revocation = "/oauth2/revoke"
    /// GET|POST /oauth2/userinfo (OpenID Connect Core 1.0 §5.3)
    static let userinfo = "/oauth2/userinfo"
    /// POST /oauth2/device (RFC 8628 §3.1)
    static let deviceAuthorization = "/oauth2/device"
    /// The account management page advertised to clients (MSC4191).
    static let accountManagement = "account/"
}
