#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// The state changes of a session's token family, shared by compat and OAuth 2.0 sessions: their
/// tables have the same columns (`compat_*` from migrations 0001/0003, `oauth2_*` from 0005), and
/// single use must mean exactly the same for both.
///
/// Every method runs inside the caller's write transaction, after the caller has read and checked
/// the rows (their types differ per family) and inserted any new pair. The conditional UPDATEs are the
/// single point of truth: of two concurrent transactions only one sees its change, and the other
/// throws ``StorageError/conflict(_:)``, rolling its transaction back.
struct TokenFamilyTables: Sendable {
    let sessions: String
    let accessTokens: String
    let refreshTokens: String

    static let compat = TokenFamilyTables(sessions: "compat_sessions", accessTokens: "compat_access_tokens", refreshTokens: "compat_refresh_tokens")
    static let oauth2 = TokenFamilyTables(sessions: "oauth2_sessions", accessTokens: "oauth2_access_tokens", refreshTokens: "oauth2_refresh_tokens")

    /// Rotation: `refreshTokenId` is consumed with `successorId` (already inserted) as its successor,
    /// and the access token issued with it dies.
    func consume(_ db: Database, refreshTokenId: String, accessTokenId: String, successorId: String, at: Date) throws {
        try db.execute(
            sql: "UPDATE \(refreshTokens) SET consumed_at = ?, next_refresh_token_id = ? WHERE id = ? AND consumed_at IS NULL",
            arguments: [at.storedMilliseconds, successorId, refreshTokenId])
        guard db.changesCount == 1 else {
            throw StorageError.conflict("refresh token \(refreshTokenId) was already used")
        }
        try revokeAccessToken(db, id: accessTokenId, at: at)
    }

    /// The lost-response retry: the replayed token gets no second retry, the successor its first use
    /// issued (never received by the client) dies with its access token, and `insertNewPair` stores
    /// the replacement, which becomes the replayed token's successor.
    func reissue(
        _ db: Database, replayed refreshTokenId: String, successorId: String, successorAccessTokenId: String, sessionId: String,
        newRefreshTokenId: String, at: Date, insertNewPair: () throws -> Void
    ) throws {
        let time = at.storedMilliseconds
        try db.execute(
            sql: """
                UPDATE \(refreshTokens) SET revoked_at = ? WHERE id = ? AND session_id = ? AND next_refresh_token_id = ?
                AND consumed_at IS NOT NULL AND revoked_at IS NULL
                """,
            arguments: [time, refreshTokenId, sessionId, successorId])
        guard db.changesCount == 1 else {
            throw StorageError.conflict("refresh token \(refreshTokenId) is not the used predecessor of \(successorId)")
        }
        try db.execute(
            sql: "UPDATE \(refreshTokens) SET revoked_at = ? WHERE id = ? AND consumed_at IS NULL AND revoked_at IS NULL",
            arguments: [time, successorId])
        guard db.changesCount == 1 else {
            throw StorageError.conflict("refresh token \(successorId) was used or revoked")
        }
        try revokeAccessToken(db, id: successorAccessTokenId, at: at)
        try insertNewPair()
        try db.execute(sql: "UPDATE \(refreshTokens) SET next_refresh_token_id = ? WHERE id = ?", arguments: [newRefreshTokenId, refreshTokenId])
    }

    /// Ends a session and revokes all its tokens.
    /// - Returns: `false` when the session was finished already (nothing changed).
    @discardableResult
    func finish(_ db: Database, sessionId: String, at: Date) throws -> Bool {
        let time = at.storedMilliseconds
        try db.execute(sql: "UPDATE \(sessions) SET finished_at = ? WHERE id = ? AND finished_at IS NULL", arguments: [time, sessionId])
        guard db.changesCount == 1 else { return false }
        for table in [accessTokens, refreshTokens] {
            try db.execute(sql: "UPDATE \(table) SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL", arguments: [time, sessionId])
        }
        return true
    }

    private func revokeAccessToken(_ db: Database, id: String, at: Date) throws {
        try db.execute(sql: "UPDATE \(accessTokens) SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [at.storedMilliseconds, id])
    }
}
