import GRDBSQLite
import GatehouseStorage

/// Reads `store_revision` through its own read-only SQLite connection with one prepared statement,
/// synchronously: in WAL mode a read takes a few microseconds (the WAL index is shared memory) and
/// never waits for writers, so it can run on an event loop for every cached introspection.
///
/// Not thread-safe by design: each thread makes its own (``SQLiteStore/makeRevisionProbe()``).
public final class SQLiteRevisionProbe: RevisionProbe {
    private var connection: OpaquePointer?
    private var statement: OpaquePointer?

    init(path: String) throws {
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &connection, flags, nil) == SQLITE_OK,
            sqlite3_prepare_v3(connection, "SELECT value FROM store_revision WHERE id = 1", -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
                == SQLITE_OK
        else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_finalize(statement)
            sqlite3_close_v2(connection)
            throw StorageError.unavailable("cannot open a revision reader on \(path): \(message)")
        }
        // Never wait on a lock here; a busy database reads as "unknown" and the caller falls back.
        sqlite3_busy_timeout(connection, 0)
    }

    deinit {
        sqlite3_finalize(statement)
        sqlite3_close_v2(connection)
    }

    public func currentRevision() -> Int? {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        return Int(sqlite3_column_int64(statement, 0))
    }
}
