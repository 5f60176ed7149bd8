import GatehouseCore
import GatehousePostgres
import GatehouseSQLite
import GatehouseStorage
import Logging

/// The one place that knows both store backends: opens the one `database` names, so commands and
/// the server see only ``IdentityStore`` (and the import repository).
struct OpenedStore: Sendable {
    /// What to do about pending migrations when opening.
    enum Migrations {
        /// Apply them (`serve`, `manage`, `clients`).
        case apply
        /// Refuse to open, naming `gatehouse database migrate`.
        case requireCurrent
        /// Neither (`database migrate` / `status` decide).
        case leavePending
    }

    private enum Backend: Sendable {
        case sqlite(SQLiteStore)
        case postgres(PostgresStore)
    }

    private let backend: Backend
    /// Where the store is, for messages; never includes a password.
    let summary: String

    /// The repositories.
    var store: any IdentityStore {
        switch backend {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// The bulk writes of `import-synapse`.
    var accountImport: any AccountImportRepository {
        switch backend {
        case .sqlite(let store): store.accountImport
        case .postgres(let store): store.accountImport
        }
    }

    /// `sqlite` or `postgresql`.
    var kind: String {
        switch backend {
        case .sqlite: "sqlite"
        case .postgres: "postgresql"
        }
    }

    /// Opens the store `configuration` names.
    /// - Parameters:
    ///   - configuration: the `database` section.
    ///   - migrations: what to do about pending migrations.
    static func open(_ configuration: DatabaseConfiguration, migrations: Migrations = .apply) async throws -> OpenedStore {
        switch configuration.backend {
        case .sqlite(let path):
            let store =
                switch migrations {
                case .apply: try SQLiteStore.open(path: path)
                case .requireCurrent: try SQLiteStore.open(path: path, migrate: false)
                case .leavePending: try SQLiteStore.openForMaintenance(path: path)
                }
            return OpenedStore(backend: .sqlite(store), summary: configuration.summary)
        case .postgres(let settings):
            // postgres-nio reports every connection it opens and closes at info; only trouble is worth a line.
            var logger = Logger(label: "gatehouse.postgres")
            logger.logLevel = max(logger.logLevel, .warning)
            let store =
                switch migrations {
                case .apply: try await PostgresStore.open(settings, logger: logger)
                case .requireCurrent: try await PostgresStore.open(settings, migrate: false, logger: logger)
                case .leavePending: try await PostgresStore.openForMaintenance(settings, logger: logger)
                }
            return OpenedStore(backend: .postgres(store), summary: configuration.summary)
        }
    }

    /// Migrations this build knows that the store has not applied, in order.
    func pendingMigrations() async throws -> [String] {
        switch backend {
        case .sqlite(let store): try store.pendingMigrations()
        case .postgres(let store): try await store.pendingMigrations()
        }
    }

    /// Applies pending migrations; returns those applied.
    @discardableResult
    func migrate() async throws -> [String] {
        switch backend {
        case .sqlite(let store): try store.migrate()
        case .postgres(let store): try await store.migrate()
        }
    }

    /// Every migration this build knows (the same identifiers for both backends).
    var knownMigrations: [String] {
        switch backend {
        case .sqlite: SQLiteStore.knownMigrations
        case .postgres: PostgresStore.knownMigrations
        }
    }

    /// Closes the connections; the store cannot be used afterwards.
    func close() async {
        switch backend {
        case .sqlite(let store): try? store.close()
        case .postgres(let store): await store.close()
        }
    }
}
