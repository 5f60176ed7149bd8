#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseStorage

/// ``JobRepository`` on the `jobs` table. Every method is one transaction.
///
/// A claim leases the due job with `FOR UPDATE SKIP LOCKED`, sets `lease_until` and counts an attempt,
/// so instances sharing the database never lease one job twice; a worker (or instance) that dies
/// without reporting back leaves the lease to expire, after which any instance takes the job over.
public struct PostgresJobRepository: JobRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    /// - Throws: ``StorageError/conflict(_:)`` for a reused id.
    public func enqueue(_ job: Job) async throws {
        try await database.mutate { db in
            try await db.execute(
                "INSERT INTO jobs (\(Columns.select(Columns.job))) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                [
                    job.id, job.kind, job.payload, job.attempts, job.runAt.storedMilliseconds, job.lastError, job.createdAt.storedMilliseconds,
                    job.completedAt.storedMilliseconds,
                ])
        }
    }

    /// Leases the job that has been due longest, counting one attempt.
    /// - Returns: the leased job (with `attempts` already incremented), or `nil` when nothing is due.
    public func claimNext(now: Date, leaseUntil: Date) async throws -> Job? {
        let now = now.storedMilliseconds
        let leaseUntil = leaseUntil.storedMilliseconds
        // Nothing due: a read, so idle polling neither waits for the writers nor bumps the revision.
        let anyDue = try await database.query { db in try await db.scalar("SELECT COUNT(*) FROM (\(Self.dueSQL)) due", [now, now]) ?? 0 > 0 }
        guard anyDue else { return nil }
        return try await database.mutate { db -> Job? in
            try await db.fetchOne(
                """
                UPDATE jobs SET lease_until = ?, attempts = attempts + 1 WHERE id = (\(Self.dueSQL) FOR UPDATE SKIP LOCKED)
                RETURNING \(Columns.select(Columns.job))
                """,
                [leaseUntil, now, now]
            )?.job()
        }
    }

    /// - Throws: ``StorageError/notFound(_:)`` for an unknown job.
    public func complete(jobId: String, at: Date) async throws {
        try await update(jobId: jobId, sql: "UPDATE jobs SET completed_at = ?, lease_until = NULL WHERE id = ?", [at.storedMilliseconds, jobId])
    }

    /// - Throws: ``StorageError/notFound(_:)`` for an unknown job.
    public func fail(jobId: String, error: String, retryAt: Date) async throws {
        try await update(
            jobId: jobId, sql: "UPDATE jobs SET last_error = ?, run_at = ?, lease_until = NULL WHERE id = ? AND completed_at IS NULL",
            [error, retryAt.storedMilliseconds, jobId])
    }

    /// Jobs not completed yet (leased or not), oldest first.
    public func pending() async throws -> [Job] {
        try await database.query { db in
            try await db.fetchAll("SELECT \(Columns.select(Columns.job)) FROM jobs WHERE completed_at IS NULL ORDER BY created_at, id").map { try $0.job() }
        }
    }

    /// The id of the job due longest; arguments: now, now. Uses the partial index `jobs_due`.
    private static let dueSQL = """
        SELECT id FROM jobs
        WHERE completed_at IS NULL AND run_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
        ORDER BY run_at, id LIMIT 1
        """

    private func update(jobId: String, sql: String, _ arguments: [any SQLArgument]) async throws {
        try await database.mutate { db in
            if try await db.execute(sql, arguments) == 0, try await db.scalar("SELECT COUNT(*) FROM jobs WHERE id = ?", [jobId]) ?? 0 == 0 {
                throw StorageError.notFound("no job with id \(jobId)")
            }
        }
    }
}
