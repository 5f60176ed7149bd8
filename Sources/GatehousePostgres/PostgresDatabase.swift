import Logging
import NIOCore
import PostgresNIO
import GatehouseStorage

/// The pool and the transaction discipline every PostgreSQL repository uses.
///
/// Mutating transactions start by incrementing `store_revision` and notifying the change channel in
/// one statement (``StoreRevision``). That first statement takes the row lock of the counter, so
/// mutating transactions run one at a time, exactly as SQLite's single writer does: the
/// read-check-write sequences of the repositories keep the meaning they have on SQLite under
/// PostgreSQL's `READ COMMITTED` (each statement of the transaction sees every commit made before the
/// lock was granted). Writes that no decision depends on (activity timestamps, polls, retention
/// deletes) skip the counter and never wait for it.
struct PostgresDatabase: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// How many lost connections one call may meet before it gives up: after a database restart
    /// every idle connection of the pool is dead, and each is found out (and dropped) by one use.
    let lostConnectionRetries: Int
    /// Told the revision a mutating transaction committed: this instance's own revocations are then
    /// seen by its caches at once, not only when their notification comes back.
    var committed: @Sendable (Int) -> Void = { _ in }

    /// Runs `body` in one transaction that first increments the store revision (unless
    /// `bumpsRevision` is `false`), committing on success and rolling back on any error, which is
    /// translated (``StorageError/translatingPostgres(_:)``).
    /// - Parameters:
    ///   - bumpsRevision: `false` only for writes no cache depends on.
    ///   - body: the statements.
    @discardableResult
    func mutate<T: Sendable>(bumpsRevision: Bool = true, _ body: (PostgresTransaction) async throws -> T) async throws -> T {
        let revision = CommittedRevision()
        let value = try await transaction(begin: "BEGIN") { transaction in
            if bumpsRevision { revision.value = try await StoreRevision.bump(transaction) }
            return try await body(transaction)
        }
        if let committedRevision = revision.value { committed(committedRevision) }
        return value
    }

    /// Runs reads in one `REPEATABLE READ` read-only transaction: one snapshot for all of them, as a
    /// SQLite read transaction.
    /// - Parameter body: the queries.
    func snapshot<T: Sendable>(_ body: (PostgresTransaction) async throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    /// Runs reads outside an explicit transaction (each statement its own snapshot): for methods that
    /// read with a single statement, one round trip instead of three.
    /// - Parameter body: the queries.
    @discardableResult
    func query<T: Sendable>(_ body: (PostgresTransaction) async throws -> T) async throws -> T {
        var retries = 0
        while true {
            do {
                return try await client.withConnection { connection in
                    try await body(PostgresTransaction(connection: connection, logger: logger))
                }
            } catch where retries < lostConnectionRetries && Self.isLostConnection(error) {
                // Reads are safe to repeat (see transaction(begin:_:)).
                retries += 1
            } catch {
                throw StorageError.translatingPostgres(error)
            }
        }
    }

    /// Runs `body` between `begin` and `COMMIT` on one leased connection.
    ///
    /// A pooled connection may have died since its last use (a server restart, a network cut); the
    /// pool learns it only by using it. A transaction whose connection is lost before `COMMIT` was
    /// sent was rolled back by the server, so it is run again on another connection; once
    /// `COMMIT` is sent the outcome is unknown and the error is reported.
    private func transaction<T: Sendable>(begin: String, _ body: (PostgresTransaction) async throws -> T) async throws -> T {
        var retries = 0
        while true {
            let stage = CommitStage()
            do {
                return try await client.withConnection { connection in
                    let transaction = PostgresTransaction(connection: connection, logger: logger)
                    try await transaction.run(begin)
                    do {
                        let value = try await body(transaction)
                        stage.committing = true
                        try await transaction.run("COMMIT")
                        return value
                    } catch {
                        // A failed ROLLBACK leaves a broken connection, which the pool closes.
                        if !stage.committing { try? await transaction.run("ROLLBACK") }
                        throw error
                    }
                }
            } catch where retries < lostConnectionRetries && !stage.committing && Self.isLostConnection(error) {
                retries += 1
            } catch {
                throw StorageError.translatingPostgres(error)
            }
        }
    }

    /// Whether `error` says the connection itself is gone (not that a statement failed).
    static func isLostConnection(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return false }
        if let state = error.serverInfo?[.sqlState] {
            // admin_shutdown, crash_shutdown, cannot_connect_now, and the connection_exception class.
            return ["57P01", "57P02", "57P03"].contains(state) || state.hasPrefix("08")
        }
        switch error.code {
        case .clientClosedConnection, .serverClosedConnection, .connectionError, .uncleanShutdown: return true
        default: return false
        }
    }
}

