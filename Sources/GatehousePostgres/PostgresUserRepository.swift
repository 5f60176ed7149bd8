#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``UserRepository`` on the `users` and `user_passwords` tables. Every method is one transaction.
public struct PostgresUserRepository: UserRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    /// Inserts `user` (and its first password) and returns it as stored (dates at millisecond precision).
    /// - Throws: ``StorageError/conflict(_:)`` when the username (or id) is taken.
    public func create(_ user: User, password: PasswordRecord?) async throws -> User {
        try await database.mutate { db in
            if try await Self.fetchUser(db, where: "username = ?", user.username) != nil {
                throw StorageError.conflict("username \(user.username) is already taken")
            }
            try await db.execute(
                Columns.insert(into: "users", Columns.user),
                [
                    user.id, user.username, user.createdAt.storedMilliseconds, user.lockedAt.storedMilliseconds,
                    user.deactivatedAt.storedMilliseconds, user.isAdmin,
                ])
            if let password {
                try await db.execute(
                    Columns.insert(into: "user_passwords", Columns.password),
                    [password.id, user.id, password.version, password.hash, password.createdAt.storedMilliseconds])
            }
            guard let stored = try await Self.fetchUser(db, where: "id = ?", user.id) else {
                throw StorageError.notFound("user \(user.id) vanished after insert")
            }
            return stored
        }
    }

    /// The user with this exact (case-sensitive) username.
    public func find(username: String) async throws -> User? {
        // PostgreSQL text cannot hold a NUL; no stored name contains one, so such a name matches nobody.
        guard !username.utf8.contains(0) else { return nil }
        return try await database.query { db in try await Self.fetchUser(db, where: "username = ?", username) }
    }

    /// The user with this exact username, else one whose username differs only in ASCII case (the
    /// first by username, bytewise, as SQLite's `NOCASE`: `lower()` under `COLLATE "C"` folds ASCII only).
    public func find(usernameIgnoringCase username: String) async throws -> User? {
        guard !username.utf8.contains(0) else { return nil }
        return try await database.snapshot { db in
            if let exact = try await Self.fetchUser(db, where: "username = ?", username) { return exact }
            return try await Self.fetchUser(db, where: "lower(username) = lower(CAST(? AS TEXT) COLLATE \"C\") ORDER BY username LIMIT 1", username)
        }
    }

    public func find(id: String) async throws -> User? {
        try await database.query { db in try await Self.fetchUser(db, where: "id = ?", id) }
    }

    /// All users, ordered by username.
    public func list() async throws -> [User] {
        try await database.query { db in
            try await db.fetchAll("SELECT \(Columns.select(Columns.user)) FROM users ORDER BY username").map { try $0.user() }
        }
    }

    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user.
    public func setLocked(userId: String, at: Date?) async throws {
        try await update(userId: userId, sql: "UPDATE users SET locked_at = ? WHERE id = ?", [at.storedMilliseconds, userId])
    }

    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user.
    public func setDeactivated(userId: String, at: Date?) async throws {
        try await update(userId: userId, sql: "UPDATE users SET deactivated_at = ? WHERE id = ?", [at.storedMilliseconds, userId])
    }

    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user.
    public func setAdmin(userId: String, _ isAdmin: Bool) async throws {
        try await update(userId: userId, sql: "UPDATE users SET is_admin = ? WHERE id = ?", [isAdmin, userId])
    }

    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user, ``StorageError/conflict(_:)`` for a reused id.
    public func addPassword(_ password: PasswordRecord) async throws {
        try await database.mutate { db in
            guard try await Self.fetchUser(db, where: "id = ?", password.userId) != nil else {
                throw StorageError.notFound("no user with id \(password.userId)")
            }
            try await db.execute(
                Columns.insert(into: "user_passwords", Columns.password),
                [password.id, password.userId, password.version, password.hash, password.createdAt.storedMilliseconds])
        }
    }

    /// The newest password of a user: the latest `created_at`; for equal times, the one stored last.
    public func currentPassword(userId: String) async throws -> PasswordRecord? {
        try await database.query { db in
            try await db.fetchOne(
                "SELECT \(Columns.select(Columns.password)) FROM user_passwords WHERE user_id = ? ORDER BY created_at DESC, position DESC LIMIT 1",
                [userId]
            )?.passwordRecord()
        }
    }

    /// A user's email addresses, oldest first.
    public func emails(userId: String) async throws -> [UserEmail] {
        try await database.query { db in
            try await db.fetchAll("SELECT id, user_id, email, created_at FROM user_emails WHERE user_id = ? ORDER BY created_at, id", [userId])
                .map { row in
                    UserEmail(id: try row.string("id"), userId: try row.string("user_id"), email: try row.string("email"), createdAt: try row.date("created_at"))
                }
        }
    }

    private func update(userId: String, sql: String, _ arguments: [any SQLArgument]) async throws {
        try await database.mutate { db in
            if try await db.execute(sql, arguments) == 0 {
                throw StorageError.notFound("no user with id \(userId)")
            }
        }
    }

    static func fetchUser(_ db: PostgresTransaction, where condition: String, _ value: String) async throws -> User? {
        try await db.fetchOne("SELECT \(Columns.select(Columns.user)) FROM users WHERE \(condition)", [value])?.user()
    }
}
