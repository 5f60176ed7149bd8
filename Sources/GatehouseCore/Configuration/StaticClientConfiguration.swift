/// `clients[]`: an OAuth 2.0 client the admin declares in the configuration (MAS's static clients),
/// synced into the store when `gatehouse serve` starts.
///
/// Unlike dynamically registered clients, static clients are trusted by the admin: they may be
/// confidential (a secret), and their redirect URIs are not tied to a `client_uri`. They must still
/// be absolute URIs without a fragment or user information.
public struct StaticClientConfiguration: Sendable, Equatable {
    /// `client_id`: a ULID, as MAS requires.
    public var clientId: String
    /// `client_auth_method`.
    public var authMethod: ClientAuthMethod
    /// The secret from `client_secret` or `client_secret_file` (file content trimmed); only for the
    /// `client_secret_*` methods. Only its hash reaches the store.
    public var secret: String?
    /// `redirect_uris`.
    public var redirectURIs: [String]
    /// `client_name`.
    public var clientName: String?
    /// `client_uri`.
    public var clientURI: String?
    /// `id_token_signed_response_alg`: the algorithm of its id_tokens (`nil`: the server's default).
    public var idTokenSignedResponseAlg: SigningAlgorithm?
    /// `userinfo_signed_response_alg`: set, the userinfo endpoint answers it a signed JWT.
    public var userinfoSignedResponseAlg: SigningAlgorithm?

    /// Shortest accepted secret in bytes: only its SHA-256 is stored, which is safe for a random
    /// secret of this length and not for a guessable one.
    public static let minimumSecretBytes = 32

    /// - Parameters:
    ///   - clientId: the ULID.
    ///   - authMethod: how the client authenticates at the token endpoint.
    ///   - secret: its secret, for the `client_secret_*` methods.
    ///   - redirectURIs: its redirect URIs.
    ///   - clientName: a display name.
    ///   - clientURI: its home page.
    ///   - idTokenSignedResponseAlg: its id_token algorithm.
    ///   - userinfoSignedResponseAlg: its signed-userinfo algorithm.
    public init(
        clientId: String, authMethod: ClientAuthMethod, secret: String? = nil, redirectURIs: [String], clientName: String? = nil,
        clientURI: String? = nil, idTokenSignedResponseAlg: SigningAlgorithm? = nil, userinfoSignedResponseAlg: SigningAlgorithm? = nil
    ) {
        self.clientId = clientId
        self.authMethod = authMethod
        self.secret = secret
        self.redirectURIs = redirectURIs
        self.clientName = clientName
        self.clientURI = clientURI
        self.idTokenSignedResponseAlg = idTokenSignedResponseAlg
        self.userinfoSignedResponseAlg = userinfoSignedResponseAlg
    }

    /// The metadata stored for this client: MAS's static clients may use every grant; the
    /// `client_credentials` grant only with a secret.
    public var metadata: ClientMetadata {
        var grants = [GrantType.authorizationCode, GrantType.refreshToken, GrantType.deviceCode]
        if authMethod.usesSecret { grants.append(GrantType.clientCredentials) }
        return ClientMetadata(
            applicationType: .web, redirectURIs: redirectURIs, grantTypes: grants, responseTypes: ["code"],
            tokenEndpointAuthMethod: authMethod.rawValue, clientName: clientName.map { ["": $0] } ?? [:],
            clientURI: clientURI.map { ["": $0] } ?? [:], idTokenSignedResponseAlg: idTokenSignedResponseAlg,
            userinfoSignedResponseAlg: userinfoSignedResponseAlg)
    }

    /// Why `uri` cannot be a static client's redirect URI, or `nil` when it can: an absolute URI
    /// (RFC 6749 §3.1.2) without fragment or user information.
    /// - Parameter uri: the URI as written.
    public static func problem(withRedirectURI uri: String) -> String? {
        switch URIReference.parse(uri) {
        case .failure(.notASCII): return "must be printable ASCII without spaces (percent-encode the rest)"
        case .failure(.noScheme): return "is not an absolute URI (no scheme)"
        case .failure(.badHost): return "has a host that is not a plain domain name or IP address"
        case .failure(.badPort): return "has an invalid port"
        case .success(let parsed):
            if parsed.hasFragment { return "has a fragment (#), which redirect URIs must not have (RFC 6749 §3.1.2)" }
            if parsed.hasUserInfo { return "contains user information (user@host)" }
            if parsed.scheme == "http" && !parsed.isLoopback {
                return "uses http on a host other than the loopback interface; use https"
            }
            return nil
        }
    }
}
