/// Paths of Gatehouse's OAuth 2.0 / OIDC endpoints (relative to `http.public_base`, served at the root
/// because Synapse drops any path of its `matrix_authentication_service.endpoint`).
enum OAuth2Endpoints {
    /// GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §4, RFC 8414)
    static let discovery = "/.well-known/openid-configuration"
    /// POST /oauth2/introspect (RFC 7662)
    static let introspection = "/oauth2/introspect"
    /// POST /oauth2/registration (RFC 7591 dynamic client registration; MSC2966). Advertised as
    /// `registration_endpoint` = `{public_base}oauth2/registration`.
    static let registration = "/oauth2/registration"
    /// The account management page advertised to clients (MSC4191).
    static let accountManagement = "account/"
}
