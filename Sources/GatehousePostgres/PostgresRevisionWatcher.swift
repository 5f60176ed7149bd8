import Logging
import PostgresNIO
import Synchronization
import GatehouseStorage

/// Keeps the store revision of a PostgreSQL store in memory, so that ``PostgresRevisionProbe`` can
/// answer on an event loop without any I/O.
///
/// One connection LISTENs on the channel every mutating transaction notifies (``StoreRevision``): a
/// change committed by any instance arrives within a network round trip. The counter is also re-read
/// every ``refreshInterval``, the safety net for a notification lost with a broken connection.
/// While no connection is up the revision is unknown, and every cache falls back to the store.
final class PostgresRevisionWatcher: Sendable {
    /// How often the counter is re-read besides the notifications.
    static let refreshInterval: Duration = .seconds(1)
    /// The first pause before reconnecting after the listening connection failed; it doubles up to
    /// ``maximumRetryDelay`` while the database stays unreachable.
    static let retryDelay: Duration = .milliseconds(250)
    static let maximumRetryDelay: Duration = .seconds(4)

    /// The last revision seen, or -1 while unknown.
    private let revision = Atomic<Int>(-1)

    /// The last revision seen; `nil` while the watcher has no connection.
    var current: Int? {
        let value = revision.load(ordering: .acquiring)
        return value < 0 ? nil : value
    }

    /// Listens until cancelled, reconnecting after failures.
    /// - Parameters:
    ///   - client: the store's pool (the listener holds one of its connections).
    ///   - logger: for connection failures.
    func run(client: PostgresClient, logger: Logger) async {
        var delay = Self.retryDelay
        var failing = false
        while !Task.isCancelled {
            let connected = Connected()
            let wasFailing = failing
            do {
                try await client.withConnection { connection in
                    try await self.listen(on: connection, logger: logger) {
                        connected.value.store(true, ordering: .relaxed)
                        if wasFailing { logger.notice("the store revision listener is back") }
                    }
                }
            } catch {
                // One line per outage, not one per attempt.
                if !Task.isCancelled && (!failing || connected.value.load(ordering: .relaxed)) {
                    logger.warning("the store revision listener failed; caches are bypassed until it is back", metadata: [
                        "error": "\(PostgresStore.describe(error))"
                    ])
                }
            }
            revision.store(-1, ordering: .releasing)
            failing = true
            delay = connected.value.load(ordering: .relaxed) ? Self.retryDelay : min(delay * 2, Self.maximumRetryDelay)
            try? await Task.sleep(for: delay)
        }
    }

    /// Whether one attempt got as far as listening.
    private final class Connected: Sendable {
        let value = Atomic<Bool>(false)
    }

    private func listen(on connection: PostgresConnection, logger: Logger, connected: @Sendable () -> Void) async throws {
        try await connection.listen(on: StoreRevision.channel) { notifications in
            // LISTEN is active before the first read, so no commit falls between the two.
            let reader = PostgresTransaction(connection: connection, logger: logger)
            started(at: try await StoreRevision.read(reader))
            connected()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await notification in notifications {
                        if let value = Int(notification.payload) { self.raise(to: value) }
                    }
                    throw StorageError.unavailable("the notification stream ended")
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: Self.refreshInterval)
                        let before = self.revision.load(ordering: .acquiring)
                        self.reread(try await StoreRevision.read(reader), knownBeforeTheRead: before)
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    /// The revision read once the listener is up: from then on the revision is known.
    func started(at value: Int) {
        revision.store(value, ordering: .releasing)
    }

    /// The periodic re-read's answer `value`; `before` is the revision known when the read began.
    ///
    /// Only forward, as a notification: a read can return a value older than one this instance's own
    /// commit (``committed(_:)``) or a notification set while the read was under way. Storing it moved
    /// the revision back and forward again, and a cache drops everything at each change: the answers
    /// just read from the store (against the newer counter) were thrown away, twice, until the
    /// notification arrived. A value lower than what was known before the read even
    /// began cannot be such a race (everything known was committed, so the read saw it): the counter
    /// itself went back (a database restored from a backup), and the revision follows it unless it
    /// moved meanwhile (the next re-read settles that).
    func reread(_ value: Int, knownBeforeTheRead before: Int) {
        if value >= before {
            raise(to: value)
        } else {
            _ = revision.compareExchange(expected: before, desired: value, ordering: .acquiringAndReleasing)
        }
    }

    /// Moves a known revision forward to `value`, the revision this instance's own transaction
    /// committed (its notification arrives a round trip later). An unknown revision stays unknown:
    /// without a listener, caches must keep asking the store.
    func committed(_ value: Int) {
        var current = revision.load(ordering: .relaxed)
        while current >= 0 && current < value {
            let (exchanged, original) = revision.compareExchange(expected: current, desired: value, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }

    /// Moves the revision forward to `value` (notifications may arrive after a periodic read that
    /// already saw a later commit).
    private func raise(to value: Int) {
        var current = revision.load(ordering: .relaxed)
        while current < value {
            let (exchanged, original) = revision.compareExchange(expected: current, desired: value, ordering: .acquiringAndReleasing)
            if exchanged { return }
            current = original
        }
    }
}

/// A ``RevisionProbe`` that reads the watcher's atomic: no I/O, a few nanoseconds, safe on any thread.
public final class PostgresRevisionProbe: RevisionProbe {
    private let watcher: PostgresRevisionWatcher

    init(watcher: PostgresRevisionWatcher) {
        self.watcher = watcher
    }

    public func currentRevision() -> Int? {
        watcher.current
    }
}
