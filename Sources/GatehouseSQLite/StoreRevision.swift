import GRDB

/// The `store_revision` counter: one row whose `value` every mutating transaction increments.
///
/// SQLite gives another process no notification of a commit. A running server instead compares this
/// number (one indexed read of one row) with the one it saw last, and drops its caches when it moved,
/// e.g. after `gatehouse manage lock-user` ran in another process.
enum StoreRevision {
    private static let bumpSQL = "UPDATE store_revision SET value = value + 1 WHERE id = 1"
    private static let readSQL = "SELECT value FROM store_revision WHERE id = 1"

    /// Increments the counter; call inside the mutating transaction.
    /// - Parameter db: a connection inside a write transaction.
    static func bump(_ db: Database) throws {
        try db.cachedStatement(sql: bumpSQL).execute()
    }

    /// The current value.
    /// - Parameter db: a connection.
    static func read(_ db: Database) throws -> Int {
        try Int.fetchOne(db.cachedStatement(sql: readSQL)) ?? 0
    }
}
