#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import CoreMetrics
import GatehouseCore
import GatehouseStorage
import Logging
import ServiceLifecycle

/// Runs queued ``HomeserverJob``s against Synapse until graceful shutdown.
///
/// Each round claims due jobs one by one (with a lease, so a job whose runner crashed becomes due
/// again), performs each through the ``SynapseClient``, and marks it complete or failed. A failed
/// job is always kept and scheduled again: soon (``JobBackoff/transient``) when the error may go away
/// by itself, later (``JobBackoff/permanent``) when it needs an admin, who finds the reason in the
/// log and in the job's `lastError`. No job is ever dropped.
///
/// Jobs of one localpart run in the order they were queued: a job whose user has an older unfinished
/// job is put back until that one is done, so a lock retried after an outage cannot undo a later unlock.
///
/// Between rounds the runner sleeps for the poll interval, or until ``notify()`` (called by
/// ``JobQueue`` after an enqueue) wakes it. Several processes may run jobs from the same store; the
/// lease keeps them from running one job twice at once.
public final class JobRunner: Service, Sendable {
    /// Timing of the runner.
    public struct Configuration: Sendable {
        /// How often the queue is looked at when nothing wakes the runner (jobs queued by another
        /// process, retries coming due).
        public var pollInterval: Duration
        /// How long a claimed job is reserved; must exceed the Synapse request deadline.
        public var lease: Duration
        /// Retry schedule after errors that may go away by themselves (unreachable, 5xx, 429).
        public var transientBackoff: JobBackoff
        /// Retry schedule after errors that need someone to act (401/403, 404, 4xx, unreadable job).
        public var permanentBackoff: JobBackoff
        /// Wait before trying a job again that was held back behind an older job of the same user.
        public var orderingDelay: Duration
        /// Wait between the first deletion of an orphan device and the confirming second one: long
        /// enough for a Synapse that has just woken up to have carried out any `upsert_device` it
        /// received before it froze.
        public var orphanConfirmationDelay: Duration

        /// - Parameters:
        ///   - pollInterval: the sleep between rounds.
        ///   - lease: how long a claimed job is reserved.
        ///   - transientBackoff: retry schedule for retryable errors.
        ///   - permanentBackoff: retry schedule for other errors.
        ///   - orderingDelay: how long a held-back job waits at least (more than zero).
        ///   - orphanConfirmationDelay: the wait before an orphan device is deleted a second time.
        public init(
            pollInterval: Duration = .milliseconds(500), lease: Duration = .seconds(120), transientBackoff: JobBackoff = .transient,
            permanentBackoff: JobBackoff = .permanent, orderingDelay: Duration = .seconds(1), orphanConfirmationDelay: Duration = .seconds(10)
        ) {
            precondition(orderingDelay > .zero, "orderingDelay must be more than zero")
            self.pollInterval = pollInterval
            self.lease = lease
            self.transientBackoff = transientBackoff
            self.permanentBackoff = permanentBackoff
            self.orderingDelay = orderingDelay
            self.orphanConfirmationDelay = orphanConfirmationDelay
        }
    }

    private let repository: any JobRepository
    private let client: SynapseClient
    private let clock: any WallClock
    private let configuration: Configuration
    private let devices: DeviceGuard?
    private let random: any RandomSource
    private let ids = MonotonicULID()
    private let logger: Logger
    private let wakeup = Wakeup()
    /// `gatehouse_jobs_pending`: jobs in the queue (due or not) at the start of the last round.
    private let pendingGauge: Gauge?
    private let metrics: (any MetricsFactory)?

    /// - Parameters:
    ///   - repository: the job store.
    ///   - client: performs the jobs.
    ///   - clock: the wall clock for due times, leases and retry times.
    ///   - configuration: timing.
    ///   - devices: tells whether a device is in use and keeps orphan clean-up from racing logins;
    ///     without it, `remove_orphan_device` jobs are kept and never performed.
    ///   - random: ids of the follow-up jobs the runner queues itself.
    ///   - logger: one line per failure (warning when retryable, error otherwise), debug per success.
    ///   - metrics: where the queue depth and failure counters are made; `nil` records nothing.
    public init(
        repository: any JobRepository, client: SynapseClient, clock: any WallClock, configuration: Configuration = Configuration(),
        devices: DeviceGuard? = nil, random: any RandomSource = SystemRandom(), logger: Logger = Logger(label: "gatehouse.jobs"),
        metrics: (any MetricsFactory)? = nil
    ) {
        self.metrics = metrics
        self.pendingGauge = metrics.map { Gauge(label: "gatehouse_jobs_pending", factory: $0) }
        self.repository = repository
        self.client = client
        self.clock = clock
        self.configuration = configuration
        self.devices = devices
        self.random = random
        self.logger = logger
    }

    /// Wakes the runner now instead of at the next poll (call after queueing a job in-process).
    public func notify() {
        wakeup.signal()
    }

