#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseAuth
import GatehouseCore
import GatehouseStorage

extension OAuth2TokenService {
    /// `grant_type=refresh_token` (RFC 6749 §6) with rotation: the refresh token is consumed and its
    /// access token dies; a new pair is issued.
    ///
    /// A refresh token presented again after use is a replay (RFC 9700 §4.14.2): the whole session ends
    /// and its device is deleted. One exception, MAS's (MAS#2795): the client that lost the answer to
    /// its refresh retries with the token it used last, whose successor refresh token was never used
    /// and whose successor access token was never introspected (`first_used_at` unset); it gets a
    /// fresh pair once, and the unused successor dies. Presentations racing each other are answered
    /// as if they had come one after the other.
    func refresh(client: OAuth2Client, refreshToken: String) async throws(OAuth2TokenError) -> TokenResponse {
        guard case .success(.refreshToken) = TokenFormat.check(refreshToken) else { throw .invalidGrant("Invalid refresh token") }
        let now = clock.now()
        let found: OAuth2TokenLookup<OAuth2RefreshToken>?
        do {
            found = try await store.oauth2Sessions.lookupRefreshToken(hash: TokenHasher.sha256Hex(refreshToken))
        } catch {
            throw .unavailable
        }
        guard let found else { throw .invalidGrant("Invalid refresh token") }
        guard found.session.clientId == client.id else { throw .invalidGrant("The refresh token was issued to another client") }
        guard found.session.finishedAt == nil, let user = found.user, user.isActive else { throw .invalidGrant("The session has ended") }
        let old = found.token
        guard old.consumedAt == nil, old.revokedAt == nil else {
            return try await replayed(old, session: found.session, now: now)
        }
        let (accessToken, accessRow, newRefresh, refreshRow) = newPair(session: found.session.id, now: now)
        do {
            try await store.oauth2Sessions.rotate(consumed: old.id, newAccessToken: accessRow, newRefreshToken: refreshRow, at: now)
        } catch let error as StorageError where error.isConflict {
            // A concurrent presentation of the same token rotated it first: this one is answered as
            // if it had come a moment later, so the outcome never depends on the timing.
            let current: OAuth2RefreshToken?
            do {
                current = try await store.oauth2Sessions.findRefreshToken(id: old.id)
            } catch {
                throw .unavailable
            }
            guard let current, current.consumedAt != nil || current.revokedAt != nil else { throw .invalidGrant("Invalid refresh token") }
            return try await replayed(current, session: found.session, now: now)
        } catch let error as StorageError where error.isNotFound {
            throw .invalidGrant("Invalid refresh token")
        } catch {
            throw .unavailable
        }
        onRevocation()
        return response(accessToken, newRefresh, session: found.session)
    }

    /// A used or revoked refresh token of a live session: the one lost-response retry, or the end of
    /// the session.
    private func replayed(_ old: OAuth2RefreshToken, session: OAuth2Session, now: Date) async throws(OAuth2TokenError) -> TokenResponse {
        if old.consumedAt != nil, old.revokedAt == nil, let successorId = old.nextRefreshTokenId {
            let successor: OAuth2RefreshToken?
            let successorAccess: OAuth2AccessToken?
            do {
                successor = try await store.oauth2Sessions.findRefreshToken(id: successorId)
                successorAccess = try await successor.asyncMap { try await store.oauth2Sessions.findAccessToken(id: $0.accessTokenId) }
            } catch {
                throw .unavailable
            }
            if let successor, successor.consumedAt == nil, successor.revokedAt == nil, let successorAccess, successorAccess.firstUsedAt == nil {
                let (accessToken, accessRow, newRefresh, refreshRow) = newPair(session: session.id, now: now)
                do {
                    try await store.oauth2Sessions.reissue(
                        replayed: old.id, successor: successor.id, newAccessToken: accessRow, newRefreshToken: refreshRow, at: now)
                    onRevocation()
                    logger.info(
                        "token: a client retried a refresh whose answer it lost; new tokens issued once",
                        metadata: ["client": "\(session.clientId)", "session": "\(session.id)"])
                    return response(accessToken, newRefresh, session: session)
                } catch let error as StorageError where error.isConflict {
                    // A concurrent retry or refresh won: this presentation is a replay after all.
                } catch {
                    throw .unavailable
                }
            }
        }
        logger.warning(
            "token: a used refresh token was presented again; the session is ended (RFC 9700 §4.14.2)",
            metadata: ["client": "\(session.clientId)", "session": "\(session.id)"])
        do {
            try await terminator.end(session)
        } catch {
            throw .unavailable
        }
        throw .invalidGrant("The refresh token was already used")
    }

    private func newPair(session: String, now: Date) -> (String, OAuth2AccessToken, String, OAuth2RefreshToken) {
        let (accessToken, accessRow) = OAuth2Tokens.access(
            session: session, now: now, expiresAt: now.addingTimeInterval(Self.seconds(configuration.accessTokenTTL)), random: random)
        let (refreshToken, refreshRow) = OAuth2Tokens.refresh(session: session, accessTokenId: accessRow.id, now: now, random: random)
        return (accessToken, accessRow, refreshToken, refreshRow)
    }

    private func response(_ accessToken: String, _ refreshToken: String, session: OAuth2Session) -> TokenResponse {
        TokenResponse(
            accessToken: accessToken, expiresIn: Self.wholeSeconds(configuration.accessTokenTTL), refreshToken: refreshToken,
            scope: session.scope.isEmpty ? nil : session.scope, idToken: nil)
    }
}
