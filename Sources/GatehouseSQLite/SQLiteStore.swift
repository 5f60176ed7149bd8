#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
#if canImport(Glibc)
import Glibc
#endif
import GatehouseStorage

/// The identity store in one SQLite file, opened as a GRDB `DatabasePool` (WAL: one writer and
/// concurrent readers that never wait for it).
///
/// Every connection runs with `foreign_keys = ON`, `synchronous = NORMAL` (durable across process
/// crashes in WAL mode; a power cut may lose the last commits but never corrupts the file) and a busy
/// timeout, so a write that meets another process's write transaction waits for it before failing as
/// "locked by another process".
///
/// Opening checks the file before anything is written: it must be a SQLite database created by
/// Gatehouse (or empty), and it must not carry migrations this build does not know
/// (``StorageError/schemaTooNew(_:)``); such a file is never modified. Dates are stored as `INTEGER`
/// milliseconds since the Unix epoch (see `Migration0001Initial`).
///
/// Opening blocks the calling thread (at most about the busy timeout); do it at startup or in the CLI,
/// not on a request path. All repository methods are `async` and run on GRDB's own queues.
public final class SQLiteStore: IdentityStore {
    /// The default time a write waits for another process's transaction.
    public static let defaultBusyTimeout: Duration = .seconds(5)

    /// The migration identifiers this build knows, in the order they run.
    public static var knownMigrations: [String] { SchemaMigrations.identifiers }

    /// The database file.
    public let path: String
    /// Users and their passwords.
    public let users: any UserRepository
    /// Compat sessions and their tokens.
    public let compatSessions: any CompatSessionRepository
    /// The persistent job queue.
    public let jobs: any JobRepository
    /// OAuth 2.0 clients.
    public let clients: any OAuth2ClientRepository
    /// Browser sessions of the HTML pages.
    public let browserSessions: any BrowserSessionRepository
    /// Authorization grants of `/authorize`.
    public let authorizationGrants: any AuthorizationGrantRepository
    /// RFC 8628 device authorizations.
    public let deviceGrants: any DeviceCodeGrantRepository
    /// OAuth 2.0 sessions and their tokens.
    public let oauth2Sessions: any OAuth2SessionRepository
    /// Legacy SSO logins.
    public let compatSSOLogins: any CompatSSOLoginRepository
    /// Deletion of rows past their retention.
    public let retention: any RetentionRepository
    /// The bulk writes of `gatehouse import-synapse`.
    public let accountImport: any AccountImportRepository

    /// The connections; internal so that the repositories of later issues (and tests) share them.
    let pool: DatabasePool

    private init(path: String, pool: DatabasePool) {
        self.path = path
        self.pool = pool
        self.users = SQLiteUserRepository(pool: pool)
        self.compatSessions = SQLiteCompatSessionRepository(pool: pool)
        self.jobs = SQLiteJobRepository(pool: pool)
        self.clients = SQLiteOAuth2ClientRepository(pool: pool)
        self.browserSessions = SQLiteBrowserSessionRepository(pool: pool)
        self.authorizationGrants = SQLiteAuthorizationGrantRepository(pool: pool)
        self.deviceGrants = SQLiteDeviceCodeGrantRepository(pool: pool)
        self.oauth2Sessions = SQLiteOAuth2SessionRepository(pool: pool)
        self.compatSSOLogins = SQLiteCompatSSOLoginRepository(pool: pool)
        self.retention = SQLiteRetentionRepository(pool: pool)
        self.accountImport = SQLiteAccountImportRepository(pool: pool)
    }