    /// Runs rounds until graceful shutdown or cancellation. On graceful shutdown the job in flight
    /// finishes first.
    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                _ = await drain(now: clock.now())
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                await wakeup.wait(timeout: configuration.pollInterval)
            }
        } onGracefulShutdown: {
            self.wakeup.signal()
        }
    }

    /// Runs every job due at `now` once, then returns (the CLI calls this right after queueing).
    /// - Parameter now: the time that decides which jobs are due.
    /// - Returns: jobs completed, and jobs attempted (or held back behind an older job of the same
    ///   user) that are still pending.
    public func runPending(now: Date) async -> (succeeded: Int, failed: Int) {
        await drain(now: now)
    }

    // MARK: Rounds

    private enum Outcome {
        case succeeded
        case failed
    }

    /// An unfinished job as the ordering check needs it.
    private struct Unfinished {
        var id: String
        var kind: String
        var localpart: String?
        var createdAt: Date
        var runAt: Date

        init(_ job: Job) {
            id = job.id
            kind = job.kind
            localpart = try? HomeserverJob(kind: job.kind, payload: job.payload).localpart
            createdAt = job.createdAt
            runAt = job.runAt
        }

        /// Queue order: creation time, then id (ULIDs of one millisecond).
        func isEarlier(than job: Job) -> Bool {
            id != job.id && (createdAt, id) < (job.createdAt, job.id)
        }
    }

    private func drain(now: Date) async -> (succeeded: Int, failed: Int) {
        var succeeded = 0
        var failed = 0
        // Unfinished jobs at the start of the round, kept up to date as this round completes or
        // reschedules them; only consulted for per-user ordering.
        var unfinished: [Unfinished]
        do {
            unfinished = try await repository.pending().map(Unfinished.init)
            pendingGauge?.record(unfinished.count)
        } catch {
            logger.error("cannot read the job queue; jobs wait for the next round", metadata: ["error": "\(error)"])
            return (0, 0)
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let job: Job
            do {
                let leaseUntil = now.addingTimeInterval(Self.seconds(configuration.lease))
                guard let next = try await repository.claimNext(now: now, leaseUntil: leaseUntil) else { break }
                job = next
            } catch {
                logger.error("cannot claim the next job; jobs wait for the next round", metadata: ["error": "\(error)"])
                break
            }
            switch await process(job, now: now, unfinished: &unfinished) {
            case .succeeded: succeeded += 1
            case .failed: failed += 1
            }
        }
        return (succeeded, failed)
    }

    private func process(_ job: Job, now: Date, unfinished: inout [Unfinished]) async -> Outcome {
        let task: HomeserverJob
        do {
            task = try HomeserverJob(kind: job.kind, payload: job.payload)
        } catch {
            let backoff = configuration.permanentBackoff.delay(afterFailures: Self.attempt(of: job))
            let retryAt = laterOf(now).addingTimeInterval(Self.seconds(backoff))
            logger.error(
                "cannot read a queued homeserver job; it is kept and retried later",
                metadata: metadata(job, retryAt: retryAt, error: "\(error)"))
            await reschedule(job, error: error.description, retryAt: retryAt, unfinished: &unfinished)
            countFailure(kind: job.kind, reason: "unreadable")
            return .failed
        }

        if let earlier = unfinished.first(where: { $0.localpart == task.localpart && $0.isEarlier(than: job) }) {
            let retryAt = max(earlier.runAt, laterOf(now)).addingTimeInterval(Self.seconds(configuration.orderingDelay))
            logger.debug(
                "holding a job back behind an older job of the same user",
                metadata: metadata(job, retryAt: retryAt, error: "waiting for job \(earlier.id)"))
            await reschedule(job, error: "waiting for the earlier job \(earlier.id) (\(earlier.kind)) of the same user", retryAt: retryAt,
                unfinished: &unfinished)
            return .failed
        }

        let followUp: HomeserverJob?
        do {
            followUp = try await perform(task)
        } catch {
            let attempt = Self.attempt(of: job)
            let backoff = error.isRetryable ? configuration.transientBackoff : configuration.permanentBackoff
            let retryAt = laterOf(now).addingTimeInterval(Self.seconds(backoff.delay(afterFailures: attempt)))
            var details = metadata(job, retryAt: retryAt, error: error.description)
            details["localpart"] = "\(task.localpart)"
            details["reason"] = "\(error.shortDescription)"
            if error.isRetryable {
                logger.warning("homeserver job failed; retrying", metadata: details)
            } else {
                logger.error("homeserver job refused by Synapse; it is kept and retried later, but likely needs an admin", metadata: details)
            }
            await reschedule(job, error: error.description, retryAt: retryAt, unfinished: &unfinished)
            countFailure(kind: job.kind, reason: error.shortDescription)
            return .failed
        }

        if let followUp {
            // Queued before this job completes: a crash in between repeats a deletion, never loses one.
            do {
                let runAt = laterOf(now).addingTimeInterval(Self.seconds(configuration.orphanConfirmationDelay))
                let created = clock.now()
                try await repository.enqueue(Job(
                    id: ids.next(at: created, random: random), kind: followUp.kind, payload: try followUp.payloadJSON(), runAt: runAt,
                    createdAt: created))
            } catch {
                logger.error("cannot queue a follow-up job; the job runs again", metadata: ["job": "\(job.id)", "error": "\(error)"])
                await reschedule(
                    job, error: "cannot queue its follow-up: \(error)", retryAt: laterOf(now).addingTimeInterval(1), unfinished: &unfinished)
                return .failed
            }
        }
        do {
            try await repository.complete(jobId: job.id, at: clock.now())
        } catch {
            // The work is done; the lease runs out and the (idempotent) job runs once more.
            logger.error("cannot mark a finished job complete; it will run again", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
        unfinished.removeAll { $0.id == job.id }
        logger.debug("homeserver job done", metadata: ["job": "\(job.id)", "kind": "\(job.kind)", "localpart": "\(task.localpart)"])
        return .succeeded
    }

    /// Why an attempt failed, whoever failed: Synapse, or the store asked whether a device is in use.
    private struct AttemptError: Error, CustomStringConvertible {
        var isRetryable: Bool
        var shortDescription: String
        var description: String

        init(_ error: SynapseError) {
            isRetryable = error.isRetryable
            shortDescription = error.shortDescription
            description = error.description
        }

        init(store error: any Error) {
            isRetryable = true
            shortDescription = "store"
            description = "the store could not say whether the device is in use: \(error)"
        }

        static let noDeviceGuard = AttemptError(
            isRetryable: false, shortDescription: "no_device_guard",
            description: "this process cannot check whether the device is in use; the running server performs the job")

        private init(isRetryable: Bool, shortDescription: String, description: String) {
            self.isRetryable = isRetryable
            self.shortDescription = shortDescription
            self.description = description
        }
    }

    /// Performs `task`; returns the job to queue after it, if any.
    private func perform(_ task: HomeserverJob) async throws(AttemptError) -> HomeserverJob? {
        guard case .removeOrphanDevice(let orphan) = task else {
            do throws(SynapseError) {
                try await task.perform(on: client)
            } catch {
                throw AttemptError(error)
            }
            return nil
        }
        guard let devices else { throw .noDeviceGuard }
        return try await devices.withLock(localpart: orphan.localpart, deviceId: orphan.deviceId) { () async throws(AttemptError) -> HomeserverJob? in
            let inUse: Bool
            do {
                inUse = try await devices.isInUse(localpart: orphan.localpart, deviceId: orphan.deviceId)
            } catch {
                throw AttemptError(store: error)
            }
            if inUse {
                // A login (or the session the failed login wanted to replace) uses the device: keep it.
                logger.debug("orphan device is in use; kept", metadata: ["localpart": "\(orphan.localpart)", "device": "\(orphan.deviceId)"])
                return nil
            }
            do throws(SynapseError) {
                try await client.deleteDevice(localpart: orphan.localpart, deviceId: orphan.deviceId)
            } catch {
                throw AttemptError(error)
            }
            if orphan.confirmation { return nil }
            var confirmation = orphan
            confirmation.confirmation = true
            return .removeOrphanDevice(confirmation)
        }
    }

    /// `gatehouse_jobs_failed_total{kind, reason}`: one failed attempt (the job stays queued).
    private func countFailure(kind: String, reason: String) {
        guard let metrics else { return }
        Counter(label: "gatehouse_jobs_failed_total", dimensions: [("kind", kind), ("reason", reason)], factory: metrics).increment()
    }

    private func reschedule(_ job: Job, error: String, retryAt: Date, unfinished: inout [Unfinished]) async {
        do {
            try await repository.fail(jobId: job.id, error: error, retryAt: retryAt)
        } catch {
            logger.error(
                "cannot record a job failure; the job becomes due again when its lease ends",
                metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
        if let index = unfinished.firstIndex(where: { $0.id == job.id }) {
            unfinished[index].runAt = retryAt
        } else {
            var updated = Unfinished(job)
            updated.runAt = retryAt
            unfinished.append(updated)
        }
    }

    /// Retry times count from the later of the round's `now` and the clock, so a retry is never due
    /// again within the same round.
    private func laterOf(_ now: Date) -> Date {
        max(now, clock.now())
    }

    private func metadata(_ job: Job, retryAt: Date, error: String) -> Logger.Metadata {
        [
            "job": "\(job.id)", "kind": "\(job.kind)", "attempt": "\(Self.attempt(of: job))",
            "retry_in_s": "\(Int(retryAt.timeIntervalSince(clock.now()).rounded()))", "error": "\(error)",
        ]
    }

    /// Which attempt this is: the store counts an attempt when a job is claimed, so a claimed job's
    /// `attempts` already includes the current one.
    private static func attempt(of job: Job) -> Int {
        max(job.attempts, 1)
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
