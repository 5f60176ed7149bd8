#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GatehouseCore
import GatehouseStorage
import Logging
import NIOSSL
import PostgresNIO
import Synchronization

/// The identity store in a PostgreSQL database, for several Gatehouse instances sharing one store.
///
/// The same repositories, with the same meaning, as ``SQLiteStore``'s (the store suite runs every
/// assertion against both): every method documented as one transaction is one transaction, unique
/// violations are ``StorageError/conflict(_:)``, lists have the same order. How transactions keep
/// SQLite's semantics is explained on ``PostgresDatabase``; the schema conventions on
/// `Migration0001Initial`.
///
/// The store owns its pool (postgres-nio's `PostgresClient`, `max_connections` connections) and one
/// more connection that listens for revision changes (``PostgresRevisionWatcher``). Both run in a
/// task started by ``open(_:migrate:logger:)`` and stopped by ``close()``: the store outlives every
/// service that uses it (the server closes it after its service group has shut down), so a
/// draining request never finds the pool gone.
public final class PostgresStore: IdentityStore {
    /// The migration identifiers this build knows, in the order they run (the SQLite store's).
    public static var knownMigrations: [String] { SchemaMigrations.identifiers }

    /// The key of the session-level advisory lock held while migrations are checked and applied, so
    /// that instances starting together apply each migration once. (A transaction-pooling proxy
    /// such as PgBouncer in `transaction` mode breaks session locks; MAS documents the same.)
    static let migrationLockKey: Int64 = 0x6761_7465_686f_7573  // "gatehous"

    /// Where the database is, without the password.
    public let settings: PostgresDatabaseConfiguration
    public let users: any UserRepository
    public let compatSessions: any CompatSessionRepository
    public let jobs: any JobRepository
    public let clients: any OAuth2ClientRepository
    public let browserSessions: any BrowserSessionRepository
    public let authorizationGrants: any AuthorizationGrantRepository
    public let deviceGrants: any DeviceCodeGrantRepository
    public let oauth2Sessions: any OAuth2SessionRepository
    public let compatSSOLogins: any CompatSSOLoginRepository
    public let retention: any RetentionRepository
    /// The bulk writes of `gatehouse import-synapse`.
    public let accountImport: any AccountImportRepository
    public let adminListings: any AdminListingRepository
    public let sessionActivity: any SessionActivityRepository

    let database: PostgresDatabase
    private let watcher: PostgresRevisionWatcher
    /// Runs the pool.
    private let background: Task<Void, Never>
    /// Runs the revision listener, once the schema is current (``startWatching()``).
    private let watching = Mutex<Task<Void, Never>?>(nil)
    private let logger: Logger

    private init(settings: PostgresDatabaseConfiguration, database: PostgresDatabase, watcher: PostgresRevisionWatcher, background: Task<Void, Never>) {
        self.settings = settings
        self.database = database
        self.watcher = watcher
        self.background = background
        self.logger = database.logger
        users = PostgresUserRepository(database: database)
        compatSessions = PostgresCompatSessionRepository(database: database)
        jobs = PostgresJobRepository(database: database)
        clients = PostgresOAuth2ClientRepository(database: database)
        browserSessions = PostgresBrowserSessionRepository(database: database)
        authorizationGrants = PostgresAuthorizationGrantRepository(database: database)
        deviceGrants = PostgresDeviceCodeGrantRepository(database: database)
        oauth2Sessions = PostgresOAuth2SessionRepository(database: database)
        compatSSOLogins = PostgresCompatSSOLoginRepository(database: database)
        retention = PostgresRetentionRepository(database: database)
        accountImport = PostgresAccountImportRepository(database: database)
        adminListings = PostgresAdminListingRepository(database: database)
        sessionActivity = PostgresSessionActivityRepository(database: database)
    }

    /// Connects, checks the schema and (with `migrate`) applies pending migrations.
    /// - Parameters:
    ///   - settings: the `database` section's PostgreSQL settings.
    ///   - migrate: `true` applies pending migrations; `false` fails when any are pending, telling the
    ///     admin to run `gatehouse database migrate`.
    ///   - logger: postgres-nio's background logger and the revision listener's.
    /// - Throws: ``StorageError/unavailable(_:)`` when the database cannot be reached or used (not a
    ///   Gatehouse database, schema out of date with `migrate: false`); ``StorageError/schemaTooNew(_:)``
    ///   when it was migrated by a newer Gatehouse.
    public static func open(
        _ settings: PostgresDatabaseConfiguration, migrate: Bool = true, logger: Logger = Logger(label: "gatehouse.postgres")
    ) async throws -> PostgresStore {
        try await checkConnection(settings, logger: logger)
        let store = try await start(settings, logger: logger)
        do {
            let pending = try await store.pendingMigrations()
            if migrate {
                try await store.migrate()
            } else if !pending.isEmpty {
                throw StorageError.unavailable(
                    "database \(settings.summary) needs migrations \(pending.joined(separator: ", ")); run `gatehouse database migrate`")
            }
            store.startWatching()
            return store
        } catch {
            await store.close()
            throw error
        }
    }

