#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// The state changes of a session's token family, shared by compat and OAuth 2.0 sessions, as the
/// SQLite store's `TokenFamilyTables` (its doc comment explains the rules). The conditional UPDATEs are
/// the single point of truth: of two concurrent transactions only one sees its change.
struct TokenFamilyTables: Sendable {
    let sessions: String
    let accessTokens: String
    let refreshTokens: String

    static let compat = TokenFamilyTables(sessions: "compat_sessions", accessTokens: "compat_access_tokens", refreshTokens: "compat_refresh_tokens")
    static let oauth2 = TokenFamilyTables(sessions: "oauth2_sessions", accessTokens: "oauth2_access_tokens", refreshTokens: "oauth2_refresh_tokens")

    /// Rotation: `refreshTokenId` is consumed with `successorId` (already inserted) as its successor,
    /// and the access token issued with it dies.
    func consume(_ db: PostgresTransaction, refreshTokenId: String, accessTokenId: String, successorId: String, at: Date) async throws {
        let changed = try await db.execute(
            "UPDATE \(refreshTokens) SET consumed_at = ?, next_refresh_token_id = ? WHERE id = ? AND consumed_at IS NULL",
            [at.storedMilliseconds, successorId, refreshTokenId])
        guard changed == 1 else {
            throw StorageError.conflict("refresh token \(refreshTokenId) was already used")
        }
        try await revokeAccessToken(db, id: accessTokenId, at: at)
    }

    /// The lost-response retry (see the SQLite store's `TokenFamilyTables.reissue`).
    func reissue(
        _ db: PostgresTransaction, replayed refreshTokenId: String, successorId: String, successorAccessTokenId: String, sessionId: String,
        newRefreshTokenId: String, at: Date, insertNewPair: () async throws -> Void
    ) async throws {
        let time = at.storedMilliseconds
        var changed = try await db.execute(
            """
            UPDATE \(refreshTokens) SET revoked_at = ? WHERE id = ? AND session_id = ? AND next_refresh_token_id = ?
            AND consumed_at IS NOT NULL AND revoked_at IS NULL
            """,
            [time, refreshTokenId, sessionId, successorId])
        guard changed == 1 else {
            throw StorageError.conflict("refresh token \(refreshTokenId) is not the used predecessor of \(successorId)")
        }
        changed = try await db.execute(
            "UPDATE \(refreshTokens) SET revoked_at = ? WHERE id = ? AND consumed_at IS NULL AND revoked_at IS NULL", [time, successorId])
        guard changed == 1 else {
            throw StorageError.conflict("refresh token \(successorId) was used or revoked")
        }
        try await revokeAccessToken(db, id: successorAccessTokenId, at: at)
        try await insertNewPair()
        try await db.execute("UPDATE \(refreshTokens) SET next_refresh_token_id = ? WHERE id = ?", [newRefreshTokenId, refreshTokenId])
    }

    /// Ends a session and revokes all its tokens.
    /// - Returns: `false` when the session was finished already (nothing changed).
    @discardableResult
    func finish(_ db: PostgresTransaction, sessionId: String, at: Date) async throws -> Bool {
        let time = at.storedMilliseconds
        guard try await db.execute("UPDATE \(sessions) SET finished_at = ? WHERE id = ? AND finished_at IS NULL", [time, sessionId]) == 1 else {
            return false
        }
        for table in [accessTokens, refreshTokens] {
            try await db.execute("UPDATE \(table) SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL", [time, sessionId])
        }
        return true
    }

    private func revokeAccessToken(_ db: PostgresTransaction, id: String, at: Date) async throws {
        try await db.execute("UPDATE \(accessTokens) SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [at.storedMilliseconds, id])
    }
}
