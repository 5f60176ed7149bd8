#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import GatehouseCore
import GatehousePostgres
import GatehouseSQLite
import GatehouseStorage
import PostgresNIO

/// The two stores every store, identity, compat and OAuth test runs against:
/// `@Test(arguments: StoreBackend.allCases)`. Swift Testing names each case by its description.
public enum StoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }
}

/// One test's database: a fresh SQLite file or a fresh PostgreSQL database, migrated. Further stores
/// on the same database stand in for other processes or instances.
public final class StoreFixture: @unchecked Sendable {
    public let backend: StoreBackend
    private var directory: String?
    private var postgres: PostgresDatabaseConfiguration?
    private var opened: [any IdentityStore] = []

    private init(backend: StoreBackend, directory: String?, postgres: PostgresDatabaseConfiguration?) {
        self.backend = backend
        self.directory = directory
        self.postgres = postgres
    }

    public static func make(_ backend: StoreBackend) async throws -> StoreFixture {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-store-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return StoreFixture(backend: backend, directory: directory, postgres: nil)
        case .postgres:
            return StoreFixture(backend: backend, directory: nil, postgres: try await PostgresTestServer.shared.createDatabase(migrated: true))
        }
    }

    /// Opens (migrating) a store on this test's database; closed by ``close()``.
    public func open() async throws -> any IdentityStore {
        let store: any IdentityStore
        if let directory {
            store = try SQLiteStore.open(path: directory + "/gatehouse.db")
        } else {
            store = try await PostgresStore.open(postgres!)
        }
        opened.append(store)
        return store
    }

    /// The bulk-import repository of a store this fixture opened.
    public func accountImport(_ store: any IdentityStore) -> any AccountImportRepository {
        switch store {
        case let store as SQLiteStore: store.accountImport
        case let store as PostgresStore: store.accountImport
        default: fatalError("not a store of this fixture")
        }
    }

    /// Everything the database holds, as text: the SQLite file and its write-ahead log as they are
    /// on disk, or every row of every PostgreSQL table. For checks that a secret is never written.
    public func storedText() async throws -> String {
        if let directory {
            return ["gatehouse.db", "gatehouse.db-wal"].map {
                (try? String(contentsOfFile: "\(directory)/\($0)", encoding: .isoLatin1)) ?? ""
            }.joined(separator: "\n")
        }
        return try await PostgresTestServer.withConnection(postgres!) { connection in
            var text = ""
            let tables = try await connection.query(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename", logger: PostgresTestServer.logger
            ).collect().map { try $0.decode(String.self) }
            for table in tables {
                // A name from the catalogue, quoted as an identifier.
                let quoted = "\"" + table.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                let rows = try await connection.query(PostgresQuery(unsafeSQL: "SELECT t::text FROM \(quoted) t"), logger: PostgresTestServer.logger)
                for try await row in rows { text += try row.decode(String.self) + "\n" }
            }
            return text
        }
    }

    /// Closes the stores this fixture opened; the database stays until ``close()`` (a test of what
    /// a service does when its store is gone).
    public func closeStores() async {
        let stores = opened
        opened = []
        for store in stores.reversed() {
            switch store {
            case let store as SQLiteStore: try? store.close()
            case let store as PostgresStore: await store.close()
            default: break
            }
        }
    }

    /// Closes the stores and removes the database. Closing twice does nothing more.
    public func close() async {
        await closeStores()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        if let postgres { await PostgresTestServer.shared.dropDatabase(postgres) }
        directory = nil
        postgres = nil
    }
}

/// Runs `body` with a freshly migrated store of `backend`, and its fixture (to open a second store
/// on the same database).
public func withStore(_ backend: StoreBackend, _ body: (any IdentityStore, StoreFixture) async throws -> Void) async throws {
    let fixture = try await StoreFixture.make(backend)
    do {
        let store = try await fixture.open()
        try await body(store, fixture)
        await fixture.close()
    } catch {
        await fixture.close()
        throw error
    }
}
