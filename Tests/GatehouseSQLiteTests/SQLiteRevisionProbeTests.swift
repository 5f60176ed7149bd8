import GRDB
import GatehouseStorage
import GatehouseTestSupport
import Testing

@testable import GatehouseSQLite

/// The per-thread revision probe reads `store_revision` from the file only after a commit, and never
/// misses one: each change below is asserted on the very next call, without polling.
struct SQLiteRevisionProbeTests {
    @Test func readsTheDatabaseOnlyAfterSomethingWasCommitted() async throws {
        try await withStore { server, directory in
            let probe = try #require(try server.makeRevisionProbe() as? SQLiteRevisionProbe)
            let first = try #require(probe.currentRevision())
            #expect(probe.currentRevision() == first)
            let settled = probe.databaseReads
            for _ in 0..<100 { #expect(probe.currentRevision() == first) }
            #expect(probe.databaseReads == settled, "no commit, yet the probe read the database again")

            // Another instance (the CLI) commits a change: seen by the next call.
            let cli = try SQLiteStore.open(path: directory.file())
            defer { try? cli.close() }
            let alice = try await cli.users.create(Fixture.user("alice"))
            let created = try await cli.changeCounter()
            #expect(created > first)
            #expect(probe.currentRevision() == created)
            #expect(probe.databaseReads == settled + 1)
            #expect(probe.currentRevision() == created)
            #expect(probe.databaseReads == settled + 1)

            // A commit that leaves the counter alone (as activity timestamps do) is read once, and reads
            // the same counter. (Writing the counter's own value again would commit no page at all.)
            let raw = try rawQueue(directory.file())
            try await raw.write { db in
                try db.execute(sql: "CREATE TABLE elsewhere (x INTEGER)")
                try db.execute(sql: "INSERT INTO elsewhere (x) VALUES (1)")
            }
            #expect(probe.currentRevision() == created)
            #expect(probe.databaseReads == settled + 2)

            try await cli.users.setLocked(userId: alice.id, at: Fixture.at(1))
            #expect(probe.currentRevision() == (try await cli.changeCounter()))
            #expect(probe.currentRevision()! > created)
        }
    }

    /// A checkpoint that empties the WAL starts the next writer on a new WAL (new salts, frame count
    /// back to zero): a header that could come back to an earlier value would hide that commit.
    @Test(arguments: ["PASSIVE", "FULL", "RESTART", "TRUNCATE"])
    func commitsAfterACheckpointAreSeen(_ mode: String) async throws {
        try await withStore { server, directory in
            let probe = try #require(try server.makeRevisionProbe() as? SQLiteRevisionProbe)
            let cli = try SQLiteStore.open(path: directory.file())
            defer { try? cli.close() }
            let raw = try rawQueue(directory.file())
            for round in 0..<5 {
                let alice = try await cli.users.create(Fixture.user("alice\(round)"))
                #expect(probe.currentRevision() == (try await cli.changeCounter()))
                try await raw.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(\(mode))") }
                let before = try #require(probe.currentRevision())
                try await cli.users.setLocked(userId: alice.id, at: Fixture.at(1))
                let locked = try await cli.changeCounter()
                #expect(locked > before)
                #expect(probe.currentRevision() == locked, "round \(round): the commit after the checkpoint was missed")
            }
        }
    }

    /// Without a WAL there is no shared header to compare: every call reads the file.
    @Test func aDatabaseNotInWALModeIsReadEveryTime() async throws {
        try await withTemporaryDirectory { directory in
            let raw = try rawQueue(directory.file())
            try await raw.write { db in
                #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "delete")
                try db.execute(sql: "CREATE TABLE store_revision (id INTEGER PRIMARY KEY, value INTEGER NOT NULL)")
                try db.execute(sql: "INSERT INTO store_revision (id, value) VALUES (1, 7)")
            }
            let probe = try SQLiteRevisionProbe(path: directory.file())
            for _ in 0..<3 { #expect(probe.currentRevision() == 7) }
            #expect(probe.databaseReads == 3)
            try await raw.write { db in try db.execute(sql: "UPDATE store_revision SET value = 8 WHERE id = 1") }
            #expect(probe.currentRevision() == 8)
        }
    }
}
