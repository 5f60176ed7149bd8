import GRDBSQLite
import GatehouseStorage

/// Reads `store_revision` through its own read-only SQLite connection, synchronously, and reads it
/// from the file only when something was committed since the last read.
///
/// The database is in WAL mode, so every commit of any process rewrites the WAL-index header in
/// shared memory first (``WALIndexHeader``). The probe keeps the header it saw just before its last
/// read of the counter: while the header is unchanged, nothing was committed and that counter is
/// still current, a comparison of 48 bytes instead of a statement (a read transaction, its shared
/// memory locks and the B-tree walk: about 4,000 instructions on every request with one of
/// Gatehouse's tokens). A revocation committed by any process is still seen by the very next request.
/// A database not in WAL mode is read every time.
///
/// Not thread-safe by design: each thread makes its own (``SQLiteStore/makeRevisionProbe()``).
public final class SQLiteRevisionProbe: RevisionProbe {
    private var connection: OpaquePointer?
    private var statement: OpaquePointer?
    /// Whether the database is in WAL mode (read once: a WAL database cannot leave WAL mode while
    /// another connection, this one, has it open).
    private let isWAL: Bool
    /// The WAL-index header, once the connection has opened the WAL.
    private var walIndex: WALIndexHeader?
    /// The header seen just before the last read of the counter, and what that read returned.
    private var lastRead: (header: WALIndexHeader.Snapshot, revision: Int)?
    /// How many times the counter was read from the database (tests and diagnostics).
    public private(set) var databaseReads = 0

    init(path: String) throws {
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        guard sqlite3_open_v2(path, &connection, flags, nil) == SQLITE_OK, let connection,
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
        isWAL = Self.journalMode(of: connection) == "wal"
    }

    deinit {
        sqlite3_finalize(statement)
        sqlite3_close_v2(connection)
    }

    public func currentRevision() -> Int? {
        guard let walIndex else {
            let revision = readFromDatabase()
            // The header is SQLite's mapping, made when a read first opens the WAL.
            if isWAL, revision != nil, let connection { walIndex = WALIndexHeader.attach(to: connection) }
            return revision
        }
        // Taken before the read: a commit after it changes the header again, so the next call reads.
        let header = walIndex.snapshot()
        if let lastRead, lastRead.header == header { return lastRead.revision }
        let revision = readFromDatabase()
        lastRead = revision.map { (header, $0) }
        return revision
    }

    private func readFromDatabase() -> Int? {
        databaseReads += 1
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        return Int(sqlite3_column_int64(statement, 0))
    }

    private static func journalMode(of connection: OpaquePointer) -> String? {
        var pragma: OpaquePointer?
        defer { sqlite3_finalize(pragma) }
        guard sqlite3_prepare_v2(connection, "PRAGMA journal_mode", -1, &pragma, nil) == SQLITE_OK,
            sqlite3_step(pragma) == SQLITE_ROW, let text = sqlite3_column_text(pragma, 0)
        else { return nil }
        return String(cString: text)
    }
}
