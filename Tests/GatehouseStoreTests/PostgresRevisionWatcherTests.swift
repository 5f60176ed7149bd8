import Testing

@testable import GatehousePostgres

/// The revision a PostgreSQL instance's caches are checked against only moves back when the
/// database's counter itself did, never because a read raced a commit: each move drops every cache,
/// answers just read from the store included.
struct PostgresRevisionWatcherTests {
    @Test func aReadThatRacedAnOwnCommitDoesNotMoveTheRevisionBack() {
        let watcher = PostgresRevisionWatcher()
        watcher.started(at: 4)
        // The periodic read begins at 4; meanwhile this instance commits a revocation (5); the read's
        // snapshot predates that commit and answers 4.
        let before = watcher.current ?? -1
        watcher.committed(5)
        watcher.reread(4, knownBeforeTheRead: before)
        #expect(watcher.current == 5)
    }

    @Test func aReadThatRacedANotificationDoesNotMoveTheRevisionBack() {
        let watcher = PostgresRevisionWatcher()
        watcher.started(at: 4)
        let before = watcher.current ?? -1
        watcher.committed(7)  // another instance's commit, as a notification raises it
        watcher.reread(6, knownBeforeTheRead: before)
        #expect(watcher.current == 7)
        watcher.reread(9, knownBeforeTheRead: 7)
        #expect(watcher.current == 9, "a later value read moves it forward")
    }

    @Test func aCounterThatWentBackIsFollowed() {
        let watcher = PostgresRevisionWatcher()
        watcher.started(at: 10)
        // A database restored from a backup: lower than anything known before the read began.
        watcher.reread(3, knownBeforeTheRead: 10)
        #expect(watcher.current == 3)
        // Unless the revision moved while that read was under way: the next read settles it.
        watcher.committed(12)
        watcher.reread(3, knownBeforeTheRead: 10)
        #expect(watcher.current == 12)
    }

    @Test func anUnknownRevisionStaysUnknownUntilTheListenerReadsIt() {
        let watcher = PostgresRevisionWatcher()
        watcher.committed(5)
        #expect(watcher.current == nil, "without a listener, caches must keep asking the store")
        watcher.started(at: 5)
        #expect(watcher.current == 5)
    }
}
