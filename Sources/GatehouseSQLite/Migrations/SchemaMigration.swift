/// One versioned schema change: an identifier recorded in `grdb_migrations` and the SQL that
/// performs it.
///
/// Migrations are append-only. A released migration is never edited, renamed or removed: a file
/// that recorded its identifier must keep meaning the same schema, and an identifier this build does
/// not know makes ``SQLiteStore`` refuse the file as ``StorageError/schemaTooNew(_:)``.
struct SchemaMigration: Sendable {
    /// `NNNN_name`, sorted by `NNNN`.
    let identifier: String
    /// One or more SQL statements, run in a single transaction together with the record of the
    /// identifier.
    let sql: String
}

/// The registry: every migration this build knows, in the order they run.
enum SchemaMigrations {
    static let all: [SchemaMigration] = [
        Migration0001Initial.migration,
        Migration0002LoginTokens.migration,
        Migration0003RefreshSuccessor.migration,
        Migration0004OAuth2Clients.migration,
        Migration0005OAuth2Sessions.migration,
        Migration0006RetentionIndexes.migration,
        Migration0007UserEmails.migration,
        Migration0008SessionActivity.migration,
        Migration0009ClientSigningAlgorithms.migration,
    ]

    /// Identifiers of ``all``, in order.
    static let identifiers: [String] = all.map(\.identifier)
}
