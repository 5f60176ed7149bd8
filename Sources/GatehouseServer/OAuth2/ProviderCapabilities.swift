import GatehouseCore

/// What the provider offers, from which the discovery document is built.
///
/// The document advertises an endpoint, and the parameters that only make sense with it (grant
/// types with the token endpoint, PKCE methods and prompts with `/authorize`, …), only when the
/// endpoint is in ``endpoints``.
struct ProviderCapabilities: Sendable {
    /// The endpoints this build serves.
    var endpoints: Set<ProviderEndpoint>
    /// `account.password_registration_enabled`: adds `create` to `prompt_values_supported`.
    var passwordRegistration: Bool
    /// The algorithms id_tokens are signed with (from `secrets.keys`).
    var signingAlgorithms: [SigningAlgorithm]

    /// The endpoints served today. Add an endpoint here when its handler lands.
    static let servedEndpoints: Set<ProviderEndpoint> = Set<ProviderEndpoint>([.jwks, .introspection, .registration, .authorization])
        .union(tokenEndpoints)

    /// The endpoints that issue, revoke or read tokens; served only with a Synapse client to create
    /// devices with (``OAuth2Service/TokenIssuing``).
    static let tokenEndpoints: Set<ProviderEndpoint> = [.token, .revocation, .userinfo, .deviceAuthorization]

    /// What this build offers with the given signing algorithms.
    /// - Parameters:
    ///   - signingAlgorithms: the algorithms of `secrets.keys`.
    ///   - issuesTokens: whether the token endpoints are served.
    ///   - passwordRegistration: `account.password_registration_enabled` (the registration page).
    static func thisBuild(
        signingAlgorithms: [SigningAlgorithm], issuesTokens: Bool = true, passwordRegistration: Bool = false
    ) -> ProviderCapabilities {
        ProviderCapabilities(
            endpoints: issuesTokens ? servedEndpoints : servedEndpoints.subtracting(tokenEndpoints), passwordRegistration: passwordRegistration,
            signingAlgorithms: signingAlgorithms)
    }
}
