import GatehouseStorage
import Logging
import ServiceLifecycle

/// Writes what ``SessionActivityRecorder`` collected, every `interval` and once more at shutdown,
/// as one transaction per flush.
///
/// A failed write puts the batch back into the recorder for the next flush, so a store that is
/// briefly locked loses nothing; the timestamps only inform the account page and the admin views.
public final class SessionActivityFlusher: Service, Sendable {
    /// How often activity reaches the store (MAS's activity tracker also flushes once a minute).
    public static let defaultInterval: Duration = .seconds(60)

    private let recorder: SessionActivityRecorder
    private let repository: any SessionActivityRepository
    private let interval: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - recorder: the in-memory activity.
    ///   - repository: where it is written.
    ///   - interval: the time between flushes.
    ///   - logger: failed writes.
    public init(
        recorder: SessionActivityRecorder, repository: any SessionActivityRepository, interval: Duration = defaultInterval,
        logger: Logger = Logger(label: "gatehouse.activity")
    ) {
        self.recorder = recorder
        self.repository = repository
        self.interval = interval
        self.logger = logger
    }

    /// Writes everything recorded so far in one transaction.
    /// - Returns: the number of sessions written.
    @discardableResult
    public func flush() async -> Int {
        let batch = recorder.drain()
        guard !batch.isEmpty else { return 0 }
        do {
            try await repository.record(batch)
            return batch.count
        } catch {
            recorder.restore(batch)
            logger.warning("activity: writing session activity failed; kept for the next flush", metadata: [
                "sessions": "\(batch.count)", "error": "\(error)",
            ])
            return 0
        }
    }

    /// A flush every `interval` until graceful shutdown or cancellation, then a last one.
    public func run() async throws {
        while true {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            } catch {
                break
            }
            await flush()
        }
        await flush()
    }
}