    /// Opens (creating it when `migrate` is set) the database at `path`.
    ///
    /// - Parameters:
    ///   - path: the database file; its directory must exist and be writable (SQLite creates `-wal` and
    ///     `-shm` files next to it).
    ///   - migrate: `true` applies pending migrations; `false` fails when any are pending, telling the
    ///     admin to run `gatehouse database migrate`.
    ///   - busyTimeout: how long a write waits for another process's transaction.
    /// - Throws: ``StorageError/unavailable(_:)`` when the file cannot be used (missing or read-only
    ///   directory, not a database, not a Gatehouse database, locked by another process, schema out of
    ///   date with `migrate: false`); ``StorageError/schemaTooNew(_:)`` when it was migrated by a newer
    ///   Gatehouse.
    public static func open(path: String, migrate: Bool = true, busyTimeout: Duration = defaultBusyTimeout) throws -> SQLiteStore {
        try open(path: path, policy: migrate ? .migrate : .requireCurrent, busyTimeout: busyTimeout)
    }

    /// Opens the database for `gatehouse database migrate`/`status`: like ``open(path:migrate:busyTimeout:)``
    /// but pending migrations are neither applied nor an error; see ``pendingMigrations()`` and
    /// ``migrate()``. The file is created if missing.
    ///
    /// - Parameters:
    ///   - path: the database file.
    ///   - busyTimeout: how long a write waits for another process's transaction.
    /// - Throws: as ``open(path:migrate:busyTimeout:)``, except for pending migrations.
    public static func openForMaintenance(path: String, busyTimeout: Duration = defaultBusyTimeout) throws -> SQLiteStore {
        try open(path: path, policy: .allowPending, busyTimeout: busyTimeout)
    }

    /// Migration identifiers this build knows that the file has not applied yet, in order.
    /// - Throws: ``StorageError/schemaTooNew(_:)`` for a file migrated by a newer Gatehouse.
    public func pendingMigrations() throws -> [String] {
        try Self.checkSchema(pool, path: path)
    }

    /// Applies pending migrations, each in its own transaction.
    ///
    /// Safe to run while another process runs it too: a migration the other process applied first is
    /// not an error.
    /// - Returns: the identifiers applied by this call.
    /// - Throws: ``StorageError/schemaTooNew(_:)`` for a file migrated by a newer Gatehouse, or
    ///   ``StorageError/unavailable(_:)``.
    @discardableResult
    public func migrate() throws -> [String] {
        let pending = try pendingMigrations()
        guard !pending.isEmpty else { return [] }
        do {
            try Self.migrator.migrate(pool)
        } catch {
            // Another process may have applied the same migrations between our check and our run
            // (the CREATE TABLE then fails). Only an unfinished schema is an error.
            let stillPending = (try? pendingMigrations()) ?? pending
            if !stillPending.isEmpty {
                throw Self.translatingOpenError(error, path: path)
            }
        }
        return pending
    }

    /// The store revision, incremented by every committed mutation of any process (except activity
    /// timestamps, see ``CompatSessionRepository/touch(sessionId:at:)``). One read of one row on a reader
    /// connection.
    public func changeCounter() async throws -> Int {
        try await pool.query { db in try StoreRevision.read(db) }
    }

    /// A synchronous reader of the revocation counter for the calling thread.
    public func makeRevisionProbe() throws -> any RevisionProbe {
        try SQLiteRevisionProbe(path: path)
    }

    /// Closes the connections; the store cannot be used afterwards. Also happens on deinit.
    /// - Throws: when a connection is still in use.
    public func close() throws {
        try pool.close()
    }

    // MARK: - Opening

    private enum SchemaPolicy {
        case migrate
        case requireCurrent
        case allowPending
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in SchemaMigrations.all {
            let sql = migration.sql
            migrator.registerMigration(migration.identifier) { db in
                try db.execute(sql: sql)
            }
        }
        return migrator
    }

