#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``CompatSessionRepository`` on `compat_sessions`, `compat_access_tokens` and
/// `compat_refresh_tokens`. Every method is one transaction.
public struct SQLiteCompatSessionRepository: CompatSessionRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Creates a session with its first access token and, when given, refresh token.
    /// - Parameters:
    ///   - session: the new session; its user must exist and its device must have no other unfinished session.
    ///   - accessToken: belongs to `session`.
    ///   - refreshToken: belongs to `session` and was issued with `accessToken`.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user; ``StorageError/conflict(_:)`` when the
    ///   device already has an unfinished session, a token hash or id is reused, or the tokens do not
    ///   belong to `session`.
    public func create(session: CompatSession, accessToken: CompatAccessToken, refreshToken: CompatRefreshToken?) async throws {
        try await pool.mutate { db in
            guard try SQLiteUserRepository.fetchUser(db, where: "id = ?", session.userId) != nil else {
                throw StorageError.notFound("no user with id \(session.userId)")
            }
            try Self.requireTokens(accessToken, refreshToken, belongTo: session.id)
            if try Self.fetchActiveSession(db, userId: session.userId, deviceId: session.deviceId) != nil {
                throw StorageError.conflict("device \(session.deviceId) of user \(session.userId) already has an unfinished session")
            }
            try db.execute(
                sql: "INSERT INTO compat_sessions (\(Columns.select(Columns.compatSession))) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    session.id, session.userId, session.deviceId, session.displayName, session.isSynapseAdmin,
                    session.createdAt.storedMilliseconds, session.finishedAt.storedMilliseconds, session.lastActiveAt.storedMilliseconds,
                    session.lastActiveAddress,
                ])
            try Self.insert(db, accessToken)
            if let refreshToken {
                try Self.insert(db, refreshToken)
            }
        }
    }

    /// The session with this id, finished or not.
    /// - Parameter sessionId: the session.
    public func find(sessionId: String) async throws -> CompatSession? {
        try await pool.query { db in try Self.fetchSession(db, id: sessionId) }
    }

    /// Unfinished sessions of a user, oldest first.
    /// - Parameter userId: the user.
    public func activeSessions(userId: String) async throws -> [CompatSession] {
        try await pool.query { db in try Self.fetchActiveSessions(db, userId: userId) }
    }

    /// Every session of a user, finished or not, oldest first.
    /// - Parameter userId: the user.
    public func sessions(userId: String) async throws -> [CompatSession] {
        try await pool.query { db in
            try Row.fetchAll(
                db,
                sql: "SELECT \(Columns.select(Columns.compatSession)) FROM compat_sessions WHERE user_id = ? ORDER BY created_at, id",
                arguments: [userId]
            ).map { $0.compatSession() }
        }
    }

    /// The unfinished session of a user for a device, if any.
    /// - Parameters:
    ///   - userId: the user.
    ///   - deviceId: the Matrix device id.
    public func activeSession(userId: String, deviceId: String) async throws -> CompatSession? {
        try await pool.query { db in try Self.fetchActiveSession(db, userId: userId, deviceId: deviceId) }
    }

    /// Finishes a session and revokes all its tokens. Finishing a finished session keeps its original
    /// `finished_at`.
    /// - Parameters:
    ///   - sessionId: the session.
    ///   - at: the finish (and revocation) time.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown session.
    public func finish(sessionId: String, at: Date) async throws {
        try await pool.mutate { db in
            guard try Self.fetchSession(db, id: sessionId) != nil else {
                throw StorageError.notFound("no compat session with id \(sessionId)")
            }
            try Self.finish(db, sessionId: sessionId, at: at)
        }
    }

    /// Finishes every unfinished session of a user and revokes their tokens.
    /// - Parameters:
    ///   - userId: the user.
    ///   - at: the finish (and revocation) time.
    /// - Returns: the sessions that were finished, as they are now.
    public func finishAll(userId: String, at: Date) async throws -> [CompatSession] {
        try await pool.mutate { db in
            let sessions = try Self.fetchActiveSessions(db, userId: userId)
            return try sessions.map { session in
                try Self.finish(db, sessionId: session.id, at: at)
                var finished = session
                finished.finishedAt = Date(storedMilliseconds: at.storedMilliseconds)
                return finished
            }
        }
    }

    /// An access token by hash, with its session and user, whatever their state (the caller checks
    /// expiry, revocation, session and user).
    /// - Parameter hash: lower-case hex SHA-256 of the token.
    public func lookupAccessToken(hash: String) async throws -> CompatAccessTokenLookup? {
        try await pool.query { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: Self.accessTokenLookupSQL), arguments: [hash]) else { return nil }
            return CompatAccessTokenLookup(
                token: row.compatAccessToken(prefix: "t_"), session: row.compatSession(prefix: "s_"), user: row.user(prefix: "u_"))
        }
    }

    /// A refresh token by hash, with its session and user, whatever their state.
    /// - Parameter hash: lower-case hex SHA-256 of the token.
    public func lookupRefreshToken(hash: String) async throws -> (CompatRefreshToken, CompatSession, User)? {
        let found: RefreshTokenLookup? = try await pool.query { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: Self.refreshTokenLookupSQL), arguments: [hash]) else { return nil }
            return RefreshTokenLookup(
                token: row.compatRefreshToken(prefix: "r_"), session: row.compatSession(prefix: "s_"), user: row.user(prefix: "u_"))
        }
        return found.map { ($0.token, $0.session, $0.user) }
    }

    /// Refresh-token rotation, atomically: marks `refreshTokenId` consumed, revokes the access token
    /// issued with it and stores the new pair.
    /// - Parameters:
    ///   - refreshTokenId: the refresh token presented by the client.
    ///   - newAccessToken: the replacement access token, in the same session.
    ///   - newRefreshToken: the replacement refresh token, issued with `newAccessToken`.
    ///   - at: the rotation time.
    /// - Throws: ``StorageError/conflict(_:)`` when the token was already consumed or revoked, its session
    ///   is finished, or the new tokens do not belong to its session; ``StorageError/notFound(_:)`` for an
    ///   unknown token.
    public func rotate(
        consumed refreshTokenId: String, newAccessToken: CompatAccessToken, newRefreshToken: CompatRefreshToken, at: Date
    ) async throws {
        try await pool.mutate { db in
            guard
                let consumed = try Row.fetchOne(
                    db, sql: "SELECT \(Columns.select(Columns.compatRefreshToken)) FROM compat_refresh_tokens WHERE id = ?",
                    arguments: [refreshTokenId])?.compatRefreshToken()
            else {
                throw StorageError.notFound("no compat refresh token with id \(refreshTokenId)")
            }
            if consumed.revokedAt != nil {
                throw StorageError.conflict("refresh token \(refreshTokenId) was revoked")
            }
            if let session = try Self.fetchSession(db, id: consumed.sessionId), session.finishedAt != nil {
                throw StorageError.conflict("compat session \(session.id) is finished")
            }
            try Self.requireTokens(newAccessToken, newRefreshToken, belongTo: consumed.sessionId)

            // The new pair first: the successor link below must point at an existing row (foreign keys
            // are checked at once). A conflict afterwards rolls the whole transaction back.
            try Self.insert(db, newAccessToken)
            try Self.insert(db, newRefreshToken)
            // The conditional UPDATE is the single point of truth for "used once": of two concurrent
            // rotations, only one sees a change.
            try TokenFamilyTables.compat.consume(
                db, refreshTokenId: refreshTokenId, accessTokenId: consumed.accessTokenId, successorId: newRefreshToken.id, at: at)
        }
    }

    /// A refresh token by id, whatever its state.
    /// - Parameter id: the token's ULID.
    public func findRefreshToken(id: String) async throws -> CompatRefreshToken? {
        try await pool.query { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Columns.select(Columns.compatRefreshToken)) FROM compat_refresh_tokens WHERE id = ?", arguments: [id]
            )?.compatRefreshToken()
        }
    }

    /// Answers a lost refresh response atomically: `refreshTokenId` (consumed, not revoked, replaced
    /// by `successorId`) is revoked so it never gets a second retry; the successor (live) and its
    /// access token are revoked; the new pair is stored and becomes the replayed token's successor.
    /// - Parameters:
    ///   - refreshTokenId: the consumed refresh token the client presented again.
    ///   - successorId: the refresh token its first use issued, which the client never received.
    ///   - newAccessToken: the replacement access token, in the same session.
    ///   - newRefreshToken: the replacement refresh token, issued with `newAccessToken`.
    ///   - at: the time.
    /// - Throws: ``StorageError/conflict(_:)`` when a token is no longer in that state, the session is
    ///   finished or the new tokens do not belong to it.
    public func reissue(
        replayed refreshTokenId: String, successor successorId: String, newAccessToken: CompatAccessToken,
        newRefreshToken: CompatRefreshToken, at: Date
    ) async throws {
        try await pool.mutate { db in
            guard
                let successor = try Row.fetchOne(
                    db, sql: "SELECT \(Columns.select(Columns.compatRefreshToken)) FROM compat_refresh_tokens WHERE id = ?",
                    arguments: [successorId])?.compatRefreshToken()
            else {
                throw StorageError.conflict("no compat refresh token with id \(successorId)")
            }
            guard let session = try Self.fetchSession(db, id: successor.sessionId), session.finishedAt == nil else {
                throw StorageError.conflict("compat session \(successor.sessionId) is finished")
            }
            try Self.requireTokens(newAccessToken, newRefreshToken, belongTo: session.id)
            try TokenFamilyTables.compat.reissue(
                db, replayed: refreshTokenId, successorId: successorId, successorAccessTokenId: successor.accessTokenId, sessionId: session.id,
                newRefreshTokenId: newRefreshToken.id, at: at
            ) {
                try Self.insert(db, newAccessToken)
                try Self.insert(db, newRefreshToken)
            }
        }
    }

    /// Stores a login token.
    /// - Parameter token: the token row; its user must exist.
    public func createLoginToken(_ token: CompatLoginToken) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "INSERT INTO compat_login_tokens (\(Columns.select(Columns.compatLoginToken))) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    token.id, token.userId, token.tokenHash, token.createdAt.storedMilliseconds, token.expiresAt.storedMilliseconds,
                    token.consumedAt.storedMilliseconds,
                ])
        }
    }

    /// Uses a login token once: the conditional update is the single point of truth, so of two
    /// concurrent logins with one token exactly one gets it.
    /// - Parameters:
    ///   - hash: SHA-256 hex of the token.
    ///   - at: the time of use.
    /// - Returns: the token (as it was before this use) and its user, or `nil` if unknown or used.
    public func consumeLoginToken(hash: String, at: Date) async throws -> (CompatLoginToken, User)? {
        try await pool.mutate { db -> (CompatLoginToken, User)? in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT \(Columns.select(Columns.compatLoginToken, as: "t")), \(Columns.select(Columns.user, as: "u"))
                        FROM compat_login_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?
                        """,
                    arguments: [hash])
            else { return nil }
            let token = row.compatLoginToken(prefix: "t_")
            try db.execute(
                sql: "UPDATE compat_login_tokens SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL",
                arguments: [at.storedMilliseconds, token.id])
            guard db.changesCount == 1 else { return nil }
            return (token, row.user(prefix: "u_"))
        }
    }

    /// Undoes the use of a login token made at `consumedAt` (a later use is left alone).
    /// - Parameters:
    ///   - id: the login token.
    ///   - consumedAt: the time it was consumed by the failed login.
    public func releaseLoginToken(id: String, consumedAt: Date) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "UPDATE compat_login_tokens SET consumed_at = NULL WHERE id = ? AND consumed_at = ?",
                arguments: [id, consumedAt.storedMilliseconds])
        }
    }

    /// Records activity: moves `last_active_at` forward (never back).
    ///
    /// Unlike the other writes this does not increment the store revision: the timestamp is not part of
    /// any authorization decision, and bumping it on every request would empty token caches all the time.
    /// - Parameters:
    ///   - sessionId: the session; unknown ids are ignored.
    ///   - at: the activity time.
    public func touch(sessionId: String, at: Date) async throws {
        try await pool.mutate(bumpsRevision: false) { db in
            try db.execute(
                sql: "UPDATE compat_sessions SET last_active_at = ?1 WHERE id = ?2 AND (last_active_at IS NULL OR last_active_at < ?1)",
                arguments: [at.storedMilliseconds, sessionId])
        }
    }

    /// Sets the device name the user chose.
    /// - Parameters:
    ///   - sessionId: an unfinished session.
    ///   - displayName: the name, or `nil` to clear it.
    /// - Returns: `false` when there is no unfinished session with this id.
    public func rename(sessionId: String, displayName: String?) async throws -> Bool {
        try await pool.mutate { db in
            try db.execute(
                sql: "UPDATE compat_sessions SET display_name = ? WHERE id = ? AND finished_at IS NULL", arguments: [displayName, sessionId])
            return db.changesCount == 1
        }
    }

    // MARK: - Helpers

    private struct RefreshTokenLookup: Sendable {
        var token: CompatRefreshToken
        var session: CompatSession
        var user: User
    }

    private static let accessTokenLookupSQL = """
        SELECT \(Columns.select(Columns.compatAccessToken, as: "t")), \(Columns.select(Columns.compatSession, as: "s")),
               \(Columns.select(Columns.user, as: "u"))
        FROM compat_access_tokens t
        JOIN compat_sessions s ON s.id = t.session_id
        JOIN users u ON u.id = s.user_id
        WHERE t.token_hash = ?
        """

    private static let refreshTokenLookupSQL = """
        SELECT \(Columns.select(Columns.compatRefreshToken, as: "r")), \(Columns.select(Columns.compatSession, as: "s")),
               \(Columns.select(Columns.user, as: "u"))
        FROM compat_refresh_tokens r
        JOIN compat_sessions s ON s.id = r.session_id
        JOIN users u ON u.id = s.user_id
        WHERE r.token_hash = ?
        """

    private static func requireTokens(_ accessToken: CompatAccessToken, _ refreshToken: CompatRefreshToken?, belongTo sessionId: String) throws {
        guard accessToken.sessionId == sessionId else {
            throw StorageError.conflict("access token \(accessToken.id) belongs to session \(accessToken.sessionId), not \(sessionId)")
        }
        guard let refreshToken else { return }
        guard refreshToken.sessionId == sessionId, refreshToken.accessTokenId == accessToken.id else {
            throw StorageError.conflict("refresh token \(refreshToken.id) does not belong to session \(sessionId) and access token \(accessToken.id)")
        }
    }

    private static func insert(_ db: Database, _ token: CompatAccessToken) throws {
        try db.execute(
            sql: "INSERT INTO compat_access_tokens (\(Columns.select(Columns.compatAccessToken))) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [
                token.id, token.sessionId, token.tokenHash, token.createdAt.storedMilliseconds, token.expiresAt.storedMilliseconds,
                token.revokedAt.storedMilliseconds,
            ])
    }

    private static func insert(_ db: Database, _ token: CompatRefreshToken) throws {
        try db.execute(
            sql: "INSERT INTO compat_refresh_tokens (\(Columns.select(Columns.compatRefreshToken))) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                token.id, token.sessionId, token.accessTokenId, token.tokenHash, token.createdAt.storedMilliseconds,
                token.consumedAt.storedMilliseconds, token.revokedAt.storedMilliseconds, token.nextRefreshTokenId,
            ])
    }

    /// Sets `finished_at` (if unset) and revokes every unrevoked token of the session.
    private static func finish(_ db: Database, sessionId: String, at: Date) throws {
        try TokenFamilyTables.compat.finish(db, sessionId: sessionId, at: at)
    }

    private static func fetchSession(_ db: Database, id: String) throws -> CompatSession? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Columns.select(Columns.compatSession)) FROM compat_sessions WHERE id = ?"), arguments: [id]
        )?.compatSession()
    }

    private static func fetchActiveSessions(_ db: Database, userId: String) throws -> [CompatSession] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT \(Columns.select(Columns.compatSession)) FROM compat_sessions
                WHERE user_id = ? AND finished_at IS NULL ORDER BY created_at, id
                """,
            arguments: [userId]
        ).map { $0.compatSession() }
    }

    private static func fetchActiveSession(_ db: Database, userId: String, deviceId: String) throws -> CompatSession? {
        try Row.fetchOne(
            db,
            sql: """
                SELECT \(Columns.select(Columns.compatSession)) FROM compat_sessions
                WHERE user_id = ? AND device_id = ? AND finished_at IS NULL
                """,
            arguments: [userId, deviceId]
        )?.compatSession()
    }
}
