#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

extension OAuth2TokenService {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5–§4.6).
    ///
    /// The code is used once, whatever happens next: a wrong `redirect_uri`, a missing or wrong PKCE
    /// verifier, an expired code or an ended browser session all burn it. Only failures that leave
    /// nothing behind and are not the client's fault (another client presenting it, Synapse or the
    /// store failing, a signing failure) release it, so the right client's retry works. A code
    /// presented again ends the session its first exchange created (RFC 6749 §4.1.2).
    func exchangeCode(client: OAuth2Client, code: String, redirectURI: String?, verifier: String?) async throws(OAuth2TokenError) -> TokenResponse {
        let now = clock.now()
        let redemption: CodeRedemption
        do {
            redemption = try await store.authorizationGrants.redeem(codeHash: TokenHasher.sha256Hex(code), at: now)
        } catch {
            throw .unavailable
        }
        let grant: AuthorizationGrant
        switch redemption {
        case .unknown:
            throw .invalidGrant("Invalid authorization code")
        case .replayed(let replayed):
            try await endSession(ofReplayed: replayed)
            throw .invalidGrant("The authorization code was already used")
        case .redeemed(let redeemed):
            grant = redeemed
        }
        let store = self.store
        let release: @Sendable () async -> Void = { try? await store.authorizationGrants.release(id: grant.id, redeemedAt: now) }

        guard grant.clientId == client.id else {
            await release()
            throw .invalidGrant("The authorization code was issued to another client")
        }
        guard let fulfilledAt = grant.fulfilledAt, now.timeIntervalSince(fulfilledAt) <= Self.seconds(configuration.authorizationCodeTTL) else {
            throw .invalidGrant("The authorization code has expired")
        }
        if let redirectURI, redirectURI != grant.redirectURI {
            throw .invalidGrant("redirect_uri does not match the authorization request")
        }
        guard let verifier else { throw .invalidRequest("code_verifier is required (PKCE, RFC 7636)") }
        guard PKCE.isWellFormedVerifier(verifier) else {
            throw .invalidRequest("code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'")
        }
        guard PKCE.verify(verifier: verifier, challenge: grant.codeChallenge) else {
            throw .invalidGrant("PKCE verification failed: the code_verifier does not match the code_challenge")
        }

        let browser: (BrowserSession, User)?
        do {
            browser = try await grant.browserSessionId.asyncMap { try await store.browserSessions.find(id: $0) }
        } catch {
            await release()
            throw .unavailable
        }
        guard let (browserSession, user) = browser, browserSession.finishedAt == nil, user.id == grant.userId, user.isActive else {
            throw .invalidGrant("The session that authorized this code has ended")
        }
        let deviceId = try grantedDevice(scope: grant.scope, user: user)
        return try await startSession(
            SessionStart(
                user: user, client: client, scope: grant.scope, deviceId: deviceId, browserSessionId: browserSession.id, grantId: grant.id,
                issuesRefreshToken: true, nonce: grant.nonce, authTime: browserSession.authenticatedAt, code: code),
            release: release)
    }

    /// Ends the session created by the first exchange of a replayed code, if there is one yet (if the
    /// first exchange is still running, the mark the replay left keeps it from storing its session).
    private func endSession(ofReplayed grant: AuthorizationGrant) async throws(OAuth2TokenError) {
        logger.warning(
            "token: an authorization code was presented again; the session its first exchange created is ended (RFC 6749 §4.1.2)",
            metadata: ["client": "\(grant.clientId)"])
        guard let sessionId = grant.sessionId else { return }
        do {
            guard let session = try await store.oauth2Sessions.find(sessionId: sessionId) else { return }
            try await terminator.end(session)
        } catch {
            // The session must not survive a replay: the client is told to retry rather than
            // being answered while the tokens still work.
            throw .unavailable
        }
    }
}
