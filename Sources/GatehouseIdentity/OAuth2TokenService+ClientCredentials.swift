#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseStorage

extension OAuth2TokenService {
    /// `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client acting for itself. The
    /// session has no user and no device, the answer an access token only. The scope policy
    /// (``AuthorizationScope``) refuses Matrix and Synapse scopes (only a user's interactive grant may
    /// carry them); `urn:mas:admin` only for the clients of `admin_api.clients` (MAS
    /// `policy.data.admin_clients`).
    func clientCredentials(client: OAuth2Client, scope: String?) async throws(OAuth2TokenError) -> TokenResponse {
        guard ClientAuthMethod(rawValue: client.metadata.tokenEndpointAuthMethod)?.usesSecret == true else {
            throw .unauthorizedClient("client_credentials is only for confidential clients")
        }
        let checked = try AuthorizationScope.check(scope, for: .clientCredentials).orInvalidScope()
        if checked.requestsAdminAPI && !configuration.adminClients.contains(client.id) {
            throw .invalidScope("The client is not allowed the scope \(AuthorizationScope.adminAPI) (see admin_api.clients)")
        }
        let granted = checked.text
        let now = clock.now()
        let session = OAuth2Session(
            id: ULID.make(at: now, random: random), clientId: client.id, userId: nil, scope: granted, deviceId: nil, createdAt: now)
        let (accessToken, accessRow) = OAuth2Tokens.access(
            session: session.id, now: now, expiresAt: now.addingTimeInterval(Self.seconds(configuration.accessTokenTTL)), random: random)
        do {
            try await store.oauth2Sessions.create(session: session, accessToken: accessRow, refreshToken: nil, grantId: nil)
        } catch {
            throw .unavailable
        }
        return TokenResponse(
            accessToken: accessToken, expiresIn: Self.wholeSeconds(configuration.accessTokenTTL), refreshToken: nil,
            scope: granted.isEmpty ? nil : granted, idToken: nil)
    }
}
