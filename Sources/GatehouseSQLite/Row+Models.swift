#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// Column lists and row decoding for the model types.
///
/// Joins select every table's columns under an alias prefix (`u_id`, `s_id`, …) so that one row can
/// carry a token, its session and its user without name clashes; single-table queries use the empty
/// prefix.
enum Columns {
    static let user = ["id", "username", "created_at", "locked_at", "deactivated_at", "is_admin"]
    static let password = ["id", "user_id", "version", "hashed_password", "created_at"]
    static let compatSession = [
        "id", "user_id", "device_id", "display_name", "is_synapse_admin", "created_at", "finished_at", "last_active_at", "last_active_ip",
    ]
    static let compatAccessToken = ["id", "session_id", "token_hash", "created_at", "expires_at", "revoked_at"]
    static let compatRefreshToken = [
        "id", "session_id", "access_token_id", "token_hash", "created_at", "consumed_at", "revoked_at", "next_refresh_token_id",
    ]
    static let compatLoginToken = ["id", "user_id", "token_hash", "created_at", "expires_at", "consumed_at"]
    static let job = ["id", "kind", "payload", "attempts", "run_at", "lease_until", "last_error", "created_at", "completed_at"]

    /// `alias.column AS alias_column, …`.
    /// - Parameters:
    ///   - columns: one of the lists above.
    ///   - alias: the table alias in the query, also used as the prefix.
    static func select(_ columns: [String], as alias: String) -> String {
        columns.map { "\(alias).\($0) AS \(alias)_\($0)" }.joined(separator: ", ")
    }

    /// `column, …` for single-table queries.
    /// - Parameter columns: one of the lists above.
    static func select(_ columns: [String]) -> String {
        columns.joined(separator: ", ")
    }
}

extension Row {
    private func date(_ column: String) -> Date {
        Date(storedMilliseconds: self[column] as Int64)
    }

    private func optionalDate(_ column: String) -> Date? {
        (self[column] as Int64?).map(Date.init(storedMilliseconds:))
    }

    /// Decodes a `users` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func user(prefix p: String = "") -> User {
        User(
            id: self[p + "id"], username: self[p + "username"], createdAt: date(p + "created_at"),
            lockedAt: optionalDate(p + "locked_at"), deactivatedAt: optionalDate(p + "deactivated_at"), isAdmin: self[p + "is_admin"])
    }

    /// Decodes a `user_passwords` row.
    func passwordRecord() -> PasswordRecord {
        PasswordRecord(
            id: self["id"], userId: self["user_id"], version: self["version"], hash: self["hashed_password"],
            createdAt: date("created_at"))
    }

    /// Decodes a `compat_sessions` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func compatSession(prefix p: String = "") -> CompatSession {
        CompatSession(
            id: self[p + "id"], userId: self[p + "user_id"], deviceId: self[p + "device_id"], displayName: self[p + "display_name"],
            isSynapseAdmin: self[p + "is_synapse_admin"], createdAt: date(p + "created_at"), finishedAt: optionalDate(p + "finished_at"),
            lastActiveAt: optionalDate(p + "last_active_at"), lastActiveAddress: self[p + "last_active_ip"])
    }

    /// Decodes a `compat_access_tokens` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func compatAccessToken(prefix p: String = "") -> CompatAccessToken {
        CompatAccessToken(
            id: self[p + "id"], sessionId: self[p + "session_id"], tokenHash: self[p + "token_hash"], createdAt: date(p + "created_at"),
            expiresAt: optionalDate(p + "expires_at"), revokedAt: optionalDate(p + "revoked_at"))
    }

    /// Decodes a `compat_refresh_tokens` row.
    /// - Parameter prefix: `""` or the join alias followed by `_`.
    func compatRefreshToken(prefix p: String = "") -> CompatRefreshToken {
        CompatRefreshToken(
            id: self[p + "id"], sessionId: self[p + "session_id"], accessTokenId: self[p + "access_token_id"],
            tokenHash: self[p + "token_hash"], createdAt: date(p + "created_at"), consumedAt: optionalDate(p + "consumed_at"),
            revokedAt: optionalDate(p + "revoked_at"), nextRefreshTokenId: self[p + "next_refresh_token_id"])
    }

    /// Decodes a `compat_login_tokens` row.
    func compatLoginToken(prefix p: String = "") -> CompatLoginToken {
        CompatLoginToken(
            id: self[p + "id"], userId: self[p + "user_id"], tokenHash: self[p + "token_hash"], createdAt: date(p + "created_at"),
            expiresAt: date(p + "expires_at"), consumedAt: optionalDate(p + "consumed_at"))
    }

    /// Decodes a `jobs` row.
    func job() -> Job {
        Job(
            id: self["id"], kind: self["kind"], payload: self["payload"], attempts: self["attempts"], runAt: date("run_at"),
            lastError: self["last_error"], createdAt: date("created_at"), completedAt: optionalDate("completed_at"))
    }
}