    /// Connects for `gatehouse database migrate`/`status`: pending migrations are neither applied nor
    /// an error (see ``pendingMigrations()`` and ``migrate()``).
    /// - Parameters:
    ///   - settings: the PostgreSQL settings.
    ///   - logger: postgres-nio's logger.
    /// - Throws: as ``open(_:migrate:logger:)``, except for pending migrations.
    public static func openForMaintenance(
        _ settings: PostgresDatabaseConfiguration, logger: Logger = Logger(label: "gatehouse.postgres")
    ) async throws -> PostgresStore {
        try await checkConnection(settings, logger: logger)
        let store = try await start(settings, logger: logger)
        do {
            _ = try await store.pendingMigrations()
            return store
        } catch {
            await store.close()
            throw error
        }
    }

    private static func start(_ settings: PostgresDatabaseConfiguration, logger: Logger) async throws -> PostgresStore {
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.username, password: settings.password, database: settings.database,
            tls: tls(settings))
        // The revision listener holds one connection for good.
        configuration.options.maximumConnections = settings.maxConnections + 1
        configuration.options.connectTimeout = .seconds(10)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let watcher = PostgresRevisionWatcher()
        let running = StartFlag()
        let background = Task {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    running.value.store(true, ordering: .releasing)
                    await client.run()
                }
            }
        }
        // The pool serves leases only once run() has begun (earlier ones wait, with a warning).
        while !running.value.load(ordering: .acquiring) { try? await Task.sleep(for: .milliseconds(1)) }
        try? await Task.sleep(for: .milliseconds(1))
        var database = PostgresDatabase(client: client, logger: logger, lostConnectionRetries: configuration.options.maximumConnections)
        database.committed = { watcher.committed($0) }
        return PostgresStore(settings: settings, database: database, watcher: watcher, background: background)
    }

    /// One plain connection before the pool exists: the pool retries a failing server quietly (for a
    /// minute before it gives up), so a wrong host, password or database name is reported at once,
    /// with the server's reason, from here.
    private static func checkConnection(_ settings: PostgresDatabaseConfiguration, logger: Logger) async throws {
        let tls: PostgresConnection.Configuration.TLS =
            switch settings.sslMode {
            case .disable: .disable
            case .prefer: .prefer(try NIOSSLContext(configuration: tlsConfiguration(settings)))
            case .require, .verifyCA, .verifyFull: .require(try NIOSSLContext(configuration: tlsConfiguration(settings)))
            }
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.username, password: settings.password, database: settings.database,
            tls: tls)
        configuration.options.connectTimeout = .seconds(10)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try? await connection.close()
        } catch {
            throw StorageError.unavailable("cannot connect to \(settings.summary): \(describe(error))")
        }
    }

    /// The server's message, or the connection failure, never a bound value or a password.
    static func describe(_ error: any Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return message }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    /// The TLS settings of the verifying and non-verifying modes (libpq's meanings).
    private static func tlsConfiguration(_ settings: PostgresDatabaseConfiguration) -> TLSConfiguration {
        var client = TLSConfiguration.makeClientConfiguration()
        if let caFile = settings.caFile { client.trustRoots = .file(caFile) }
        switch settings.sslMode {
        case .disable, .prefer, .require:
            // libpq encrypts without checking the certificate in these modes.
            client.certificateVerification = .none
        case .verifyCA:
            client.certificateVerification = .noHostnameVerification
        case .verifyFull:
            break
        }
        return client
    }

    /// libpq's `sslmode` meanings in swift-nio-ssl terms.
    private static func tls(_ settings: PostgresDatabaseConfiguration) -> PostgresClient.Configuration.TLS {
        switch settings.sslMode {
        case .disable: .disable
        case .prefer: .prefer(tlsConfiguration(settings))
        case .require, .verifyCA, .verifyFull: .require(tlsConfiguration(settings))
        }
    }

    /// Stops the listener and the pool; the store cannot be used afterwards.
    public func close() async {
        if let task = watching.withLock({ task in defer { task = nil }; return task }) {
            task.cancel()
            await task.value
        }
        background.cancel()
        await background.value
    }

    /// Starts the revision listener (it reads `store_revision`, so only on a current schema). A
    /// store opened for maintenance never starts it; its probe then reads "unknown".
    private func startWatching() {
        let client = database.client
        let logger = self.logger
        let watcher = self.watcher
        watching.withLock { task in
            guard task == nil else { return }
            task = Task { await watcher.run(client: client, logger: logger) }
        }
    }

    // MARK: - Revision

    /// The store revision, incremented by every committed mutation of any instance (except activity
    /// timestamps). One read of one row.
    public func changeCounter() async throws -> Int {
        try await database.query { try await StoreRevision.read($0) }
    }

    /// A reader of the revision that the listener keeps fresh: no I/O, so it may run on an event loop
    /// for every cached introspection; `nil` while the listener has no connection.
    public func makeRevisionProbe() throws -> any RevisionProbe {
        PostgresRevisionProbe(watcher: watcher)
    }

    // MARK: - Migrations

    /// Migration identifiers this build knows that the database has not applied yet, in order.
    /// - Throws: ``StorageError/schemaTooNew(_:)`` for a database migrated by a newer Gatehouse,
    ///   ``StorageError/unavailable(_:)`` for a database that is not Gatehouse's.
    public func pendingMigrations() async throws -> [String] {
        try await database.query { try await self.checkSchema($0) }
    }

    /// Applies pending migrations, each in its own transaction, under a session advisory lock:
    /// a second instance migrating at the same time waits, then finds nothing left to do.
    /// - Returns: the identifiers applied by this call.
    @discardableResult
    public func migrate() async throws -> [String] {
        try await database.query { connection in
            try await connection.execute("SELECT pg_advisory_lock(?)", [Self.migrationLockKey])
            do {
                let applied = try await self.applyPending(connection)
                try await connection.execute("SELECT pg_advisory_unlock(?)", [Self.migrationLockKey])
                return applied
            } catch {
                try? await connection.run("ROLLBACK")
                _ = try? await connection.execute("SELECT pg_advisory_unlock(?)", [Self.migrationLockKey])
                throw StorageError.translatingPostgres(error)
            }
        }
    }

    private func applyPending(_ connection: PostgresTransaction) async throws -> [String] {
        let pending = try await checkSchema(connection)
        guard !pending.isEmpty else { return [] }
        for identifier in pending {
            guard let migration = SchemaMigrations.all.first(where: { $0.identifier == identifier }) else { continue }
            try await connection.run("BEGIN")
            // With the first migration, so no one ever sees the history without the tables.
            try await connection.run(
                "CREATE TABLE IF NOT EXISTS schema_migrations (identifier TEXT COLLATE \"C\" NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)")
            for statement in Self.statements(migration.sql) {
                try await connection.run(statement)
            }
            try await connection.execute(
                "INSERT INTO schema_migrations (identifier, applied_at) VALUES (?, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
                [identifier])
            try await connection.run("COMMIT")
        }
        return pending
    }

    /// Checks that the database is empty or Gatehouse's, with no migration this build does not know.
    /// - Returns: the pending migrations.
    private func checkSchema(_ connection: PostgresTransaction) async throws -> [String] {
        let known = SchemaMigrations.identifiers
        // One read of the table list: another instance may be migrating meanwhile.
        let tables = try await connection.fetchAll("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
            .map { try $0.string("tablename") }
        guard tables.contains("schema_migrations") else {
            if !tables.isEmpty {
                throw StorageError.unavailable(
                    "database \(settings.summary) is not a Gatehouse database (it has tables \(tables.prefix(5).joined(separator: ", ")) "
                        + "but no migration history); refusing to modify it")
            }
            return known
        }
        let applied = Set(try await connection.fetchAll("SELECT identifier FROM schema_migrations").map { try $0.string("identifier") })
        let unknown = applied.subtracting(known).sorted()
        if !unknown.isEmpty {
            throw StorageError.schemaTooNew(
                "database \(settings.summary) was migrated by a newer Gatehouse (unknown migrations: \(unknown.joined(separator: ", "))); "
                    + "upgrade Gatehouse or restore a backup made with this version — the database was not modified")
        }
        return known.filter { !applied.contains($0) }
    }

    /// The statements of a migration: `--` comments removed, split at `;` (no migration has a `;` or
    /// `--` inside a literal). postgres-nio sends one statement per query.
    static func statements(_ sql: String) -> [String] {
        let withoutComments = sql.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.range(of: "--").map { line[..<$0.lowerBound] } ?? line
        }.joined(separator: "\n")
        return withoutComments.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }
}

/// Set by the background task just before it calls `PostgresClient.run()`.
private final class StartFlag: Sendable {
    let value = Atomic<Bool>(false)
}
