#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``BrowserSessionRepository`` on `browser_sessions`. Every method is one transaction.
public struct PostgresBrowserSessionRepository: BrowserSessionRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    public func create(_ session: BrowserSession) async throws {
        try await database.mutate { db in
            try await db.execute(
                Columns.insert(into: "browser_sessions", Columns.browserSession),
                [
                    session.id, session.userId, session.createdAt.storedMilliseconds, session.authenticatedAt.storedMilliseconds,
                    session.finishedAt.storedMilliseconds, session.userAgent, session.lastActiveAt.storedMilliseconds, session.lastActiveAddress,
                ])
        }
    }

    public func find(id: String) async throws -> (BrowserSession, User)? {
        let found: Found? = try await database.query { db in
            guard
                let row = try await db.fetchOne(
                    """
                    SELECT \(Columns.select(Columns.browserSession, as: "b")), \(Columns.select(Columns.user, as: "u"))
                    FROM browser_sessions b JOIN users u ON u.id = b.user_id WHERE b.id = ?
                    """, [id])
            else { return nil }
            return Found(session: try row.browserSession(prefix: "b_"), user: try row.user(prefix: "u_"))
        }
        return found.map { ($0.session, $0.user) }
    }

    /// - Throws: ``StorageError/notFound(_:)`` when there is no unfinished session with this id.
    public func reauthenticate(id: String, at: Date) async throws {
        try await database.mutate { db in
            let changed = try await db.execute(
                "UPDATE browser_sessions SET authenticated_at = ? WHERE id = ? AND finished_at IS NULL", [at.storedMilliseconds, id])
            guard changed == 1 else { throw StorageError.notFound("no unfinished browser session with id \(id)") }
        }
    }

    public func finish(id: String, at: Date) async throws -> Bool {
        try await database.mutate { db in
            try await db.execute("UPDATE browser_sessions SET finished_at = ? WHERE id = ? AND finished_at IS NULL", [at.storedMilliseconds, id]) == 1
        }
    }

    public func finishAll(userId: String, at: Date) async throws {
        try await database.mutate { db in
            try await db.execute(
                "UPDATE browser_sessions SET finished_at = ? WHERE user_id = ? AND finished_at IS NULL", [at.storedMilliseconds, userId])
        }
    }

    public func activeSessions(userId: String) async throws -> [BrowserSession] {
        try await database.query { db in
            try await db.fetchAll(
                """
                SELECT \(Columns.select(Columns.browserSession)) FROM browser_sessions
                WHERE user_id = ? AND finished_at IS NULL ORDER BY created_at, id
                """, [userId]
            ).map { try $0.browserSession() }
        }
    }

    private struct Found: Sendable {
        var session: BrowserSession
        var user: User
    }
}
