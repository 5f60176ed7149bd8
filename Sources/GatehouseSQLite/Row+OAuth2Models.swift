#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// Column lists of the OAuth 2.0 tables (migrations `0005_oauth2_sessions` and `0008_session_activity`), in model order.
extension Columns {
    static let browserSession = [
        "id", "user_id", "created_at", "authenticated_at", "finished_at", "user_agent", "last_active_at", "last_active_ip",
    ]
    static let authorizationGrant = [
        "id", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "response_mode", "login_hint", "created_at",
        "user_id", "browser_session_id", "fulfilled_at", "code_hash", "exchanged_at", "session_id", "cancelled_at",
    ]
    static let deviceCodeGrant = [
        "id", "client_id", "scope", "device_code_hash", "user_code", "created_at", "expires_at", "status", "user_id",
        "browser_session_id", "decided_at", "last_polled_at", "exchanged_at", "session_id",
    ]
    static let oauth2Session = [
        "id", "client_id", "user_id", "scope", "device_id", "browser_session_id", "created_at", "finished_at", "last_active_at",
        "last_active_ip", "human_name",
    ]
    static let oauth2AccessToken = ["id", "session_id", "token_hash", "created_at", "expires_at", "revoked_at", "first_used_at"]
    static let oauth2RefreshToken = [
        "id", "session_id", "access_token_id", "token_hash", "created_at", "consumed_at", "revoked_at", "next_refresh_token_id",
    ]
    static let compatSSOLogin = ["id", "redirect_url", "created_at", "fulfilled_at", "user_id", "login_token_id"]

    /// `?, ?, …` for an INSERT of `columns`.
    /// - Parameter columns: one of the lists.
    static func placeholders(_ columns: [String]) -> String {
        Array(repeating: "?", count: columns.count).joined(separator: ", ")
    }
}

extension Row {
    private func storedDate(_ column: String) -> Date {
        Date(storedMilliseconds: self[column] as Int64)
    }

    private func storedOptionalDate(_ column: String) -> Date? {
        (self[column] as Int64?).map(Date.init(storedMilliseconds:))
    }

    /// Decodes a `browser_sessions` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func browserSession(prefix p: String = "") -> BrowserSession {
        BrowserSession(
            id: self[p + "id"], userId: self[p + "user_id"], createdAt: storedDate(p + "created_at"),
            authenticatedAt: storedDate(p + "authenticated_at"), finishedAt: storedOptionalDate(p + "finished_at"),
            userAgent: self[p + "user_agent"], lastActiveAt: storedOptionalDate(p + "last_active_at"),
            lastActiveAddress: self[p + "last_active_ip"])
    }

    /// Decodes an `oauth2_authorization_grants` row.
    func authorizationGrant() -> AuthorizationGrant {
        AuthorizationGrant(
            id: self["id"], clientId: self["client_id"], redirectURI: self["redirect_uri"], scope: self["scope"], state: self["state"],
            nonce: self["nonce"], codeChallenge: self["code_challenge"],
            responseMode: ResponseMode(rawValue: self["response_mode"]) ?? .query, loginHint: self["login_hint"],
            createdAt: storedDate("created_at"), userId: self["user_id"], browserSessionId: self["browser_session_id"],
            fulfilledAt: storedOptionalDate("fulfilled_at"), codeHash: self["code_hash"], exchangedAt: storedOptionalDate("exchanged_at"),
            sessionId: self["session_id"], cancelledAt: storedOptionalDate("cancelled_at"))
    }

    /// Decodes an `oauth2_device_code_grants` row.
    func deviceCodeGrant() -> DeviceCodeGrant {
        DeviceCodeGrant(
            id: self["id"], clientId: self["client_id"], scope: self["scope"], deviceCodeHash: self["device_code_hash"],
            userCode: self["user_code"], createdAt: storedDate("created_at"), expiresAt: storedDate("expires_at"),
            status: DeviceCodeGrant.Status(rawValue: self["status"]) ?? .rejected, userId: self["user_id"],
            browserSessionId: self["browser_session_id"], decidedAt: storedOptionalDate("decided_at"),
            lastPolledAt: storedOptionalDate("last_polled_at"), exchangedAt: storedOptionalDate("exchanged_at"),
            sessionId: self["session_id"])
    }

    /// Decodes an `oauth2_sessions` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func oauth2Session(prefix p: String = "") -> OAuth2Session {
        OAuth2Session(
            id: self[p + "id"], clientId: self[p + "client_id"], userId: self[p + "user_id"], scope: self[p + "scope"],
            deviceId: self[p + "device_id"], browserSessionId: self[p + "browser_session_id"], createdAt: storedDate(p + "created_at"),
            finishedAt: storedOptionalDate(p + "finished_at"), lastActiveAt: storedOptionalDate(p + "last_active_at"),
            lastActiveAddress: self[p + "last_active_ip"], humanName: self[p + "human_name"])
    }

    /// Decodes an `oauth2_access_tokens` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func oauth2AccessToken(prefix p: String = "") -> OAuth2AccessToken {
        OAuth2AccessToken(
            id: self[p + "id"], sessionId: self[p + "session_id"], tokenHash: self[p + "token_hash"], createdAt: storedDate(p + "created_at"),
            expiresAt: storedDate(p + "expires_at"), revokedAt: storedOptionalDate(p + "revoked_at"),
            firstUsedAt: storedOptionalDate(p + "first_used_at"))
    }

    /// Decodes an `oauth2_refresh_tokens` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func oauth2RefreshToken(prefix p: String = "") -> OAuth2RefreshToken {
        OAuth2RefreshToken(
            id: self[p + "id"], sessionId: self[p + "session_id"], accessTokenId: self[p + "access_token_id"],
            tokenHash: self[p + "token_hash"], createdAt: storedDate(p + "created_at"), consumedAt: storedOptionalDate(p + "consumed_at"),
            revokedAt: storedOptionalDate(p + "revoked_at"), nextRefreshTokenId: self[p + "next_refresh_token_id"])
    }

    /// Decodes a `compat_sso_logins` row.
    func compatSSOLogin() -> CompatSSOLogin {
        CompatSSOLogin(
            id: self["id"], redirectURL: self["redirect_url"], createdAt: storedDate("created_at"),
            fulfilledAt: storedOptionalDate("fulfilled_at"), userId: self["user_id"], loginTokenId: self["login_token_id"])
    }
}
