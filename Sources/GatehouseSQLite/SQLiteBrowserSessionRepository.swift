#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``BrowserSessionRepository`` on `browser_sessions`. Every method is one transaction.
public struct SQLiteBrowserSessionRepository: BrowserSessionRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Stores a new browser session.
    /// - Parameter session: the session; its user must exist.
    /// - Throws: ``StorageError/conflict(_:)`` when the id is taken, ``StorageError/notFound(_:)`` for an unknown user.
    public func create(_ session: BrowserSession) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "INSERT INTO browser_sessions (\(Columns.select(Columns.browserSession))) VALUES (\(Columns.placeholders(Columns.browserSession)))",
                arguments: [
                    session.id, session.userId, session.createdAt.storedMilliseconds, session.authenticatedAt.storedMilliseconds,
                    session.finishedAt.storedMilliseconds, session.userAgent, session.lastActiveAt.storedMilliseconds, session.lastActiveAddress,
                ])
        }
    }

    /// The session with its user, whatever their state.
    /// - Parameter id: the session id from the cookie.
    public func find(id: String) async throws -> (BrowserSession, User)? {
        let found: Found? = try await pool.query { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT \(Columns.select(Columns.browserSession, as: "b")), \(Columns.select(Columns.user, as: "u"))
                            FROM browser_sessions b JOIN users u ON u.id = b.user_id WHERE b.id = ?
                            """), arguments: [id])
            else { return nil }
            return Found(session: row.browserSession(prefix: "b_"), user: row.user(prefix: "u_"))
        }
        return found.map { ($0.session, $0.user) }
    }

    /// Records a fresh password check of an unfinished session.
    /// - Parameters:
    ///   - id: the session.
    ///   - at: the time of the check.
    /// - Throws: ``StorageError/notFound(_:)`` when there is no unfinished session with this id.
    public func reauthenticate(id: String, at: Date) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "UPDATE browser_sessions SET authenticated_at = ? WHERE id = ? AND finished_at IS NULL",
                arguments: [at.storedMilliseconds, id])
            guard db.changesCount == 1 else { throw StorageError.notFound("no unfinished browser session with id \(id)") }
        }
    }

    /// Signs out.
    /// - Parameters:
    ///   - id: the session.
    ///   - at: the time.
    /// - Returns: `false` when there was no unfinished session with this id.
    public func finish(id: String, at: Date) async throws -> Bool {
        try await pool.mutate { db in
            try db.execute(
                sql: "UPDATE browser_sessions SET finished_at = ? WHERE id = ? AND finished_at IS NULL", arguments: [at.storedMilliseconds, id])
            return db.changesCount == 1
        }
    }

    /// Finishes every unfinished browser session of a user.
    /// - Parameters:
    ///   - userId: the user.
    ///   - at: the time.
    public func finishAll(userId: String, at: Date) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "UPDATE browser_sessions SET finished_at = ? WHERE user_id = ? AND finished_at IS NULL",
                arguments: [at.storedMilliseconds, userId])
        }
    }

    /// The unfinished browser sessions of a user, oldest first.
    /// - Parameter userId: the user.
    public func activeSessions(userId: String) async throws -> [BrowserSession] {
        try await pool.query { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(Columns.select(Columns.browserSession)) FROM browser_sessions
                        WHERE user_id = ? AND finished_at IS NULL ORDER BY created_at, id
                        """), arguments: [userId]
            ).map { $0.browserSession() }
        }
    }

    private struct Found: Sendable {
        var session: BrowserSession
        var user: User
    }
}
