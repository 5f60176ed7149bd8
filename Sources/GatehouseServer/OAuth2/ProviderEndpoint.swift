/// An endpoint the discovery document can advertise, with its metadata name and path.
///
/// Discovery lists only the endpoints in ``ProviderCapabilities/endpoints``, so a client never tries
/// a flow this build does not serve; an endpoint that lands is added there in one line.
enum ProviderEndpoint: String, CaseIterable, Sendable {
    case authorization = "authorization_endpoint"
    case token = "token_endpoint"
    case jwks = "jwks_uri"
    case registration = "registration_endpoint"
    case revocation = "revocation_endpoint"
    case introspection = "introspection_endpoint"
    case userinfo = "userinfo_endpoint"
    case deviceAuthorization = "device_authorization_endpoint"

    /// The metadata member naming the endpoint (RFC 8414 §2, OpenID Connect Discovery 1.0 §3).
    var metadataName: String { rawValue }

    /// The path, from the root.
    var path: String {
        switch self {
        case .authorization: OAuth2Endpoints.authorization
        case .token: OAuth2Endpoints.token
        case .jwks: OAuth2Endpoints.keys
        case .registration: OAuth2Endpoints.registration
        case .revocation: OAuth2Endpoints.revocation
        case .introspection: OAuth2Endpoints.introspection
        case .userinfo: OAuth2Endpoints.userinfo
        case .deviceAuthorization: OAuth2Endpoints.deviceAuthorization
        }
    }
}
