import PostgresNIO
import GatehouseStorage

extension StorageError {
    /// Translates a PostgreSQL failure into the storage error a caller can act on, as
    /// `StorageError.translating` does for SQLite: a unique violation is a conflict, a foreign-key
    /// violation a missing row, a lost or refused connection "unavailable". Other errors (bad SQL,
    /// cancellation) pass through. Messages carry the server's words and the constraint's columns,
    /// never a bound value (a token hash, a password).
    /// - Parameter error: what postgres-nio threw (or a ``StorageError`` thrown by a repository).
    static func translatingPostgres(_ error: any Error) -> any Error {
        if error is StorageError { return error }
        // The pool's own error type lives in an underscored module; it is recognised by name. Its
        // "circuit breaker tripped" means no connection could be made for a minute.
        if String(reflecting: type(of: error)).hasSuffix("ConnectionPoolError") {
            return StorageError.unavailable("the PostgreSQL database cannot be reached (\(error))")
        }
        guard let error = error as? PSQLError else { return error }
        guard let info = error.serverInfo, let state = info[.sqlState] else {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .sslUnsupported,
                .failedToAddSSLHandler, .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
                return StorageError.unavailable("the PostgreSQL database cannot be reached (\(error.code))")
            default:
                return error
            }
        }
        let table = info[.tableName] ?? "?"
        switch state {
        case "23505":
            return StorageError.conflict("already exists (unique constraint failed: \(uniqueColumns(info[.detail], table: table)))")
        case "23503":
            return StorageError.notFound("a referenced row does not exist (foreign key constraint failed: \(info[.constraintName] ?? table))")
        case "40P01", "40001":
            return StorageError.conflict("a concurrent transaction won (\(info[.message] ?? state))")
        case _ where state.hasPrefix("08") || state.hasPrefix("28") || state.hasPrefix("53") || state.hasPrefix("57P") || state == "3D000":
            return StorageError.unavailable("the PostgreSQL database is unavailable: \(info[.message] ?? state) (SQLSTATE \(state))")
        default:
            return error
        }
    }

    /// `table.column, …` from a unique violation's detail `Key (a, b)=(…) already exists.`, leaving the
    /// values out.
    private static func uniqueColumns(_ detail: String?, table: String) -> String {
        guard let detail, let open = detail.firstIndex(of: "("), let close = detail[open...].firstIndex(of: ")") else { return table }
        return detail[detail.index(after: open)..<close].split(separator: ",")
            .map { "\(table).\($0.filter { $0 != " " })" }.joined(separator: ", ")
    }
}
