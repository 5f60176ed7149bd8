import GRDB
import GatehouseStorage

extension DatabasePool {
    /// Runs `updates` as ONE immediate write transaction that also increments `store_revision`, and
    /// translates SQLite errors (``StorageError/translating(_:path:)``). A thrown error rolls everything
    /// back, the revision bump included.
    ///
    /// - Parameters:
    ///   - bumpsRevision: `false` only for writes no cache depends on (activity timestamps).
    ///   - updates: the statements of the transaction.
    func mutate<T: Sendable>(bumpsRevision: Bool = true, _ updates: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await write { db in
                let result = try updates(db)
                if bumpsRevision { try StoreRevision.bump(db) }
                return result
            }
        } catch {
            throw StorageError.translating(error, path: path)
        }
    }

    /// Runs `value` in a read transaction on a reader connection (a WAL snapshot, never blocked by the
    /// writer), translating SQLite errors.
    /// - Parameter value: the queries.
    func query<T: Sendable>(_ value: @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await read(value)
        } catch {
            throw StorageError.translating(error, path: path)
        }
    }
}
