import GatehouseCore
import GatehouseStorage

/// Queues ``HomeserverJob``s in the persistent job store and wakes the in-process ``JobRunner``.
/// Create one per process and share it, so its ids keep queue order.
public struct JobQueue: Sendable {
    private let repository: any JobRepository
    private let runner: JobRunner?
    private let ids = MonotonicULID()

    /// - Parameters:
    ///   - repository: the job store.
    ///   - runner: the runner to wake after each enqueue; `nil` in processes without one (the CLI
    ///     calls ``JobRunner/runPending(now:)`` itself).
    public init(repository: any JobRepository, runner: JobRunner? = nil) {
        self.repository = repository
        self.runner = runner
    }

    /// Stores a job, due now, with a new ULID as its id. Ids from one queue increase strictly, so
    /// jobs queued one after the other (even within a millisecond) keep their order.
    /// - Parameters:
    ///   - job: what to do.
    ///   - clock: gives the creation time (and the ULID's time part).
    ///   - random: gives the ULID's random part.
    /// - Returns: the stored job.
    @discardableResult
    public func enqueue(_ job: HomeserverJob, clock: some WallClock, random: some RandomSource) async throws -> Job {
        let now = clock.now()
        let stored = Job(id: ids.next(at: now, random: random), kind: job.kind, payload: try job.payloadJSON(), runAt: now, createdAt: now)
        try await repository.enqueue(stored)
        runner?.notify()
        return stored
    }
}
