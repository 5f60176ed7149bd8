#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Browser sessions of the HTML pages. Every method is one transaction.
public protocol BrowserSessionRepository: Sendable {
    func create(_ session: BrowserSession) async throws
    /// The session with its user, whatever their state (the caller checks `finishedAt` and the user).
    func find(id: String) async throws -> (BrowserSession, User)?
    /// Records a fresh password check (`prompt=login`).
    func reauthenticate(id: String, at: Date) async throws
    /// Signs out; `false` when there was no unfinished session with this id.
    func finish(id: String, at: Date) async throws -> Bool
    /// Finishes every unfinished browser session of a user (lock, deactivation, kill-sessions).
    func finishAll(userId: String, at: Date) async throws
    /// The unfinished browser sessions of a user, oldest first (the account page).
    func activeSessions(userId: String) async throws -> [BrowserSession]
}

/// Authorization grants of `/authorize`. Every method is one transaction.
public protocol AuthorizationGrantRepository: Sendable {
    func create(_ grant: AuthorizationGrant) async throws
    func find(id: String) async throws -> AuthorizationGrant?
    /// Records consent: stores the code's hash, the user and browser session. Fails with
    /// ``StorageError/conflict(_:)`` unless the grant is pending.
    func fulfil(id: String, userId: String, browserSessionId: String, codeHash: String, at: Date) async throws
    /// The user declined. Fails with ``StorageError/conflict(_:)`` unless the grant is pending.
    func cancel(id: String, at: Date) async throws
    /// Marks the fulfilled grant whose code has this hash exchanged at `at`, or reports that it
    /// already was (a replay). Single use is enforced in the same transaction.
    func redeem(codeHash: String, at: Date) async throws -> CodeRedemption
    /// Undoes a redemption made at `redeemedAt` whose exchange failed before any session existed
    /// (Synapse unavailable), so the client may retry with the same code.
    func release(id: String, redeemedAt: Date) async throws
}

/// RFC 8628 device authorizations. Every method is one transaction.
public protocol DeviceCodeGrantRepository: Sendable {
    /// Fails with ``StorageError/conflict(_:)`` when a pending grant has the same user code.
    func create(_ grant: DeviceCodeGrant) async throws
    func find(id: String) async throws -> DeviceCodeGrant?
    /// The pending grant with this user code (exact, upper-case), if any.
    func findPending(userCode: String) async throws -> DeviceCodeGrant?
    /// Records a poll by device code and returns the grant as it was before this poll (its previous
    /// `lastPolledAt` decides `slow_down`).
    func poll(deviceCodeHash: String, at: Date) async throws -> DeviceCodeGrant?
    /// Approves (`approved: true`) or rejects a pending grant. Fails with
    /// ``StorageError/conflict(_:)`` unless it is pending.
    func decide(id: String, approved: Bool, userId: String, browserSessionId: String, at: Date) async throws
    /// Marks an approved grant exchanged. Fails with ``StorageError/conflict(_:)`` unless it is
    /// approved (a second exchange loses).
    func exchange(id: String, at: Date) async throws
    /// Undoes an exchange made at `exchangedAt` that failed before any session existed.
    func release(id: String, exchangedAt: Date) async throws
}

/// OAuth 2.0 sessions and their tokens. Every method is one transaction.
public protocol OAuth2SessionRepository: Sendable {
    /// Creates a session with its first access token (and refresh token, when given). With
    /// `grantId`, records the session on that authorization grant (or device code grant) in the same
    /// transaction.
    func create(session: OAuth2Session, accessToken: OAuth2AccessToken, refreshToken: OAuth2RefreshToken?, grantId: String?) async throws

    func find(sessionId: String) async throws -> OAuth2Session?
    /// Every session of a user, finished or not, oldest first.
    func sessions(userId: String) async throws -> [OAuth2Session]
    /// Unfinished sessions of a user.
    func activeSessions(userId: String) async throws -> [OAuth2Session]
    /// The unfinished session of a user on a device, if any (one indexed lookup: logins and code
    /// exchanges ask this every time, whatever number of sessions the user has).
    func activeSession(userId: String, deviceId: String) async throws -> OAuth2Session?

    /// Finishes a session and revokes all its tokens; `false` when it was already finished.
    func finish(sessionId: String, at: Date) async throws -> Bool
    /// Finishes every unfinished session of a user; returns them.
    func finishAll(userId: String, at: Date) async throws -> [OAuth2Session]

    func lookupAccessToken(hash: String) async throws -> OAuth2TokenLookup<OAuth2AccessToken>?
    func lookupRefreshToken(hash: String) async throws -> OAuth2TokenLookup<OAuth2RefreshToken>?
    func findRefreshToken(id: String) async throws -> OAuth2RefreshToken?
    func findAccessToken(id: String) async throws -> OAuth2AccessToken?
    /// Records the first use of an access token (no-op when already recorded).
    func markUsed(accessTokenId: String, at: Date) async throws

    /// Refresh rotation, as ``CompatSessionRepository/rotate(consumed:newAccessToken:newRefreshToken:at:)``.
    func rotate(consumed refreshTokenId: String, newAccessToken: OAuth2AccessToken, newRefreshToken: OAuth2RefreshToken, at: Date) async throws
    /// The lost-response retry, as ``CompatSessionRepository/reissue(replayed:successor:newAccessToken:newRefreshToken:at:)``.
    func reissue(
        replayed refreshTokenId: String, successor successorId: String, newAccessToken: OAuth2AccessToken,
        newRefreshToken: OAuth2RefreshToken, at: Date) async throws

    /// Records activity (best effort, may be coalesced).
    func touch(sessionId: String, at: Date) async throws
    /// Sets the name the user chose for the session (`human_name`); `false` when there is no unfinished session with this id.
    func rename(sessionId: String, humanName: String?) async throws -> Bool
}

/// Legacy SSO logins. Every method is one transaction.
public protocol CompatSSOLoginRepository: Sendable {
    func create(_ login: CompatSSOLogin) async throws
    func find(id: String) async throws -> CompatSSOLogin?
    /// Fulfils a login and stores its `m.login.token` in one transaction. Fails with
    /// ``StorageError/conflict(_:)`` when it was fulfilled already.
    func fulfil(id: String, userId: String, loginToken: CompatLoginToken, at: Date) async throws
}
