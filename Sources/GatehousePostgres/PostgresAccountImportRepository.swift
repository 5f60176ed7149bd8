import GatehouseStorage

/// ``AccountImportRepository`` on the users, passwords, emails and compat tables: the writes of
/// `gatehouse import-synapse`, the whole batch in ONE transaction (with one revision bump), inserted
/// a few hundred rows per statement.
public struct PostgresAccountImportRepository: AccountImportRepository {
    private let database: PostgresDatabase
    /// Rows per INSERT: well under PostgreSQL's 65 535 parameters for the widest table.
    private static let rowsPerStatement = 500

    init(database: PostgresDatabase) {
        self.database = database
    }

    public func baseline() async throws -> ImportBaseline {
        try await database.snapshot { db in
            var baseline = ImportBaseline()
            for row in try await db.fetchAll("SELECT id, username, is_admin FROM users") {
                baseline.users[try row.string("username")] = ImportBaseline.ExistingUser(id: try row.string("id"), isAdmin: try row.bool("is_admin"))
            }
            for row in try await db.fetchAll("SELECT user_id, email FROM user_emails") {
                baseline.emails.insert(ImportBaseline.emailKey(userId: try row.string("user_id"), email: try row.string("email")))
            }
            for row in try await db.fetchAll("SELECT id, user_id, device_id FROM compat_sessions WHERE finished_at IS NULL") {
                baseline.activeSessions[ImportBaseline.deviceKey(userId: try row.string("user_id"), deviceId: try row.string("device_id"))] =
                    try row.string("id")
            }
            for table in ["compat_access_tokens", "compat_refresh_tokens"] {
                for row in try await db.fetchAll("SELECT token_hash FROM \(table)") { baseline.tokenHashes.insert(try row.string("token_hash")) }
            }
            return baseline
        }
    }

    /// - Throws: ``StorageError/conflict(_:)`` when a row collides with one stored since the baseline
    ///   was read; nothing is written then.
    public func write(_ batch: AccountImportBatch, progress: @escaping @Sendable (Int) -> Void) async throws {
        guard !batch.isEmpty else { return }
        try await database.mutate { db in
            var written = 0
            func insert(_ table: String, _ columns: [String], _ rows: [[any SQLArgument]]) async throws {
                var start = 0
                while start < rows.count {
                    let chunk = rows[start..<min(start + Self.rowsPerStatement, rows.count)]
                    let tuple = "(" + Columns.placeholders(columns) + ")"
                    try await db.execute(
                        "INSERT INTO \(table) (\(Columns.select(columns))) VALUES " + Array(repeating: tuple, count: chunk.count).joined(separator: ", "),
                        chunk.flatMap { $0 })
                    written += chunk.count
                    start += chunk.count
                    progress(written)
                }
            }
            try await insert(
                "users", Columns.user,
                batch.users.map {
                    [$0.id, $0.username, $0.createdAt.storedMilliseconds, $0.lockedAt.storedMilliseconds, $0.deactivatedAt.storedMilliseconds, $0.isAdmin]
                })
            try await insert(
                "user_passwords", Columns.password,
                batch.passwords.map { [$0.id, $0.userId, $0.version, $0.hash, $0.createdAt.storedMilliseconds] })
            try await insert(
                "user_emails", ["id", "user_id", "email", "created_at"],
                batch.emails.map { [$0.id, $0.userId, $0.email, $0.createdAt.storedMilliseconds] })
            try await insert(
                "compat_sessions", Columns.compatSession,
                batch.sessions.map {
                    [
                        $0.id, $0.userId, $0.deviceId, $0.displayName, $0.isSynapseAdmin, $0.createdAt.storedMilliseconds,
                        $0.finishedAt.storedMilliseconds, $0.lastActiveAt.storedMilliseconds, $0.lastActiveAddress,
                    ]
                })
            try await insert(
                "compat_access_tokens", Columns.compatAccessToken,
                batch.accessTokens.map {
                    [$0.id, $0.sessionId, $0.tokenHash, $0.createdAt.storedMilliseconds, $0.expiresAt.storedMilliseconds, $0.revokedAt.storedMilliseconds]
                })
            try await insert(
                "compat_refresh_tokens", Columns.compatRefreshToken,
                batch.refreshTokens.map {
                    [
                        $0.id, $0.sessionId, $0.accessTokenId, $0.tokenHash, $0.createdAt.storedMilliseconds, $0.consumedAt.storedMilliseconds,
                        $0.revokedAt.storedMilliseconds, $0.nextRefreshTokenId,
                    ]
                })
            progress(written)
        }
    }
}
