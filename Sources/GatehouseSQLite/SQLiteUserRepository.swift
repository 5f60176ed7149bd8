#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``UserRepository`` on the `users` and `user_passwords` tables. Every method is one transaction.
public struct SQLiteUserRepository: UserRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Inserts `user` (and its first password) and returns it as stored (dates at millisecond precision).
    /// - Parameters:
    ///   - user: the new account; its `id` and `username` must be unused.
    ///   - password: its first password, stored in the same transaction.
    /// - Throws: ``StorageError/conflict(_:)`` when the username (or id) is taken.
    public func create(_ user: User, password: PasswordRecord?) async throws -> User {
        try await pool.mutate { db in
            if try Self.fetchUser(db, where: "username = ?", user.username) != nil {
                throw StorageError.conflict("username \(user.username) is already taken")
            }
            try db.execute(
                sql: "INSERT INTO users (\(Columns.select(Columns.user))) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    user.id, user.username, user.createdAt.storedMilliseconds, user.lockedAt.storedMilliseconds,
                    user.deactivatedAt.storedMilliseconds, user.isAdmin,
                ])
            if let password {
                try db.execute(
                    sql: "INSERT INTO user_passwords (\(Columns.select(Columns.password))) VALUES (?, ?, ?, ?, ?)",
                    arguments: [password.id, user.id, password.version, password.hash, password.createdAt.storedMilliseconds])
            }
            guard let stored = try Self.fetchUser(db, where: "id = ?", user.id) else {
                throw StorageError.notFound("user \(user.id) vanished after insert")
            }
            return stored
        }
    }

    /// The user with this exact (case-sensitive) username.
    /// - Parameter username: the Matrix localpart.
    public func find(username: String) async throws -> User? {
        // GRDB binds text as a C string, so SQLite would read `alice\u{0}x` as `alice`; no stored name
        // contains a NUL, so such a name matches nobody (callers refuse it earlier anyway).
        guard !username.utf8.contains(0) else { return nil }
        return try await pool.query { db in try Self.fetchUser(db, where: "username = ?", username) }
    }

    /// The user with this exact username, else one whose username differs only in ASCII case.
    /// - Parameter username: the localpart as typed.
    public func find(usernameIgnoringCase username: String) async throws -> User? {
        guard !username.utf8.contains(0) else { return nil }
        return try await pool.query { db in
            // The exact name uses the unique index; the case-folded scan runs only when it misses.
            if let exact = try Self.fetchUser(db, where: "username = ?", username) { return exact }
            return try Self.fetchUser(db, where: "username = ? COLLATE NOCASE ORDER BY username LIMIT 1", username)
        }
    }

    /// The user with this id.
    /// - Parameter id: the user's ULID.
    public func find(id: String) async throws -> User? {
        // As for names: SQLite would read `user-alice\u{0}x` as `user-alice`.
        guard !id.utf8.contains(0) else { return nil }
        return try await pool.query { db in try Self.fetchUser(db, where: "id = ?", id) }
    }

    /// All users, ordered by username.
    public func list() async throws -> [User] {
        try await pool.query { db in
            try Row.fetchAll(db, sql: "SELECT \(Columns.select(Columns.user)) FROM users ORDER BY username").map { $0.user() }
        }
    }

    /// Locks (`at` set) or unlocks (`nil`) a user.
    /// - Parameters:
    ///   - userId: the user.
    ///   - at: the lock time, or `nil` to unlock.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user.
    public func setLocked(userId: String, at: Date?) async throws {
        try await update(userId: userId, sql: "UPDATE users SET locked_at = ? WHERE id = ?", [at.storedMilliseconds, userId])
    }

    /// Deactivates (`at` set) or reactivates (`nil`) a user. Sessions are not touched here; see
    /// ``CompatSessionRepository/finishAll(userId:at:)``.
    /// - Parameters:
    ///   - userId: the user.
    ///   - at: the deactivation time, or `nil` to reactivate.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user.
    public func setDeactivated(userId: String, at: Date?) async throws {
        try await update(userId: userId, sql: "UPDATE users SET deactivated_at = ? WHERE id = ?", [at.storedMilliseconds, userId])
    }

    /// Grants or withdraws the right to request `urn:synapse:admin:*`.
    /// - Parameters:
    ///   - userId: the user.
    ///   - isAdmin: the new value.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user.
    public func setAdmin(userId: String, _ isAdmin: Bool) async throws {
        try await update(userId: userId, sql: "UPDATE users SET is_admin = ? WHERE id = ?", [isAdmin, userId])
    }

    /// Stores a new password hash, which becomes the current one.
    /// - Parameter password: the record; its `userId` must exist.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown user, ``StorageError/conflict(_:)`` for a reused id.
    public func addPassword(_ password: PasswordRecord) async throws {
        try await pool.mutate { db in
            guard try Self.fetchUser(db, where: "id = ?", password.userId) != nil else {
                throw StorageError.notFound("no user with id \(password.userId)")
            }
            try db.execute(
                sql: "INSERT INTO user_passwords (\(Columns.select(Columns.password))) VALUES (?, ?, ?, ?, ?)",
                arguments: [password.id, password.userId, password.version, password.hash, password.createdAt.storedMilliseconds])
        }
    }

    /// The newest password of a user: the latest `created_at`; for equal times, the one stored last.
    /// - Parameter userId: the user.
    public func currentPassword(userId: String) async throws -> PasswordRecord? {
        try await pool.query { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT \(Columns.select(Columns.password)) FROM user_passwords
                        WHERE user_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1
                        """),
                arguments: [userId]
            )?.passwordRecord()
        }
    }

    /// A user's email addresses, oldest first.
    /// - Parameter userId: the user.
    public func emails(userId: String) async throws -> [UserEmail] {
        try await pool.query { db in
            try Row.fetchAll(
                db, sql: "SELECT id, user_id, email, created_at FROM user_emails WHERE user_id = ? ORDER BY created_at, id",
                arguments: [userId]
            ).map { row in
                UserEmail(id: row["id"], userId: row["user_id"], email: row["email"], createdAt: Date(storedMilliseconds: row["created_at"]))
            }
        }
    }

    // MARK: - Helpers

    private func update(userId: String, sql: String, _ arguments: StatementArguments) async throws {
        try await pool.mutate { db in
            try db.execute(sql: sql, arguments: arguments)
            if db.changesCount == 0 {
                throw StorageError.notFound("no user with id \(userId)")
            }
        }
    }

    static func fetchUser(_ db: Database, where condition: String, _ value: String) throws -> User? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(Columns.select(Columns.user)) FROM users WHERE \(condition)"),
            arguments: [value]
        )?.user()
    }
}
