/// The `store_revision` counter on PostgreSQL: one row whose `value` every mutating transaction
/// increments, with a notification on ``channel`` carrying the new value.
///
/// PostgreSQL delivers a notification only when (and if) its transaction commits, so a listener
/// learns of every committed change within a network round trip; the counter itself stays the
/// truth that a periodic read falls back on (``PostgresRevisionWatcher``).
enum StoreRevision {
    /// The `NOTIFY` channel.
    static let channel = "gatehouse_store_revision"

    private static let bumpSQL = """
        WITH bumped AS (UPDATE store_revision SET value = value + 1 WHERE id = 1 RETURNING value)
        SELECT value, pg_notify('\(channel)', value::text) FROM bumped
        """
    static let readSQL = "SELECT value FROM store_revision WHERE id = 1"

    /// Increments the counter and queues the notification; call first in the mutating transaction
    /// (it takes the counter's row lock, see ``PostgresDatabase``).
    /// - Parameter transaction: a connection inside a transaction.
    /// - Returns: the new value, which is the revision once the transaction commits.
    @discardableResult
    static func bump(_ transaction: PostgresTransaction) async throws -> Int {
        Int(try await transaction.scalar(bumpSQL) ?? 0)
    }

    /// The current value.
    /// - Parameter transaction: a connection.
    static func read(_ transaction: PostgresTransaction) async throws -> Int {
        Int(try await transaction.scalar(readSQL) ?? 0)
    }
}
