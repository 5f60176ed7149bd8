#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``OAuth2SessionRepository`` on `oauth2_sessions`, `oauth2_access_tokens` and
/// `oauth2_refresh_tokens`. Every method is one transaction, and every change a token check depends
/// on (create, finish, rotate, reissue) increments the store revision, so caches drop what they held.
public struct SQLiteOAuth2SessionRepository: OAuth2SessionRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Creates a session with its first tokens and, with `grantId`, links it to the exchanged grant
    /// it came from.
    /// - Parameters:
    ///   - session: the new session.
    ///   - accessToken: belongs to `session`.
    ///   - refreshToken: belongs to `session` and was issued with `accessToken`.
    ///   - grantId: an exchanged authorization grant or device code grant without a session.
    /// - Throws: ``StorageError/conflict(_:)`` when the tokens do not belong to the session, a hash or
    ///   id is reused, the device already has an unfinished session, or the grant is not exchanged,
    ///   already has a session or had its code replayed meanwhile; ``StorageError/notFound(_:)`` for an
    ///   unknown user or browser session.
    public func create(session: OAuth2Session, accessToken: OAuth2AccessToken, refreshToken: OAuth2RefreshToken?, grantId: String?) async throws {
        try await pool.mutate { db in
            try Self.requireTokens(accessToken, refreshToken, belongTo: session.id)
            try db.execute(
                sql: "INSERT INTO oauth2_sessions (\(Columns.select(Columns.oauth2Session))) VALUES (\(Columns.placeholders(Columns.oauth2Session)))",
                arguments: [
                    session.id, session.clientId, session.userId, session.scope, session.deviceId, session.browserSessionId,
                    session.createdAt.storedMilliseconds, session.finishedAt.storedMilliseconds, session.lastActiveAt.storedMilliseconds,
                    session.lastActiveAddress, session.humanName,
                ])
            try Self.insert(db, accessToken)
            if let refreshToken { try Self.insert(db, refreshToken) }
            guard let grantId else { return }
            try db.execute(
                sql: """
                    UPDATE oauth2_authorization_grants SET session_id = ?
                    WHERE id = ? AND exchanged_at IS NOT NULL AND session_id IS NULL AND cancelled_at IS NULL
                    """,
                arguments: [session.id, grantId])
            if db.changesCount == 1 { return }
            try db.execute(
                sql: "UPDATE oauth2_device_code_grants SET session_id = ? WHERE id = ? AND status = 'exchanged' AND session_id IS NULL",
                arguments: [session.id, grantId])
            guard db.changesCount == 1 else {
                throw StorageError.conflict("grant \(grantId) is not exchanged, already has a session, or its code was replayed")
            }
        }
    }

    /// The session with this id, finished or not.
    /// - Parameter sessionId: the session.
    public func find(sessionId: String) async throws -> OAuth2Session? {
        try await pool.query { db in try Self.fetchSession(db, id: sessionId) }
    }

    /// Every session of a user, finished or not, oldest first.
    /// - Parameter userId: the user.
    public func sessions(userId: String) async throws -> [OAuth2Session] {
        try await pool.query { db in try Self.fetchSessions(db, userId: userId, activeOnly: false) }
    }

    /// Unfinished sessions of a user, oldest first.
    /// - Parameter userId: the user.
    public func activeSessions(userId: String) async throws -> [OAuth2Session] {
        try await pool.query { db in try Self.fetchSessions(db, userId: userId, activeOnly: true) }
    }

    /// The unfinished session of a user on a device (the partial unique index
    /// `oauth2_sessions_active_device` allows at most one).
    /// - Parameters:
    ///   - userId: the user.
    ///   - deviceId: the device.
    public func activeSession(userId: String, deviceId: String) async throws -> OAuth2Session? {
        try await pool.query { db in
            try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT \(Columns.select(Columns.oauth2Session)) FROM oauth2_sessions
                    WHERE user_id = ? AND device_id = ? AND finished_at IS NULL
                    """),
                arguments: [userId, deviceId]
            )?.oauth2Session()
        }
    }

    /// Finishes a session and revokes all its tokens.
    /// - Parameters:
    ///   - sessionId: the session.
    ///   - at: the finish (and revocation) time.
    /// - Returns: `false` when the session was already finished or does not exist.
    public func finish(sessionId: String, at: Date) async throws -> Bool {
        try await pool.mutate { db in try Self.finish(db, sessionId: sessionId, at: at) }
    }

    /// Finishes every unfinished session of a user and revokes their tokens.
    /// - Parameters:
    ///   - userId: the user.
    ///   - at: the finish time.
    /// - Returns: the sessions that were finished, as they are now.
    public func finishAll(userId: String, at: Date) async throws -> [OAuth2Session] {
        try await pool.mutate { db in
            try Self.fetchSessions(db, userId: userId, activeOnly: true).map { session in
                _ = try Self.finish(db, sessionId: session.id, at: at)
                var finished = session
                finished.finishedAt = Date(storedMilliseconds: at.storedMilliseconds)
                return finished
            }
        }
    }

    /// An access token by hash with its session and user, whatever their state (the caller checks).
    /// - Parameter hash: lower-case hex SHA-256 of the token.
    public func lookupAccessToken(hash: String) async throws -> OAuth2TokenLookup<OAuth2AccessToken>? {
        try await pool.query { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: Self.accessTokenLookupSQL), arguments: [hash]) else { return nil }
            return OAuth2TokenLookup(token: row.oauth2AccessToken(prefix: "t_"), session: row.oauth2Session(prefix: "s_"), user: Self.user(row))
        }
    }

    /// A refresh token by hash with its session and user, whatever their state.
    /// - Parameter hash: lower-case hex SHA-256 of the token.
    public func lookupRefreshToken(hash: String) async throws -> OAuth2TokenLookup<OAuth2RefreshToken>? {
        try await pool.query { db in
            guard let row = try Row.fetchOne(db.cachedStatement(sql: Self.refreshTokenLookupSQL), arguments: [hash]) else { return nil }
            return OAuth2TokenLookup(token: row.oauth2RefreshToken(prefix: "t_"), session: row.oauth2Session(prefix: "s_"), user: Self.user(row))
        }
    }

    /// A refresh token by id, whatever its state.
    /// - Parameter id: the token.
    public func findRefreshToken(id: String) async throws -> OAuth2RefreshToken? {
        try await pool.query { db in try Self.fetchRefreshToken(db, id: id) }
    }

    /// An access token by id, whatever its state.
    /// - Parameter id: the token.
    public func findAccessToken(id: String) async throws -> OAuth2AccessToken? {
        try await pool.query { db in
            try Row.fetchOne(db, sql: "SELECT \(Columns.select(Columns.oauth2AccessToken)) FROM oauth2_access_tokens WHERE id = ?", arguments: [id])?
                .oauth2AccessToken()
        }
    }

    /// Records the first use of an access token; later uses change nothing.
    ///
    /// Not counted in the store revision: no cached decision depends on it (only the refresh grant's
    /// lost-response tolerance reads it, from the store), and counting it would empty every cache
    /// each time a new token is first seen.
    /// - Parameters:
    ///   - accessTokenId: the token.
    ///   - at: the time of the first use.
    public func markUsed(accessTokenId: String, at: Date) async throws {
        try await pool.mutate(bumpsRevision: false) { db in
            try db.execute(
                sql: "UPDATE oauth2_access_tokens SET first_used_at = ? WHERE id = ? AND first_used_at IS NULL",
                arguments: [at.storedMilliseconds, accessTokenId])
        }
    }

    /// Refresh-token rotation, atomically: marks `refreshTokenId` consumed (successor recorded),
    /// revokes the access token issued with it and stores the new pair.
    /// - Parameters:
    ///   - refreshTokenId: the refresh token presented.
    ///   - newAccessToken: the replacement access token, in the same session.
    ///   - newRefreshToken: the replacement refresh token, issued with `newAccessToken`.
    ///   - at: the rotation time.
    /// - Throws: ``StorageError/conflict(_:)`` when the token was already consumed or revoked, its
    ///   session is finished, or the new tokens do not belong to it; ``StorageError/notFound(_:)`` for
    ///   an unknown token.
    public func rotate(
        consumed refreshTokenId: String, newAccessToken: OAuth2AccessToken, newRefreshToken: OAuth2RefreshToken, at: Date
    ) async throws {
        try await pool.mutate { db in
            guard let consumed = try Self.fetchRefreshToken(db, id: refreshTokenId) else {
                throw StorageError.notFound("no OAuth 2.0 refresh token with id \(refreshTokenId)")
            }
            if consumed.revokedAt != nil {
                throw StorageError.conflict("refresh token \(refreshTokenId) was revoked")
            }
            guard let session = try Self.fetchSession(db, id: consumed.sessionId), session.finishedAt == nil else {
                throw StorageError.conflict("OAuth 2.0 session \(consumed.sessionId) is finished")
            }
            try Self.requireTokens(newAccessToken, newRefreshToken, belongTo: session.id)
            // The new pair first: the successor link must point at an existing row.
            try Self.insert(db, newAccessToken)
            try Self.insert(db, newRefreshToken)
            try TokenFamilyTables.oauth2.consume(
                db, refreshTokenId: refreshTokenId, accessTokenId: consumed.accessTokenId, successorId: newRefreshToken.id, at: at)
        }
    }

    /// Answers a lost refresh response atomically: the replayed token (consumed, unrevoked, replaced
    /// by `successorId`) is revoked so it gets no second retry; the successor (unused) and its access
    /// token are revoked; the new pair becomes the replayed token's successor.
    /// - Parameters:
    ///   - refreshTokenId: the consumed refresh token presented again.
    ///   - successorId: the refresh token its first use issued.
    ///   - newAccessToken: the replacement access token.
    ///   - newRefreshToken: the replacement refresh token, issued with `newAccessToken`.
    ///   - at: the time.
    /// - Throws: ``StorageError/conflict(_:)`` when a token is no longer in that state (a concurrent
    ///   retry or refresh won), the session is finished or the new tokens do not belong to it.
    public func reissue(
        replayed refreshTokenId: String, successor successorId: String, newAccessToken: OAuth2AccessToken,
        newRefreshToken: OAuth2RefreshToken, at: Date
    ) async throws {
        try await pool.mutate { db in
            guard let successor = try Self.fetchRefreshToken(db, id: successorId) else {
                throw StorageError.conflict("no OAuth 2.0 refresh token with id \(successorId)")
            }
            guard let session = try Self.fetchSession(db, id: successor.sessionId), session.finishedAt == nil else {
                throw StorageError.conflict("OAuth 2.0 session \(successor.sessionId) is finished")
            }
            try Self.requireTokens(newAccessToken, newRefreshToken, belongTo: session.id)
            try TokenFamilyTables.oauth2.reissue(
                db, replayed: refreshTokenId, successorId: successorId, successorAccessTokenId: successor.accessTokenId, sessionId: session.id,
                newRefreshTokenId: newRefreshToken.id, at: at
            ) {
                try Self.insert(db, newAccessToken)
                try Self.insert(db, newRefreshToken)
            }
        }
    }

    /// Records activity: moves `last_active_at` forward (never back). Not counted in the store
    /// revision (see ``SQLiteCompatSessionRepository/touch(sessionId:at:)``).
    /// - Parameters:
    ///   - sessionId: the session; unknown ids are ignored.
    ///   - at: the activity time.
    public func touch(sessionId: String, at: Date) async throws {
        try await pool.mutate(bumpsRevision: false) { db in
            try db.execute(
                sql: "UPDATE oauth2_sessions SET last_active_at = ?1 WHERE id = ?2 AND (last_active_at IS NULL OR last_active_at < ?1)",
                arguments: [at.storedMilliseconds, sessionId])
        }
    }

    /// Sets the name the user chose for the session.
    /// - Parameters:
    ///   - sessionId: an unfinished session.
    ///   - humanName: the name, or `nil` to show the client's again.
    /// - Returns: `false` when there is no unfinished session with this id.
    public func rename(sessionId: String, humanName: String?) async throws -> Bool {
        try await pool.mutate { db in
            try db.execute(
                sql: "UPDATE oauth2_sessions SET human_name = ? WHERE id = ? AND finished_at IS NULL", arguments: [humanName, sessionId])
            return db.changesCount == 1
        }
    }

    // MARK: - Helpers

    private static let accessTokenLookupSQL = """
        SELECT \(Columns.select(Columns.oauth2AccessToken, as: "t")), \(Columns.select(Columns.oauth2Session, as: "s")),
               \(Columns.select(Columns.user, as: "u"))
        FROM oauth2_access_tokens t
        JOIN oauth2_sessions s ON s.id = t.session_id
        LEFT JOIN users u ON u.id = s.user_id
        WHERE t.token_hash = ?
        """

    private static let refreshTokenLookupSQL = """
        SELECT \(Columns.select(Columns.oauth2RefreshToken, as: "t")), \(Columns.select(Columns.oauth2Session, as: "s")),
               \(Columns.select(Columns.user, as: "u"))
        FROM oauth2_refresh_tokens t
        JOIN oauth2_sessions s ON s.id = t.session_id
        LEFT JOIN users u ON u.id = s.user_id
        WHERE t.token_hash = ?
        """

    /// The joined user, `nil` for sessions without one.
    private static func user(_ row: Row) -> User? {
        (row["u_id"] as String?) == nil ? nil : row.user(prefix: "u_")
    }

    private static func requireTokens(_ accessToken: OAuth2AccessToken, _ refreshToken: OAuth2RefreshToken?, belongTo sessionId: String) throws {
        guard accessToken.sessionId == sessionId else {
            throw StorageError.conflict("access token \(accessToken.id) belongs to session \(accessToken.sessionId), not \(sessionId)")
        }
        guard let refreshToken else { return }
        guard refreshToken.sessionId == sessionId, refreshToken.accessTokenId == accessToken.id else {
            throw StorageError.conflict("refresh token \(refreshToken.id) does not belong to session \(sessionId) and access token \(accessToken.id)")
        }
    }

    private static func insert(_ db: Database, _ token: OAuth2AccessToken) throws {
        try db.execute(
            sql: "INSERT INTO oauth2_access_tokens (\(Columns.select(Columns.oauth2AccessToken))) "
                + "VALUES (\(Columns.placeholders(Columns.oauth2AccessToken)))",
            arguments: [
                token.id, token.sessionId, token.tokenHash, token.createdAt.storedMilliseconds, token.expiresAt.storedMilliseconds,
                token.revokedAt.storedMilliseconds, token.firstUsedAt.storedMilliseconds,
            ])
    }

    private static func insert(_ db: Database, _ token: OAuth2RefreshToken) throws {
        try db.execute(
            sql: "INSERT INTO oauth2_refresh_tokens (\(Columns.select(Columns.oauth2RefreshToken))) "
                + "VALUES (\(Columns.placeholders(Columns.oauth2RefreshToken)))",
            arguments: [
                token.id, token.sessionId, token.accessTokenId, token.tokenHash, token.createdAt.storedMilliseconds,
                token.consumedAt.storedMilliseconds, token.revokedAt.storedMilliseconds, token.nextRefreshTokenId,
            ])
    }

    /// Sets `finished_at` and revokes every unrevoked token of the session.
    /// - Returns: whether the session was unfinished.
    private static func finish(_ db: Database, sessionId: String, at: Date) throws -> Bool {
        try TokenFamilyTables.oauth2.finish(db, sessionId: sessionId, at: at)
    }

    private static func fetchSession(_ db: Database, id: String) throws -> OAuth2Session? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Columns.select(Columns.oauth2Session)) FROM oauth2_sessions WHERE id = ?"), arguments: [id]
        )?.oauth2Session()
    }

    private static func fetchSessions(_ db: Database, userId: String, activeOnly: Bool) throws -> [OAuth2Session] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT \(Columns.select(Columns.oauth2Session)) FROM oauth2_sessions
                WHERE user_id = ? \(activeOnly ? "AND finished_at IS NULL" : "") ORDER BY created_at, id
                """,
            arguments: [userId]
        ).map { $0.oauth2Session() }
    }

    private static func fetchRefreshToken(_ db: Database, id: String) throws -> OAuth2RefreshToken? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Columns.select(Columns.oauth2RefreshToken)) FROM oauth2_refresh_tokens WHERE id = ?"), arguments: [id]
        )?.oauth2RefreshToken()
    }
}
