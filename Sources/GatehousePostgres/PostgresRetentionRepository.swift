#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``RetentionRepository`` on the PostgreSQL store: runs the batches of ``RetentionPlan``, each in its
/// own transaction that does not move the store revision, so a cleanup never waits for, nor delays,
/// the writes that decide anything.
public struct PostgresRetentionRepository: RetentionRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    public func deleteExpired(policy: RetentionPolicy, now: Date, batchSize: Int) async throws -> CleanupReport {
        try await RetentionPlan(policy: policy, now: now).run(batchSize: batchSize) { batch in
            try await database.mutate(bumpsRevision: false) { db in
                var ids: [String] = []
                if let selection = batch.selection {
                    ids = try await db.fetchAll(selection.sql, selection.postgresArguments).map { try $0.string("id") }
                    if ids.isEmpty { return [] }
                }
                var counts: [Int] = []
                for statement in batch.statements(ids) {
                    counts.append(try await db.run(statement))
                }
                return counts
            }
        }
    }
}
