import Foundation
import GatehouseStorage

/// An in-memory ``JobRepository`` with the semantics of `SQLiteJobRepository`: the job due longest
/// first (by `runAt`, then id), a claim leases the job and counts an attempt, leases expire, a
/// failure releases the lease and sets the next due time.
actor MemoryJobRepository: JobRepository {
    private var jobs: [String: Job] = [:]
    private var leases: [String: Date] = [:]

    func enqueue(_ job: Job) async throws {
        jobs[job.id] = job
    }

    func claimNext(now: Date, leaseUntil: Date) async throws -> Job? {
        let due = jobs.values
            .filter { $0.completedAt == nil && $0.runAt <= now && (leases[$0.id].map { $0 <= now } ?? true) }
            .sorted { ($0.runAt, $0.id) < ($1.runAt, $1.id) }
        guard let id = due.first?.id else { return nil }
        leases[id] = leaseUntil
        jobs[id]?.attempts += 1
        return jobs[id]
    }

    func complete(jobId: String, at: Date) async throws {
        guard jobs[jobId] != nil else { throw StorageError.notFound("no job \(jobId)") }
        jobs[jobId]?.completedAt = at
        leases[jobId] = nil
    }

    func fail(jobId: String, error: String, retryAt: Date) async throws {
        guard jobs[jobId] != nil else { throw StorageError.notFound("no job \(jobId)") }
        jobs[jobId]?.lastError = error
        jobs[jobId]?.runAt = retryAt
        leases[jobId] = nil
    }

    func pending() async throws -> [Job] {
        jobs.values.filter { $0.completedAt == nil }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Every job, completed or not, oldest first.
    func all() -> [Job] {
        jobs.values.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    func job(_ id: String) -> Job? {
        jobs[id]
    }
}
