#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``CompatSessionRepository`` on `compat_sessions`, `compat_access_tokens` and
/// `compat_refresh_tokens`. Every method is one transaction (see the SQLite store's repository for
/// each method's rules; this one keeps them statement for statement).
public struct PostgresCompatSessionRepository: CompatSessionRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    public func create(session: CompatSession, accessToken: CompatAccessToken, refreshToken: CompatRefreshToken?) async throws {
        try await database.mutate { db in
            guard try await PostgresUserRepository.fetchUser(db, where: "id = ?", session.userId) != nil else {
                throw StorageError.notFound("no user with id \(session.userId)")
            }
            try Self.requireTokens(accessToken, refreshToken, belongTo: session.id)
            if try await Self.fetchActiveSession(db, userId: session.userId, deviceId: session.deviceId) != nil {
                throw StorageError.conflict("device \(session.deviceId) of user \(session.userId) already has an unfinished session")
            }
            try await Self.insert(db, session)
            try await Self.insert(db, accessToken)
            if let refreshToken { try await Self.insert(db, refreshToken) }
        }
    }

    public func find(sessionId: String) async throws -> CompatSession? {
        try await database.query { db in try await Self.fetchSession(db, id: sessionId) }
    }

    public func activeSessions(userId: String) async throws -> [CompatSession] {
        try await database.query { db in try await Self.fetchActiveSessions(db, userId: userId) }
    }

    public func sessions(userId: String) async throws -> [CompatSession] {
        try await database.query { db in
            try await db.fetchAll(
                "SELECT \(Columns.select(Columns.compatSession)) FROM compat_sessions WHERE user_id = ? ORDER BY created_at, id", [userId]
            ).map { try $0.compatSession() }
        }
    }

    public func activeSession(userId: String, deviceId: String) async throws -> CompatSession? {
        try await database.query { db in try await Self.fetchActiveSession(db, userId: userId, deviceId: deviceId) }
    }

    /// - Throws: ``StorageError/notFound(_:)`` for an unknown session.
    public func finish(sessionId: String, at: Date) async throws {
        try await database.mutate { db in
            guard try await Self.fetchSession(db, id: sessionId) != nil else {
                throw StorageError.notFound("no compat session with id \(sessionId)")
            }
            try await TokenFamilyTables.compat.finish(db, sessionId: sessionId, at: at)
        }
    }

    public func finishAll(userId: String, at: Date) async throws -> [CompatSession] {
        try await database.mutate { db in
            var finished: [CompatSession] = []
            for session in try await Self.fetchActiveSessions(db, userId: userId) {
                try await TokenFamilyTables.compat.finish(db, sessionId: session.id, at: at)
                var copy = session
                copy.finishedAt = Date(storedMilliseconds: at.storedMilliseconds)
                finished.append(copy)
            }
            return finished
        }
    }

    public func lookupAccessToken(hash: String) async throws -> CompatAccessTokenLookup? {
        try await database.query { db in
            guard let row = try await db.fetchOne(Self.accessTokenLookupSQL, [hash]) else { return nil }
            return CompatAccessTokenLookup(
                token: try row.compatAccessToken(prefix: "t_"), session: try row.compatSession(prefix: "s_"), user: try row.user(prefix: "u_"))
        }
    }

    public func lookupRefreshToken(hash: String) async throws -> (CompatRefreshToken, CompatSession, User)? {
        let found: RefreshTokenLookup? = try await database.query { db in
            guard let row = try await db.fetchOne(Self.refreshTokenLookupSQL, [hash]) else { return nil }
            return RefreshTokenLookup(
                token: try row.compatRefreshToken(prefix: "r_"), session: try row.compatSession(prefix: "s_"), user: try row.user(prefix: "u_"))
        }
        return found.map { ($0.token, $0.session, $0.user) }
    }

    public func rotate(
        consumed refreshTokenId: String, newAccessToken: CompatAccessToken, newRefreshToken: CompatRefreshToken, at: Date
    ) async throws {
        try await database.mutate { db in
            guard let consumed = try await Self.fetchRefreshToken(db, id: refreshTokenId) else {
                throw StorageError.notFound("no compat refresh token with id \(refreshTokenId)")
            }
            if consumed.revokedAt != nil {
                throw StorageError.conflict("refresh token \(refreshTokenId) was revoked")
            }
            if let session = try await Self.fetchSession(db, id: consumed.sessionId), session.finishedAt != nil {
                throw StorageError.conflict("compat session \(session.id) is finished")
            }
            try Self.requireTokens(newAccessToken, newRefreshToken, belongTo: consumed.sessionId)
            try await Self.insert(db, newAccessToken)
            try await Self.insert(db, newRefreshToken)
            try await TokenFamilyTables.compat.consume(
                db, refreshTokenId: refreshTokenId, accessTokenId: consumed.accessTokenId, successorId: newRefreshToken.id, at: at)
        }
    }

    public func findRefreshToken(id: String) async throws -> CompatRefreshToken? {
        try await database.query { db in try await Self.fetchRefreshToken(db, id: id) }
    }

    public func reissue(
        replayed refreshTokenId: String, successor successorId: String, newAccessToken: CompatAccessToken,
        newRefreshToken: CompatRefreshToken, at: Date
    ) async throws {
        try await database.mutate { db in
            guard let successor = try await Self.fetchRefreshToken(db, id: successorId) else {
                throw StorageError.conflict("no compat refresh token with id \(successorId)")
            }
            guard let session = try await Self.fetchSession(db, id: successor.sessionId), session.finishedAt == nil else {
                throw StorageError.conflict("compat session \(successor.sessionId) is finished")
            }
            try Self.requireTokens(newAccessToken, newRefreshToken, belongTo: session.id)
            try await TokenFamilyTables.compat.reissue(
                db, replayed: refreshTokenId, successorId: successorId, successorAccessTokenId: successor.accessTokenId, sessionId: session.id,
                newRefreshTokenId: newRefreshToken.id, at: at
            ) {
                try await Self.insert(db, newAccessToken)
                try await Self.insert(db, newRefreshToken)
            }
        }
    }

    public func createLoginToken(_ token: CompatLoginToken) async throws {
        try await database.mutate { db in try await Self.insert(db, token) }
    }

    public func consumeLoginToken(hash: String, at: Date) async throws -> (CompatLoginToken, User)? {
        let found: LoginTokenLookup? = try await database.mutate { db in
            guard
                let row = try await db.fetchOne(
                    """
                    SELECT \(Columns.select(Columns.compatLoginToken, as: "t")), \(Columns.select(Columns.user, as: "u"))
                    FROM compat_login_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?
                    """, [hash])
            else { return nil }
            let token = try row.compatLoginToken(prefix: "t_")
            let changed = try await db.execute(
                "UPDATE compat_login_tokens SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL", [at.storedMilliseconds, token.id])
            guard changed == 1 else { return nil }
            return LoginTokenLookup(token: token, user: try row.user(prefix: "u_"))
        }
        return found.map { ($0.token, $0.user) }
    }

    public func releaseLoginToken(id: String, consumedAt: Date) async throws {
        try await database.mutate { db in
            try await db.execute(
                "UPDATE compat_login_tokens SET consumed_at = NULL WHERE id = ? AND consumed_at = ?", [id, consumedAt.storedMilliseconds])
        }
    }

    /// Moves `last_active_at` forward (never back), without moving the store revision.
    public func touch(sessionId: String, at: Date) async throws {
        try await database.mutate(bumpsRevision: false) { db in
            try await db.execute(
                "UPDATE compat_sessions SET last_active_at = ?1 WHERE id = ?2 AND (last_active_at IS NULL OR last_active_at < ?1)",
                [at.storedMilliseconds, sessionId])
        }
    }

    public func rename(sessionId: String, displayName: String?) async throws -> Bool {
        try await database.mutate { db in
            try await db.execute("UPDATE compat_sessions SET display_name = ? WHERE id = ? AND finished_at IS NULL", [displayName, sessionId]) == 1
        }
    }

    // MARK: - Helpers

    private struct RefreshTokenLookup: Sendable {
        var token: CompatRefreshToken
        var session: CompatSession
        var user: User
    }

    private struct LoginTokenLookup: Sendable {
        var token: CompatLoginToken
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

    static func insert(_ db: PostgresTransaction, _ session: CompatSession) async throws {
        try await db.execute(
            Columns.insert(into: "compat_sessions", Columns.compatSession),
            [
                session.id, session.userId, session.deviceId, session.displayName, session.isSynapseAdmin, session.createdAt.storedMilliseconds,
                session.finishedAt.storedMilliseconds, session.lastActiveAt.storedMilliseconds, session.lastActiveAddress,
            ])
    }

    static func insert(_ db: PostgresTransaction, _ token: CompatAccessToken) async throws {
        try await db.execute(
            Columns.insert(into: "compat_access_tokens", Columns.compatAccessToken),
            [
                token.id, token.sessionId, token.tokenHash, token.createdAt.storedMilliseconds, token.expiresAt.storedMilliseconds,
                token.revokedAt.storedMilliseconds,
            ])
    }

    static func insert(_ db: PostgresTransaction, _ token: CompatRefreshToken) async throws {
        try await db.execute(
            Columns.insert(into: "compat_refresh_tokens", Columns.compatRefreshToken),
            [
                token.id, token.sessionId, token.accessTokenId, token.tokenHash, token.createdAt.storedMilliseconds,
                token.consumedAt.storedMilliseconds, token.revokedAt.storedMilliseconds, token.nextRefreshTokenId,
            ])
    }

    static func insert(_ db: PostgresTransaction, _ token: CompatLoginToken) async throws {
        try await db.execute(
            Columns.insert(into: "compat_login_tokens", Columns.compatLoginToken),
            [
                token.id, token.userId, token.tokenHash, token.createdAt.storedMilliseconds, token.expiresAt.storedMilliseconds,
                token.consumedAt.storedMilliseconds,
            ])
    }

    private static func fetchSession(_ db: PostgresTransaction, id: String) async throws -> CompatSession? {
        try await db.fetchOne("SELECT \(Columns.select(Columns.compatSession)) FROM compat_sessions WHERE id = ?", [id])?.compatSession()
    }

    private static func fetchRefreshToken(_ db: PostgresTransaction, id: String) async throws -> CompatRefreshToken? {
        try await db.fetchOne("SELECT \(Columns.select(Columns.compatRefreshToken)) FROM compat_refresh_tokens WHERE id = ?", [id])?
            .compatRefreshToken()
    }

    private static func fetchActiveSessions(_ db: PostgresTransaction, userId: String) async throws -> [CompatSession] {
        try await db.fetchAll(
            "SELECT \(Columns.select(Columns.compatSession)) FROM compat_sessions WHERE user_id = ? AND finished_at IS NULL ORDER BY created_at, id",
            [userId]
        ).map { try $0.compatSession() }
    }

    private static func fetchActiveSession(_ db: PostgresTransaction, userId: String, deviceId: String) async throws -> CompatSession? {
        try await db.fetchOne(
            "SELECT \(Columns.select(Columns.compatSession)) FROM compat_sessions WHERE user_id = ? AND device_id = ? AND finished_at IS NULL",
            [userId, deviceId]
        )?.compatSession()
    }
}
