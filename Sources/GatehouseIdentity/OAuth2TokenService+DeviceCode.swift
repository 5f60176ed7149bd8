#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

extension OAuth2TokenService {
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4–§3.5).
    ///
    /// Answers, in this order: unknown code or another client's → `invalid_grant`; exchanged already
    /// → `invalid_grant`; expired → `expired_token`; pending → `slow_down` when polled sooner than the
    /// interval after the previous poll (refused polls count, so a client that does not back off stays
    /// refused; RFC 8628 §3.5 has it add 5 s to its interval), else `authorization_pending`; rejected →
    /// `access_denied`; approved → the tokens (a refresh token only if the client may use the
    /// `refresh_token` grant). The errors are 400 as RFC 8628 says (MAS sends 403).
    func exchangeDeviceCode(client: OAuth2Client, deviceCode: String) async throws(OAuth2TokenError) -> TokenResponse {
        let now = clock.now()
        let polled: DeviceCodeGrant?
        do {
            polled = try await store.deviceGrants.poll(deviceCodeHash: TokenHasher.sha256Hex(deviceCode), at: now)
        } catch {
            throw .unavailable
        }
        guard let grant = polled, grant.clientId == client.id else { throw .invalidGrant("Invalid device code") }
        if grant.status == .exchanged { throw .invalidGrant("The device code was already used") }
        guard now < grant.expiresAt else { throw OAuth2TokenError(.expiredToken, "The device code has expired") }
        switch grant.status {
        case .pending:
            if let last = grant.lastPolledAt, now.timeIntervalSince(last) < Self.seconds(configuration.deviceCodePollInterval) {
                let interval = Self.wholeSeconds(configuration.deviceCodePollInterval)
                throw OAuth2TokenError(.slowDown, "Polled too often; wait \(interval) s more between requests")
            }
            throw OAuth2TokenError(.authorizationPending, "The user has not approved the request yet")
        case .rejected:
            throw OAuth2TokenError(.accessDenied, "The user declined the request")
        case .exchanged:
            throw .invalidGrant("The device code was already used")
        case .approved:
            break
        }
        do {
            try await store.deviceGrants.exchange(id: grant.id, at: now)
        } catch let error as StorageError where error.isConflict {
            throw .invalidGrant("The device code was already used")
        } catch {
            throw .unavailable
        }
        let store = self.store
        let release: @Sendable () async -> Void = { try? await store.deviceGrants.release(id: grant.id, exchangedAt: now) }
        let user: User?
        let browserSession: (BrowserSession, User)?
        do {
            user = try await grant.userId.asyncMap { try await store.users.find(id: $0) }
            browserSession = try await grant.browserSessionId.asyncMap { try await store.browserSessions.find(id: $0) }
        } catch {
            await release()
            throw .unavailable
        }
        guard let user, user.isActive else { throw .invalidGrant("The user who approved the request is no longer active") }
        let deviceId = try grantedDevice(scope: grant.scope, user: user)
        return try await startSession(
            SessionStart(
                user: user, client: client, scope: grant.scope, deviceId: deviceId, browserSessionId: grant.browserSessionId,
                grantId: grant.id, issuesRefreshToken: client.metadata.grantTypes.contains(GrantType.refreshToken), nonce: nil,
                authTime: browserSession?.0.authenticatedAt ?? grant.decidedAt, code: nil),
            release: release)
    }
}
