#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``RetentionRepository`` on the SQLite store: runs the batches of ``RetentionPlan``, each in its own
/// write transaction that does not move the store revision.
public struct SQLiteRetentionRepository: RetentionRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    public func deleteExpired(policy: RetentionPolicy, now: Date, batchSize: Int) async throws -> CleanupReport {
        try await RetentionPlan(policy: policy, now: now).run(batchSize: batchSize) { batch in
            try await pool.mutate(bumpsRevision: false) { db in
                var ids: [String] = []
                if let selection = batch.selection {
                    ids = try String.fetchAll(db, sql: selection.sql, arguments: selection.sqliteArguments)
                    if ids.isEmpty { return [] }
                }
                return try batch.statements(ids).map { try db.run($0) }
            }
        }
    }
}
