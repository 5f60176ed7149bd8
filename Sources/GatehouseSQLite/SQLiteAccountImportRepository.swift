import GRDB
import GatehouseStorage

/// ``AccountImportRepository`` on the users, passwords, emails and compat tables: the writes of
/// `gatehouse import-synapse`.
///
/// The whole batch is one immediate write transaction (with one `store_revision` bump), so a failed
/// import leaves the store as it was, and a running server sees either none of it or all of it.
/// Inserts go through cached prepared statements: an import of a large homeserver is millions of
/// rows, and the transaction holds the write lock for its whole length (seconds per hundred
/// thousand rows on a common disk), which is why the import is meant to run before `serve` starts.
public struct SQLiteAccountImportRepository: AccountImportRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Reads every username, email, unfinished compat session and compat token hash in one snapshot.
    public func baseline() async throws -> ImportBaseline {
        try await pool.query { db in
            var baseline = ImportBaseline()
            for row in try Row.fetchAll(db, sql: "SELECT id, username, is_admin FROM users") {
                baseline.users[row["username"]] = ImportBaseline.ExistingUser(id: row["id"], isAdmin: row["is_admin"])
            }
            for row in try Row.fetchAll(db, sql: "SELECT user_id, email FROM user_emails") {
                baseline.emails.insert(ImportBaseline.emailKey(userId: row["user_id"], email: row["email"]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT id, user_id, device_id FROM compat_sessions WHERE finished_at IS NULL") {
                baseline.activeSessions[ImportBaseline.deviceKey(userId: row["user_id"], deviceId: row["device_id"])] = row["id"]
            }
            for table in ["compat_access_tokens", "compat_refresh_tokens"] {
                let hashes = try String.fetchCursor(db, sql: "SELECT token_hash FROM \(table)")
                while let hash = try hashes.next() { baseline.tokenHashes.insert(hash) }
            }
            return baseline
        }
    }

    /// Inserts every row of `batch` in one transaction (users before what refers to them).
    /// - Parameters:
    ///   - batch: the rows.
    ///   - progress: rows written so far, every 1 000 rows and at the end.
    /// - Throws: ``StorageError/conflict(_:)`` when a row collides with one stored since the baseline
    ///   was read; nothing is written then.
    public func write(_ batch: AccountImportBatch, progress: @escaping @Sendable (Int) -> Void) async throws {
        guard !batch.isEmpty else { return }
        try await pool.mutate { db in
            var written = 0
            func step() {
                written += 1
                if written % 1000 == 0 { progress(written) }
            }
            let insertUser = try db.cachedStatement(
                sql: "INSERT INTO users (\(Columns.select(Columns.user))) VALUES (?, ?, ?, ?, ?, ?)")
            for user in batch.users {
                try insertUser.execute(arguments: [
                    user.id, user.username, user.createdAt.storedMilliseconds, user.lockedAt.storedMilliseconds,
                    user.deactivatedAt.storedMilliseconds, user.isAdmin,
                ])
                step()
            }
            let insertPassword = try db.cachedStatement(
                sql: "INSERT INTO user_passwords (\(Columns.select(Columns.password))) VALUES (?, ?, ?, ?, ?)")
            for password in batch.passwords {
                try insertPassword.execute(arguments: [
                    password.id, password.userId, password.version, password.hash, password.createdAt.storedMilliseconds,
                ])
                step()
            }
            let insertEmail = try db.cachedStatement(sql: "INSERT INTO user_emails (id, user_id, email, created_at) VALUES (?, ?, ?, ?)")
            for email in batch.emails {
                try insertEmail.execute(arguments: [email.id, email.userId, email.email, email.createdAt.storedMilliseconds])
                step()
            }
            let insertSession = try db.cachedStatement(
                sql: "INSERT INTO compat_sessions (\(Columns.select(Columns.compatSession))) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            for session in batch.sessions {
                try insertSession.execute(arguments: [
                    session.id, session.userId, session.deviceId, session.displayName, session.isSynapseAdmin,
                    session.createdAt.storedMilliseconds, session.finishedAt.storedMilliseconds, session.lastActiveAt.storedMilliseconds,
                ])
                step()
            }
            let insertAccess = try db.cachedStatement(
                sql: "INSERT INTO compat_access_tokens (\(Columns.select(Columns.compatAccessToken))) VALUES (?, ?, ?, ?, ?, ?)")
            for token in batch.accessTokens {
                try insertAccess.execute(arguments: [
                    token.id, token.sessionId, token.tokenHash, token.createdAt.storedMilliseconds, token.expiresAt.storedMilliseconds,
                    token.revokedAt.storedMilliseconds,
                ])
                step()
            }
            let insertRefresh = try db.cachedStatement(
                sql: "INSERT INTO compat_refresh_tokens (\(Columns.select(Columns.compatRefreshToken))) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            for token in batch.refreshTokens {
                try insertRefresh.execute(arguments: [
                    token.id, token.sessionId, token.accessTokenId, token.tokenHash, token.createdAt.storedMilliseconds,
                    token.consumedAt.storedMilliseconds, token.revokedAt.storedMilliseconds, token.nextRefreshTokenId,
                ])
                step()
            }
            progress(written)
        }
    }
}
