#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseStorage

extension OAuth2TokenService {
    /// `grant_type=client_credentials` (RFC 6749 §4.4): a confidential client acting for itself. The
    /// session has no user and no device, the answer an access token only. Matrix and Synapse scopes
    /// are refused (only a user's interactive grant may carry them), as is `urn:mas:admin` (no admin
    /// API here).
    func clientCredentials(client: OAuth2Client, scope: String?) async throws(OAuth2TokenError) -> TokenResponse {
        guard ClientAuthMethod(rawValue: client.metadata.tokenEndpointAuthMethod)?.usesSecret == true else {
            throw .unauthorizedClient("client_credentials is only for confidential clients")
        }
        var tokens: [String] = []
        for token in OAuth2Scope.tokens(scope ?? "") where !tokens.contains(token) {
            guard MatrixScope.isValidToken(token) else { throw .invalidScope("The scope contains an invalid token") }
            if token.hasPrefix("urn:matrix:") || token.hasPrefix("urn:synapse:admin:") || token == "urn:mas:admin" {
                throw .invalidScope("\(token) cannot be granted to a client acting for itself")
            }
            tokens.append(token)
        }
        let granted = tokens.joined(separator: " ")
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