    private static func open(path: String, policy: SchemaPolicy, busyTimeout: Duration) throws -> SQLiteStore {
        let exists = try checkLocation(path: path)
        if !exists && policy == .requireCurrent {
            throw StorageError.unavailable("database \(path) does not exist; create it with `gatehouse database migrate`")
        }
        if !exists {
            // Created empty and private before SQLite opens it: SQLite would use 0644, and it gives the
            // -wal and -shm files the mode of the database file.
            #if canImport(Glibc)
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 { Glibc.close(fd) }
            #endif
        }

        var configuration = Configuration()
        configuration.label = "gatehouse"
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(busyTimeout.timeInterval)
        configuration.prepareDatabase { db in
            // Per connection. GRDB also sets it on the writer for WAL; stated here as the intent.
            // (Reader connections use GRDB's own 10 s busy timeout, rarely needed in WAL mode.)
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }

        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw translatingOpenError(error, path: path)
        }
        do {
            let pending = try checkSchema(pool, path: path)
            switch policy {
            case .migrate, .allowPending:
                break
            case .requireCurrent where !pending.isEmpty:
                throw StorageError.unavailable(
                    "database \(path) needs migrations \(pending.joined(separator: ", ")); run `gatehouse database migrate`")
            case .requireCurrent:
                break
            }
            let store = SQLiteStore(path: path, pool: pool)
            if policy == .migrate {
                try store.migrate()
            }
            return store
        } catch {
            try? pool.close()
            throw error
        }
    }

    /// Validates the directory and the file before SQLite touches them.
    /// - Returns: whether the file exists.
    private static func checkLocation(path: String) throws -> Bool {
        let fileManager = FileManager.default
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        guard let directoryType = try? fileManager.attributesOfItem(atPath: directory)[.type] as? FileAttributeType else {
            throw StorageError.unavailable("cannot open database \(path): directory \(directory) does not exist")
        }
        guard directoryType == .typeDirectory else {
            throw StorageError.unavailable("cannot open database \(path): \(directory) is not a directory")
        }
        guard fileManager.isWritableFile(atPath: directory) else {
            throw StorageError.unavailable(
                "cannot open database \(path): directory \(directory) is not writable (SQLite creates the -wal and -shm files there)")
        }
        guard let fileType = try? fileManager.attributesOfItem(atPath: path)[.type] as? FileAttributeType else {
            return false
        }
        guard fileType == .typeRegular else {
            throw StorageError.unavailable("cannot open database \(path): it is not a regular file")
        }
        guard fileManager.isReadableFile(atPath: path), fileManager.isWritableFile(atPath: path) else {
            throw StorageError.unavailable("cannot open database \(path): the file is not readable and writable by this user")
        }
        return true
    }

    /// Checks, inside an immediate write transaction that changes nothing (so it also proves no other
    /// process holds the write lock), that the file is a Gatehouse database this build understands.
    /// - Returns: the pending migrations.
    private static func checkSchema(_ pool: DatabasePool, path: String) throws -> [String] {
        let known = SchemaMigrations.identifiers
        do {
            return try pool.write { db in
                if try !db.tableExists("grdb_migrations") {
                    let tables = try String.fetchAll(
                        db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                    if !tables.isEmpty {
                        throw StorageError.unavailable(
                            "database \(path) is not a Gatehouse database (it has tables \(tables.prefix(5).joined(separator: ", ")) "
                                + "but no migration history); refusing to modify it")
                    }
                    return known
                }
                let applied = try migrator.appliedIdentifiers(db)
                let unknown = applied.subtracting(known).sorted()
                if !unknown.isEmpty {
                    throw StorageError.schemaTooNew(
                        "database \(path) was migrated by a newer Gatehouse (unknown migrations: \(unknown.joined(separator: ", "))); "
                            + "upgrade Gatehouse or restore a backup made with this version — the file was not modified")
                }
                return known.filter { !applied.contains($0) }
            }
        } catch {
            throw translatingOpenError(error, path: path)
        }
    }

    private static func translatingOpenError(_ error: any Error, path: String) -> any Error {
        StorageError.translating(error, path: path)
    }
}

extension Duration {
    /// The duration in seconds, for APIs that take a `TimeInterval`.
    fileprivate var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