/// The revision a mutating transaction moved the counter to (of its last attempt, the one that
/// committed). Set and read by the one task running the transaction.
private final class CommittedRevision: @unchecked Sendable {
    var value: Int?
}

/// Whether `COMMIT` has been sent: after that a lost connection leaves the outcome unknown.
/// Set and read by the one task running the transaction.
private final class CommitStage: @unchecked Sendable {
    var committing = false
}

/// One leased connection inside (or outside) a transaction, with statements written as in the SQLite
/// store: `?` (or `?N`) placeholders, always bound, never spliced into the text.
struct PostgresTransaction: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs a statement and returns the number of rows it changed (or returned).
    /// - Parameters:
    ///   - sql: the statement with `?` placeholders.
    ///   - arguments: one value per placeholder.
    @discardableResult
    func execute(_ sql: String, _ arguments: [any SQLArgument] = []) async throws -> Int {
        let future: EventLoopFuture<PostgresQueryResult> = connection.query(PostgresSQL.query(sql, arguments), logger: logger)
        let result = try await future.get()
        return result.metadata.rows ?? result.rows.count
    }

    /// Every row of a query.
    ///
    /// A text argument holding U+0000 makes a `SELECT` match no row: PostgreSQL text cannot hold
    /// that character, so no stored value equals it, and binding it would fail the whole query
    /// ("invalid byte sequence") where SQLite answers "not found". A lookup by an id or name from a
    /// request (`x%00`) thus gets the same answer from both stores.
    /// - Parameters:
    ///   - sql: the query with `?` placeholders.
    ///   - arguments: one value per placeholder.
    func fetchAll(_ sql: String, _ arguments: [any SQLArgument] = []) async throws -> [SQLRow] {
        if arguments.contains(where: \.containsNUL) && Self.isRead(sql) { return [] }
        let rows = try await connection.query(PostgresSQL.query(sql, arguments), logger: logger).collect()
        return rows.map { SQLRow($0.makeRandomAccess()) }
    }

    /// Whether `sql` only reads (a write with `RETURNING` must still fail on a value it cannot store).
    private static func isRead(_ sql: String) -> Bool {
        sql.drop(while: \.isWhitespace).prefix(6).uppercased() == "SELECT"
    }

    /// The first row of a query, if any.
    /// - Parameters:
    ///   - sql: the query with `?` placeholders.
    ///   - arguments: one value per placeholder.
    func fetchOne(_ sql: String, _ arguments: [any SQLArgument] = []) async throws -> SQLRow? {
        try await fetchAll(sql, arguments).first
    }

    /// The first column of the first row as an integer (`COUNT(*)`, `EXISTS`, a counter).
    /// - Parameters:
    ///   - sql: the query with `?` placeholders.
    ///   - arguments: one value per placeholder.
    func scalar(_ sql: String, _ arguments: [any SQLArgument] = []) async throws -> Int64? {
        guard let row = try await fetchOne(sql, arguments) else { return nil }
        return try row.optionalInt64(at: 0)
    }

    /// A statement without arguments or rows (`BEGIN`, `COMMIT`, DDL).
    /// - Parameter sql: the statement text, from code, never from input.
    func run(_ sql: String) async throws {
        let future: EventLoopFuture<PostgresQueryResult> = connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        _ = try await future.get()
    }
}
