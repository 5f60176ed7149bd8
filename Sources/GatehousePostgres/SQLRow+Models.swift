#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// Row decoding of the model types, as the SQLite store's `Row+Models`.
extension SQLRow {
    /// Decodes a `users` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func user(prefix p: String = "") throws -> User {
        User(
            id: try string(p + "id"), username: try string(p + "username"), createdAt: try date(p + "created_at"),
            lockedAt: try optionalDate(p + "locked_at"), deactivatedAt: try optionalDate(p + "deactivated_at"), isAdmin: try bool(p + "is_admin"))
    }

    /// Decodes a `user_passwords` row.
    func passwordRecord() throws -> PasswordRecord {
        PasswordRecord(
            id: try string("id"), userId: try string("user_id"), version: try int("version"), hash: try string("hashed_password"),
            createdAt: try date("created_at"))
    }

    /// Decodes a `compat_sessions` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func compatSession(prefix p: String = "") throws -> CompatSession {
        CompatSession(
            id: try string(p + "id"), userId: try string(p + "user_id"), deviceId: try string(p + "device_id"),
            displayName: try optionalString(p + "display_name"), isSynapseAdmin: try bool(p + "is_synapse_admin"),
            createdAt: try date(p + "created_at"), finishedAt: try optionalDate(p + "finished_at"),
            lastActiveAt: try optionalDate(p + "last_active_at"), lastActiveAddress: try optionalString(p + "last_active_ip"))
    }

    /// Decodes a `compat_access_tokens` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func compatAccessToken(prefix p: String = "") throws -> CompatAccessToken {
        CompatAccessToken(
            id: try string(p + "id"), sessionId: try string(p + "session_id"), tokenHash: try string(p + "token_hash"),
            createdAt: try date(p + "created_at"), expiresAt: try optionalDate(p + "expires_at"), revokedAt: try optionalDate(p + "revoked_at"))
    }

    /// Decodes a `compat_refresh_tokens` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func compatRefreshToken(prefix p: String = "") throws -> CompatRefreshToken {
        CompatRefreshToken(
            id: try string(p + "id"), sessionId: try string(p + "session_id"), accessTokenId: try string(p + "access_token_id"),
            tokenHash: try string(p + "token_hash"), createdAt: try date(p + "created_at"), consumedAt: try optionalDate(p + "consumed_at"),
            revokedAt: try optionalDate(p + "revoked_at"), nextRefreshTokenId: try optionalString(p + "next_refresh_token_id"))
    }

    /// Decodes a `compat_login_tokens` row.
    func compatLoginToken(prefix p: String = "") throws -> CompatLoginToken {
        CompatLoginToken(
            id: try string(p + "id"), userId: try string(p + "user_id"), tokenHash: try string(p + "token_hash"),
            createdAt: try date(p + "created_at"), expiresAt: try date(p + "expires_at"), consumedAt: try optionalDate(p + "consumed_at"))
    }

    /// Decodes a `jobs` row.
    func job() throws -> Job {
        Job(
            id: try string("id"), kind: try string("kind"), payload: try string("payload"), attempts: try int("attempts"),
            runAt: try date("run_at"), lastError: try optionalString("last_error"), createdAt: try date("created_at"),
            completedAt: try optionalDate("completed_at"))
    }

    /// Decodes a `browser_sessions` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func browserSession(prefix p: String = "") throws -> BrowserSession {
        BrowserSession(
            id: try string(p + "id"), userId: try string(p + "user_id"), createdAt: try date(p + "created_at"),
            authenticatedAt: try date(p + "authenticated_at"), finishedAt: try optionalDate(p + "finished_at"),
            userAgent: try optionalString(p + "user_agent"), lastActiveAt: try optionalDate(p + "last_active_at"),
            lastActiveAddress: try optionalString(p + "last_active_ip"))
    }

    /// Decodes an `oauth2_authorization_grants` row.
    func authorizationGrant() throws -> AuthorizationGrant {
        AuthorizationGrant(
            id: try string("id"), clientId: try string("client_id"), redirectURI: try string("redirect_uri"), scope: try string("scope"),
            state: try optionalString("state"), nonce: try optionalString("nonce"), codeChallenge: try string("code_challenge"),
            responseMode: ResponseMode(rawValue: try string("response_mode")) ?? .query, loginHint: try optionalString("login_hint"),
            createdAt: try date("created_at"), userId: try optionalString("user_id"), browserSessionId: try optionalString("browser_session_id"),
            fulfilledAt: try optionalDate("fulfilled_at"), codeHash: try optionalString("code_hash"), exchangedAt: try optionalDate("exchanged_at"),
            sessionId: try optionalString("session_id"), cancelledAt: try optionalDate("cancelled_at"))
    }

    /// Decodes an `oauth2_device_code_grants` row.
    func deviceCodeGrant() throws -> DeviceCodeGrant {
        DeviceCodeGrant(
            id: try string("id"), clientId: try string("client_id"), scope: try string("scope"), deviceCodeHash: try string("device_code_hash"),
            userCode: try string("user_code"), createdAt: try date("created_at"), expiresAt: try date("expires_at"),
            status: DeviceCodeGrant.Status(rawValue: try string("status")) ?? .rejected, userId: try optionalString("user_id"),
            browserSessionId: try optionalString("browser_session_id"), decidedAt: try optionalDate("decided_at"),
            lastPolledAt: try optionalDate("last_polled_at"), exchangedAt: try optionalDate("exchanged_at"),
            sessionId: try optionalString("session_id"))
    }

    /// Decodes an `oauth2_sessions` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func oauth2Session(prefix p: String = "") throws -> OAuth2Session {
        OAuth2Session(
            id: try string(p + "id"), clientId: try string(p + "client_id"), userId: try optionalString(p + "user_id"),
            scope: try string(p + "scope"), deviceId: try optionalString(p + "device_id"),
            browserSessionId: try optionalString(p + "browser_session_id"), createdAt: try date(p + "created_at"),
            finishedAt: try optionalDate(p + "finished_at"), lastActiveAt: try optionalDate(p + "last_active_at"),
            lastActiveAddress: try optionalString(p + "last_active_ip"), humanName: try optionalString(p + "human_name"))
    }

    /// Decodes an `oauth2_access_tokens` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func oauth2AccessToken(prefix p: String = "") throws -> OAuth2AccessToken {
        OAuth2AccessToken(
            id: try string(p + "id"), sessionId: try string(p + "session_id"), tokenHash: try string(p + "token_hash"),
            createdAt: try date(p + "created_at"), expiresAt: try date(p + "expires_at"), revokedAt: try optionalDate(p + "revoked_at"),
            firstUsedAt: try optionalDate(p + "first_used_at"))
    }

    /// Decodes an `oauth2_refresh_tokens` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func oauth2RefreshToken(prefix p: String = "") throws -> OAuth2RefreshToken {
        OAuth2RefreshToken(
            id: try string(p + "id"), sessionId: try string(p + "session_id"), accessTokenId: try string(p + "access_token_id"),
            tokenHash: try string(p + "token_hash"), createdAt: try date(p + "created_at"), consumedAt: try optionalDate(p + "consumed_at"),
            revokedAt: try optionalDate(p + "revoked_at"), nextRefreshTokenId: try optionalString(p + "next_refresh_token_id"))
    }

    /// Decodes a `compat_sso_logins` row.
    func compatSSOLogin() throws -> CompatSSOLogin {
        CompatSSOLogin(
            id: try string("id"), redirectURL: try string("redirect_url"), createdAt: try date("created_at"),
            fulfilledAt: try optionalDate("fulfilled_at"), userId: try optionalString("user_id"), loginTokenId: try optionalString("login_token_id"))
    }
}
