#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseStorage
import GatehouseTestSupport
import Testing

@testable import GatehouseSQLite

struct SQLiteStoreTests {
    @Test func freshFileIsMigratedWithTheConnectionSettings() async throws {
        try await withStore { store, _ in
            #expect(SQLiteStore.knownMigrations == ["0001_initial", "0002_compat_login_tokens", "0003_compat_refresh_successor", "0004_oauth2_clients", "0005_oauth2_sessions", "0006_retention_indexes", "0007_user_emails", "0008_session_activity", "0009_client_signing_algorithms"])
            #expect(try store.pendingMigrations() == [])
            #expect(try store.migrate() == [])
            #expect(try await store.changeCounter() == 0)

            let settings = try await store.pool.writeWithoutTransaction { db in
                [
                    try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                    try String.fetchOne(db, sql: "PRAGMA foreign_keys"),
                    try String.fetchOne(db, sql: "PRAGMA synchronous"),
                    try String.fetchOne(db, sql: "PRAGMA busy_timeout"),
                ]
            }
            #expect(settings == ["wal", "1", "1", "5000"])  // synchronous 1 = NORMAL

            let tables = try await store.pool.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            }
            #expect(
                tables == [
                    "browser_sessions", "compat_access_tokens", "compat_login_tokens", "compat_refresh_tokens", "compat_sessions",
                    "compat_sso_logins", "grdb_migrations", "jobs", "oauth2_access_tokens", "oauth2_authorization_grants", "oauth2_clients",
                    "oauth2_device_code_grants", "oauth2_refresh_tokens", "oauth2_sessions", "store_revision", "user_emails", "user_passwords", "users",
                ])
        }
    }

    @Test func reopeningKeepsDataAndMigratingAgainIsANoOp() async throws {
        try await withTemporaryDirectory { directory in
            let first = try SQLiteStore.open(path: directory.file())
            _ = try await first.users.create(Fixture.user("alice"))
            try first.close()

            let second = try SQLiteStore.open(path: directory.file())
            #expect(try await second.users.find(username: "alice")?.id == "user-alice")
            #expect(try second.migrate() == [])
            #expect(try second.migrate() == [])
            try second.close()

            let third = try SQLiteStore.open(path: directory.file(), migrate: false)
            #expect(try await third.users.list().map(\.username) == ["alice"])
            try third.close()
        }
    }

    @Test func pendingMigrationsWithoutMigrateTellTheAdminWhatToRun() async throws {
        try await withTemporaryDirectory { directory in
            await expectStorageError(.unavailable(""), containing: "gatehouse database migrate") {
                _ = try SQLiteStore.open(path: directory.file(), migrate: false)
            }
            #expect(!FileManager.default.fileExists(atPath: directory.file()))

            // A file of an older build: migration history present, this build's migrations missing.
            try await rawQueue(directory.file()).write { db in
                try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            }
            await expectStorageError(.unavailable(""), containing: "needs migrations 0001_initial, 0002_compat_login_tokens, 0003_compat_refresh_successor, 0004_oauth2_clients, 0005_oauth2_sessions, 0006_retention_indexes, 0007_user_emails, 0008_session_activity, 0009_client_signing_algorithms; run `gatehouse database migrate`") {
                _ = try SQLiteStore.open(path: directory.file(), migrate: false)
            }

            let maintenance = try SQLiteStore.openForMaintenance(path: directory.file())
            #expect(try maintenance.pendingMigrations() == ["0001_initial", "0002_compat_login_tokens", "0003_compat_refresh_successor", "0004_oauth2_clients", "0005_oauth2_sessions", "0006_retention_indexes", "0007_user_emails", "0008_session_activity", "0009_client_signing_algorithms"])
            #expect(try maintenance.migrate() == ["0001_initial", "0002_compat_login_tokens", "0003_compat_refresh_successor", "0004_oauth2_clients", "0005_oauth2_sessions", "0006_retention_indexes", "0007_user_emails", "0008_session_activity", "0009_client_signing_algorithms"])
            #expect(try maintenance.pendingMigrations() == [])
            try maintenance.close()

            let store = try SQLiteStore.open(path: directory.file(), migrate: false)
            #expect(try await store.changeCounter() == 0)
            try store.close()
        }
    }

    @Test func unknownMigrationMeansSchemaTooNewAndTheFileIsLeftAlone() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteStore.open(path: directory.file())
            _ = try await store.users.create(Fixture.user("alice"))
            try store.close()
            let raw = try rawQueue(directory.file())
            try await raw.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('0002_from_the_future')") }
            let snapshot = { @Sendable (db: Database) throws -> [String] in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                    + String.fetchAll(db, sql: "SELECT username FROM users")
                    + [String(try Int.fetchOne(db, sql: "SELECT value FROM store_revision") ?? -1)]
            }
            let before = try await raw.read(snapshot)
            try raw.close()

            await expectStorageError(.schemaTooNew(""), containing: "unknown migrations: 0002_from_the_future") {
                _ = try SQLiteStore.open(path: directory.file())
            }
            await expectStorageError(.schemaTooNew(""), containing: "newer Gatehouse") {
                _ = try SQLiteStore.open(path: directory.file(), migrate: false)
            }
            await expectStorageError(.schemaTooNew(""), containing: "0002_from_the_future") {
                _ = try SQLiteStore.openForMaintenance(path: directory.file())
            }
            #expect(try await rawQueue(directory.file()).read(snapshot) == before)
        }
    }

    @Test func writeLockHeldByAnotherProcessIsReportedAfterTheBusyTimeout() async throws {
        try await withTemporaryDirectory { directory in
            try SQLiteStore.open(path: directory.file()).close()

            let other = try rawQueue(directory.file())
            try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
            let started = ContinuousClock.now
            await expectStorageError(.unavailable(""), containing: "locked by another process") {
                _ = try SQLiteStore.open(path: directory.file(), busyTimeout: .milliseconds(200))
            }
            let waited = ContinuousClock.now - started
            // At least the busy timeout (a slow machine only waits longer); the upper bound only says it
            // did not wait for the lock forever.
            #expect(waited >= .milliseconds(150) && waited < .seconds(60), "waited \(waited)")

            try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            let store = try SQLiteStore.open(path: directory.file(), busyTimeout: .milliseconds(200))
            defer { try? store.close() }

            // A running store meets the lock on its next write, and reads keep working (WAL).
            try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN EXCLUSIVE") }
            await expectStorageError(.unavailable(""), containing: "locked by another process") {
                _ = try await store.users.create(Fixture.user("alice"))
            }
            #expect(try await store.users.list().isEmpty)
            try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
            _ = try await store.users.create(Fixture.user("alice"))
        }
    }

    @Test func lockHeldOnANewRollbackJournalFileIsReportedToo() async throws {
        try await withTemporaryDirectory { directory in
            let other = try rawQueue(directory.file())
            try await other.writeWithoutTransaction { db in
                try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
                try db.execute(sql: "BEGIN EXCLUSIVE")
            }
            await expectStorageError(.unavailable(""), containing: "locked by another process") {
                _ = try SQLiteStore.open(path: directory.file(), busyTimeout: .milliseconds(100))
            }
            try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        }
    }

    @Test func garbageFileIsNotADatabaseAndStaysUntouched() async throws {
        try await withTemporaryDirectory { directory in
            let garbage = Data(String(repeating: "this is not an SQLite database\n", count: 200).utf8)
            #expect(FileManager.default.createFile(atPath: directory.file(), contents: garbage))
            await expectStorageError(.unavailable(""), containing: "file is not a database") {
                _ = try SQLiteStore.open(path: directory.file())
            }
            #expect(FileManager.default.contents(atPath: directory.file()) == garbage)
        }
    }

    @Test func foreignSQLiteDatabaseIsRefused() async throws {
        try await withTemporaryDirectory { directory in
            try await rawQueue(directory.file()).write { db in try db.execute(sql: "CREATE TABLE rooms (room_id TEXT PRIMARY KEY)") }
            await expectStorageError(.unavailable(""), containing: "not a Gatehouse database (it has tables rooms") {
                _ = try SQLiteStore.open(path: directory.file())
            }
            #expect(try await rawQueue(directory.file()).read { try $0.tableExists("grdb_migrations") } == false)
        }
    }

    @Test func missingDirectoryAndDirectoryPathAreClearErrors() async throws {
        try await withTemporaryDirectory { directory in
            await expectStorageError(.unavailable(""), containing: "directory \(directory.path)/missing does not exist") {
                _ = try SQLiteStore.open(path: directory.path + "/missing/gatehouse.db")
            }
            await expectStorageError(.unavailable(""), containing: "not a regular file") {
                _ = try SQLiteStore.open(path: directory.path)
            }
        }
    }

    @Test func failedTransactionLeavesNothingBehind() async throws {
        struct Boom: Error {}
        try await withStore { store, _ in
            await #expect(throws: Boom.self) {
                try await store.pool.mutate { db in
                    try db.execute(
                        sql: "INSERT INTO users (id, username, created_at, is_admin) VALUES ('user-ghost', 'ghost', 0, 0)")
                    throw Boom()
                }
            }
            #expect(try await store.users.find(username: "ghost") == nil)
            #expect(try await store.changeCounter() == 0)

            // Through the public API: the session row is inserted before the duplicate token hash fails.
            let alice = try await store.users.create(Fixture.user("alice"))
            let first = Fixture.session("session-1", user: alice, device: "DEVICE1")
            try await store.compatSessions.create(
                session: first, accessToken: Fixture.accessToken("at-1", session: first), refreshToken: nil)
            let counter = try await store.changeCounter()

            let second = Fixture.session("session-2", user: alice, device: "DEVICE2")
            var clash = Fixture.accessToken("at-2", session: second)
            clash.tokenHash = "hash-at-1"
            await expectStorageError(.conflict(""), containing: "UNIQUE constraint failed: compat_access_tokens.token_hash") {
                try await store.compatSessions.create(session: second, accessToken: clash, refreshToken: nil)
            }
            #expect(try await store.compatSessions.find(sessionId: "session-2") == nil)
            #expect(try await store.changeCounter() == counter)
        }
    }

    @Test func datesAreStoredAsMilliseconds() async throws {
        try await withStore { store, _ in
            var user = Fixture.user("alice")
            user.createdAt = Date(timeIntervalSince1970: 1_800_000_000.1237)
            let stored = try await store.users.create(user)
            #expect(stored.createdAt == Date(timeIntervalSince1970: 1_800_000_000.124))
            let raw = try await store.pool.read { db in try Int64.fetchOne(db, sql: "SELECT created_at FROM users") }
            #expect(raw == 1_800_000_000_124)
        }
    }
}
