import GatehouseStorage

/// ``SessionActivityRepository`` on the `last_active_at` / `last_active_ip` columns of
/// `compat_sessions`, `oauth2_sessions` and `browser_sessions`.
public struct PostgresSessionActivityRepository: SessionActivityRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    /// Writes the batch in one transaction that does not move the store revision.
    public func record(_ batch: [SessionActivity]) async throws {
        guard !batch.isEmpty else { return }
        try await database.mutate(bumpsRevision: false) { db in
            for entry in batch {
                try await db.execute(Self.sql[entry.kind]!, [entry.lastActiveAt.storedMilliseconds, entry.address, entry.sessionId])
            }
        }
    }

    /// Moves `last_active_at` forward only; a batch without an address keeps the stored one.
    private static let sql: [SessionActivity.Kind: String] = Dictionary(
        uniqueKeysWithValues: SessionActivity.Kind.allCases.map { kind in
            let table =
                switch kind {
                case .compat: "compat_sessions"
                case .oauth2: "oauth2_sessions"
                case .browser: "browser_sessions"
                }
            return (
                kind,
                "UPDATE \(table) SET last_active_at = ?1, last_active_ip = COALESCE(CAST(?2 AS TEXT), last_active_ip) "
                    + "WHERE id = ?3 AND (last_active_at IS NULL OR last_active_at < ?1)"
            )
        })
}
