#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage

/// ``JobRepository`` on the `jobs` table. Every method is one transaction.
///
/// A claim sets `lease_until` and counts an attempt. A worker that dies without calling
/// ``complete(jobId:at:)`` or ``fail(jobId:error:retryAt:)`` leaves the lease to expire, after which
/// the job is due again, so every job runs at least once (handlers must be idempotent).
public struct SQLiteJobRepository: JobRepository {
    private let pool: DatabasePool

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Stores a new job.
    /// - Parameter job: the job; its `id` must be unused.
    /// - Throws: ``StorageError/conflict(_:)`` for a reused id.
    public func enqueue(_ job: Job) async throws {
        try await pool.mutate { db in
            try db.execute(
                sql: "INSERT INTO jobs (\(Columns.select(Columns.job))) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                arguments: [
                    job.id, job.kind, job.payload, job.attempts, job.runAt.storedMilliseconds, job.lastError,
                    job.createdAt.storedMilliseconds, job.completedAt.storedMilliseconds,
                ])
        }
    }

    /// Leases the job that has been due longest (`run_at` ≤ `now`, not completed, lease absent or
    /// expired), counting one attempt.
    /// - Parameters:
    ///   - now: the current time.
    ///   - leaseUntil: when the job becomes due again if the worker never reports back.
    /// - Returns: the leased job (with `attempts` already incremented), or `nil` when nothing is due.
    public func claimNext(now: Date, leaseUntil: Date) async throws -> Job? {
        let now = now.storedMilliseconds
        let leaseUntil = leaseUntil.storedMilliseconds
        // Nothing due: a read, so idle polling neither takes the write lock nor bumps the revision.
        let anyDue = try await pool.query { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (\(Self.dueSQL))"), arguments: [now, now]) ?? false
        }
        guard anyDue else { return nil }
        return try await pool.mutate { db -> Job? in
            guard let id = try String.fetchOne(db.cachedStatement(sql: Self.dueSQL), arguments: [now, now]) else { return nil }
            try db.execute(sql: "UPDATE jobs SET lease_until = ?, attempts = attempts + 1 WHERE id = ?", arguments: [leaseUntil, id])
            return try Row.fetchOne(db, sql: "SELECT \(Columns.select(Columns.job)) FROM jobs WHERE id = ?", arguments: [id])?.job()
        }
    }

    /// Marks a job done; it is never returned by ``claimNext(now:leaseUntil:)`` again.
    /// - Parameters:
    ///   - jobId: the job.
    ///   - at: the completion time.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown job.
    public func complete(jobId: String, at: Date) async throws {
        try await update(
            jobId: jobId, sql: "UPDATE jobs SET completed_at = ?, lease_until = NULL WHERE id = ?", [at.storedMilliseconds, jobId])
    }

    /// Records a failure, releases the lease and makes the job due again at `retryAt`.
    /// - Parameters:
    ///   - jobId: the job.
    ///   - error: a description for `last_error`.
    ///   - retryAt: the next attempt's earliest time.
    /// - Throws: ``StorageError/notFound(_:)`` for an unknown job.
    public func fail(jobId: String, error: String, retryAt: Date) async throws {
        try await update(
            jobId: jobId, sql: "UPDATE jobs SET last_error = ?, run_at = ?, lease_until = NULL WHERE id = ? AND completed_at IS NULL",
            [error, retryAt.storedMilliseconds, jobId])
    }

    /// Jobs not completed yet (leased or not), oldest first.
    public func pending() async throws -> [Job] {
        try await pool.query { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Columns.select(Columns.job)) FROM jobs WHERE completed_at IS NULL ORDER BY created_at, id"
            ).map { $0.job() }
        }
    }

    // MARK: - Helpers

    /// The id of the job due longest; arguments: now, now. Uses the partial index `jobs_due`.
    private static let dueSQL = """
        SELECT id FROM jobs
        WHERE completed_at IS NULL AND run_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
        ORDER BY run_at, id LIMIT 1
        """

    private func update(jobId: String, sql: String, _ arguments: StatementArguments) async throws {
        try await pool.mutate { db in
            try db.execute(sql: sql, arguments: arguments)
            if db.changesCount == 0,
                try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?)", arguments: [jobId]) != true
            {
                throw StorageError.notFound("no job with id \(jobId)")
            }
        }
    }
}
