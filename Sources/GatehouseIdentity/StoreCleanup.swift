import GatehouseCore
import GatehouseStorage
import Logging
import ServiceLifecycle

/// Deletes what the store no longer needs (``RetentionPolicy``) every `interval` while `serve` runs,
/// and once on demand (`gatehouse database cleanup`).
///
/// A failed pass is logged and tried again at the next interval: nothing depends on a pass having
/// run, the store only stays larger meanwhile. Several processes on one store may each run it; the
/// deletes are idempotent.
public final class StoreCleanup: Service, Sendable {
    /// How often `serve` cleans up (MAS runs its cleanup jobs hourly).
    public static let defaultInterval: Duration = .seconds(3600)
    /// Rows per transaction: small enough that a request waiting for the write lock never waits long.
    public static let defaultBatchSize = 500

    private let repository: any RetentionRepository
    private let clock: any WallClock
    private let policy: RetentionPolicy
    private let interval: Duration
    private let batchSize: Int
    private let logger: Logger

    /// - Parameters:
    ///   - repository: the store's retention repository.
    ///   - clock: the time that decides what is old.
    ///   - policy: how long rows are kept.
    ///   - interval: the time between passes of ``run()``.
    ///   - batchSize: rows per transaction.
    ///   - logger: one line per pass that deleted something, a warning per failed pass.
    public init(
        repository: any RetentionRepository, clock: any WallClock, policy: RetentionPolicy = .standard,
        interval: Duration = defaultInterval, batchSize: Int = defaultBatchSize, logger: Logger = Logger(label: "gatehouse.cleanup")
    ) {
        self.repository = repository
        self.clock = clock
        self.policy = policy
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    /// One pass now.
    public func runOnce() async throws -> CleanupReport {
        try await repository.deleteExpired(policy: policy, now: clock.now(), batchSize: batchSize)
    }

    /// A pass every `interval` (the first one after the first interval, so a restart loop does not
    /// clean up at every start) until graceful shutdown or cancellation. Shutdown ends the wait at
    /// once; a pass in progress finishes its current batch's transaction either way.
    public func run() async throws {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                return
            }
            do {
                let report = try await runOnce()
                if report.total > 0 {
                    logger.info("cleanup: deleted rows past their retention", metadata: ["deleted": "\(report.summary)"])
                }
            } catch {
                logger.warning("cleanup: the pass failed; trying again at the next interval", metadata: ["error": "\(error)"])
            }
        }
    }
}
