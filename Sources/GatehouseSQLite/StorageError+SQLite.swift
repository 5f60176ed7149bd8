import GRDB
import GatehouseStorage

extension StorageError {
    /// Translates an SQLite failure into the storage error a caller can act on; other errors
    /// (programming errors such as bad SQL, cancellation) pass through unchanged.
    ///
    /// - Parameters:
    ///   - error: what GRDB threw.
    ///   - path: the database file, for the message.
    /// - Returns: the error to throw.
    static func translating(_ error: any Error, path: String) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            return StorageError.conflict("already exists (\(error.message ?? "unique constraint failed"))")
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            return StorageError.notFound("a referenced row does not exist (\(error.message ?? "foreign key constraint failed"))")
        default:
            break
        }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return StorageError.unavailable(
                "database \(path) is locked by another process (still busy after the busy timeout); "
                    + "stop the other gatehouse process or wait for it to finish")
        case .SQLITE_NOTADB:
            return StorageError.unavailable("\(path): file is not a database (or it is encrypted); check `database.path`")
        case .SQLITE_CORRUPT:
            return StorageError.unavailable("database \(path) is corrupt; restore it from a backup")
        case .SQLITE_CANTOPEN:
            return StorageError.unavailable("cannot open database \(path): \(error.message ?? "unable to open database file")")
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH:
            return StorageError.unavailable("database \(path) is not writable: \(error.message ?? "read-only")")
        case .SQLITE_FULL:
            return StorageError.unavailable("database \(path): disk is full")
        case .SQLITE_IOERR:
            return StorageError.unavailable("database \(path): I/O error: \(error.message ?? "disk I/O error")")
        default:
            return error
        }
    }
}
