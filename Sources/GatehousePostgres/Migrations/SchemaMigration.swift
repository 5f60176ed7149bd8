/// One versioned schema change of the PostgreSQL store: an identifier recorded in
/// `schema_migrations` and the SQL that performs it.
///
/// The identifiers are the SQLite store's, one for one, so `gatehouse database migrate` reports the
/// same names on both backends. Migrations are append-only, as on SQLite: a released one is never
/// edited, and a database recording an identifier this build does not know is refused
/// (``StorageError/schemaTooNew(_:)``).
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
