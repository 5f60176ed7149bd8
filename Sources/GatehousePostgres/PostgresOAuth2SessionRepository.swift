#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``OAuth2SessionRepository`` on `oauth2_sessions`, `oauth2_access_tokens` and
/// `oauth2_refresh_tokens`. Every method is one transaction, with the SQLite store's rules.
public struct PostgresOAuth2SessionRepository: OAuth2SessionRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    public func create(session: OAuth2Session, accessToken: OAuth2AccessToken, refreshToken: OAuth2RefreshToken?, grantId: String?) async throws {
        try await database.mutate { db in
            try Self.requireTokens(accessToken, refreshToken, belongTo: session.id)
            try await db.execute(
                Columns.insert(into: "oauth2_sessions", Columns.oauth2Session),
                [
                    session.id, session.clientId, session.userId, session.scope, session.deviceId, session.browserSessionId,
                    session.createdAt.storedMilliseconds, session.finishedAt.storedMilliseconds, session.lastActiveAt.storedMilliseconds,
                    session.lastActiveAddress, session.humanName,
                ])
            try await Self.insert(db, accessToken)
            if let refreshToken { try await Self.insert(db, refreshToken) }
            guard let grantId else { return }
            let linked = try await db.execute(
                """
                UPDATE oauth2_authorization_grants SET session_id = ?
                WHERE id = ? AND exchanged_at IS NOT NULL AND session_id IS NULL AND cancelled_at IS NULL
                """,
                [session.id, grantId])
            if linked == 1 { return }
            let linkedDevice = try await db.execute(
                "UPDATE oauth2_device_code_grants SET session_id = ? WHERE id = ? AND status = 'exchanged' AND session_id IS NULL",
                [session.id, grantId])
            guard linkedDevice == 1 else {
                throw StorageError.conflict("grant \(grantId) is not exchanged, already has a session, or its code was replayed")
            }
        }
    }

    public func find(sessionId: String) async throws -> OAuth2Session? {
        try await database.query { db in try await Self.fetchSession(db, id: sessionId) }
    }

    public func sessions(userId: String) async throws -> [OAuth2Session] {
        try await database.query { db in try await Self.fetchSessions(db, userId: userId, activeOnly: false) }
    }

    public func activeSessions(userId: String) async throws -> [OAuth2Session] {
        try await database.query { db in try await Self.fetchSessions(db, userId: userId, activeOnly: true) }
    }

    public func activeSession(userId: String, deviceId: String) async throws -> OAuth2Session? {
        try await database.query { db in
            try await db.fetchOne(
                "SELECT \(Columns.select(Columns.oauth2Session)) FROM oauth2_sessions WHERE user_id = ? AND device_id = ? AND finished_at IS NULL",
                [userId, deviceId]
            )?.oauth2Session()
        }
    }

    public func finish(sessionId: String, at: Date) async throws -> Bool {
        try await database.mutate { db in try await TokenFamilyTables.oauth2.finish(db, sessionId: sessionId, at: at) }
    }

    public func finishAll(userId: String, at: Date) async throws -> [OAuth2Session] {
        try await database.mutate { db in
            var finished: [OAuth2Session] = []
            for session in try await Self.fetchSessions(db, userId: userId, activeOnly: true) {
                try await TokenFamilyTables.oauth2.finish(db, sessionId: session.id, at: at)
                var copy = session
                copy.finishedAt = Date(storedMilliseconds: at.storedMilliseconds)
                finished.append(copy)
            }
            return finished
        }
    }

    public func lookupAccessToken(hash: String) async throws -> OAuth2TokenLookup<OAuth2AccessToken>? {
        try await database.query { db in
            guard let row = try await db.fetchOne(Self.lookupSQL(Columns.oauth2AccessToken, "oauth2_access_tokens"), [hash]) else { return nil }
            return OAuth2TokenLookup(token: try row.oauth2AccessToken(prefix: "t_"), session: try row.oauth2Session(prefix: "s_"), user: try Self.user(row))
        }
    }

    public func lookupRefreshToken(hash: String) async throws -> OAuth2TokenLookup<OAuth2RefreshToken>? {
        try await database.query { db in
            guard let row = try await db.fetchOne(Self.lookupSQL(Columns.oauth2RefreshToken, "oauth2_refresh_tokens"), [hash]) else { return nil }
            return OAuth2TokenLookup(token: try row.oauth2RefreshToken(prefix: "t_"), session: try row.oauth2Session(prefix: "s_"), user: try Self.user(row))
        }
    }

    public func findRefreshToken(id: String) async throws -> OAuth2RefreshToken? {
        try await database.query { db in try await Self.fetchRefreshToken(db, id: id) }
    }

    public func findAccessToken(id: String) async throws -> OAuth2AccessToken? {
        try await database.query { db in
            try await db.fetchOne("SELECT \(Columns.select(Columns.oauth2AccessToken)) FROM oauth2_access_tokens WHERE id = ?", [id])?
                .oauth2AccessToken()
        }
    }

    /// Records the first use of an access token; not counted in the store revision.
    public func markUsed(accessTokenId: String, at: Date) async throws {
        try await database.mutate(bumpsRevision: false) { db in
            try await db.execute(
                "UPDATE oauth2_access_tokens SET first_used_at = ? WHERE id = ? AND first_used_at IS NULL", [at.storedMilliseconds, accessTokenId])
        }
    }

    public func rotate(
        consumed refreshTokenId: String, newAccessToken: OAuth2AccessToken, newRefreshToken: OAuth2RefreshToken, at: Date
    ) async throws {
        try await database.mutate { db in
            guard let consumed = try await Self.fetchRefreshToken(db, id: refreshTokenId) else {
                throw StorageError.notFound("no OAuth 2.0 refresh token with id \(refreshTokenId)")
            }
            if consumed.revokedAt != nil {
                throw StorageError.conflict("refresh token \(refreshTokenId) was revoked")
            }
            guard let session = try await Self.fetchSession(db, id: consumed.sessionId), session.finishedAt == nil else {
                throw StorageError.conflict("OAuth 2.0 session \(consumed.sessionId) is finished")
            }
            try Self.requireTokens(newAccessToken, newRefreshToken, belongTo: session.id)
            try await Self.insert(db, newAccessToken)
            try await Self.insert(db, newRefreshToken)
            try await TokenFamilyTables.oauth2.consume(
                db, refreshTokenId: refreshTokenId, accessTokenId: consumed.accessTokenId, successorId: newRefreshToken.id, at: at)
        }
    }

    public func reissue(
        replayed refreshTokenId: String, successor successorId: String, newAccessToken: OAuth2AccessToken,
        newRefreshToken: OAuth2RefreshToken, at: Date
    ) async throws {
        try await database.mutate { db in
            guard let successor = try await Self.fetchRefreshToken(db, id: successorId) else {
                throw StorageError.conflict("no OAuth 2.0 refresh token with id \(successorId)")
            }
            guard let session = try await Self.fetchSession(db, id: successor.sessionId), session.finishedAt == nil else {
                throw StorageError.conflict("OAuth 2.0 session \(successor.sessionId) is finished")
            }
            try Self.requireTokens(newAccessToken, newRefreshToken, belongTo: session.id)
            try await TokenFamilyTables.oauth2.reissue(
                db, replayed: refreshTokenId, successorId: successorId, successorAccessTokenId: successor.accessTokenId, sessionId: session.id,
                newRefreshTokenId: newRefreshToken.id, at: at
            ) {
                try await Self.insert(db, newAccessToken)
                try await Self.insert(db, newRefreshToken)
            }
        }
    }

    /// Moves `last_active_at` forward (never back); not counted in the store revision.
    public func touch(sessionId: String, at: Date) async throws {
        try await database.mutate(bumpsRevision: false) { db in
            try await db.execute(
                "UPDATE oauth2_sessions SET last_active_at = ?1 WHERE id = ?2 AND (last_active_at IS NULL OR last_active_at < ?1)",
                [at.storedMilliseconds, sessionId])
        }
    }

    public func rename(sessionId: String, humanName: String?) async throws -> Bool {
        try await database.mutate { db in
            try await db.execute("UPDATE oauth2_sessions SET human_name = ? WHERE id = ? AND finished_at IS NULL", [humanName, sessionId]) == 1
        }
    }

    // MARK: - Helpers

    private static func lookupSQL(_ tokenColumns: [String], _ table: String) -> String {
        """
        SELECT \(Columns.select(tokenColumns, as: "t")), \(Columns.select(Columns.oauth2Session, as: "s")),
               \(Columns.select(Columns.user, as: "u"))
        FROM \(table) t
        JOIN oauth2_sessions s ON s.id = t.session_id
        LEFT JOIN users u ON u.id = s.user_id
        WHERE t.token_hash = ?
        """
    }

    /// The joined user, `nil` for sessions without one.
    private static func user(_ row: SQLRow) throws -> User? {
        row.isNull("u_id") ? nil : try row.user(prefix: "u_")
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

    private static func insert(_ db: PostgresTransaction, _ token: OAuth2AccessToken) async throws {
        try await db.execute(
            Columns.insert(into: "oauth2_access_tokens", Columns.oauth2AccessToken),
            [
                token.id, token.sessionId, token.tokenHash, token.createdAt.storedMilliseconds, token.expiresAt.storedMilliseconds,
                token.revokedAt.storedMilliseconds, token.firstUsedAt.storedMilliseconds,
            ])
    }

    private static func insert(_ db: PostgresTransaction, _ token: OAuth2RefreshToken) async throws {
        try await db.execute(
            Columns.insert(into: "oauth2_refresh_tokens", Columns.oauth2RefreshToken),
            [
                token.id, token.sessionId, token.accessTokenId, token.tokenHash, token.createdAt.storedMilliseconds,
                token.consumedAt.storedMilliseconds, token.revokedAt.storedMilliseconds, token.nextRefreshTokenId,
            ])
    }

    private static func fetchSession(_ db: PostgresTransaction, id: String) async throws -> OAuth2Session? {
        try await db.fetchOne("SELECT \(Columns.select(Columns.oauth2Session)) FROM oauth2_sessions WHERE id = ?", [id])?.oauth2Session()
    }

    private static func fetchSessions(_ db: PostgresTransaction, userId: String, activeOnly: Bool) async throws -> [OAuth2Session] {
        try await db.fetchAll(
            """
            SELECT \(Columns.select(Columns.oauth2Session)) FROM oauth2_sessions
            WHERE user_id = ? \(activeOnly ? "AND finished_at IS NULL" : "") ORDER BY created_at, id
            """,
            [userId]
        ).map { try $0.oauth2Session() }
    }

    private static func fetchRefreshToken(_ db: PostgresTransaction, id: String) async throws -> OAuth2RefreshToken? {
        try await db.fetchOne("SELECT \(Columns.select(Columns.oauth2RefreshToken)) FROM oauth2_refresh_tokens WHERE id = ?", [id])?
            .oauth2RefreshToken()
    }
}
