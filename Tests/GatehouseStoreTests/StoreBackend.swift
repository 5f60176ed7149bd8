#if canImport(FoundationEssentials)
import FoundationEssentials
#endif
import Foundation
import GatehouseCore
import GatehousePostgres
import GatehouseSQLite
import GatehouseStorage
import Testing

/// The two stores every repository test runs against: `@Test(arguments: StoreBackend.allCases)`.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// One test's database: a fresh SQLite file or a fresh PostgreSQL database, migrated. Further stores
/// on the same database stand in for other processes or instances.
final class StoreFixture: @unchecked Sendable {
    let backend: StoreBackend
    private let directory: String?
    private let postgres: PostgresDatabaseConfiguration?
    private var opened: [any IdentityStore] = []

    private init(backend: StoreBackend, directory: String?, postgres: PostgresDatabaseConfiguration?) {
        self.backend = backend
        self.directory = directory
        self.postgres = postgres
    }

    static func make(_ backend: StoreBackend) async throws -> StoreFixture {
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-store-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            return StoreFixture(backend: backend, directory: directory, postgres: nil)
        case .postgres:
            return StoreFixture(backend: backend, directory: nil, postgres: try await PostgresTestServer.shared.createDatabase())
        }
    }

    /// Opens (migrating) a store on this test's database; closed by ``close()``.
    func open() async throws -> any IdentityStore {
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
    func accountImport(_ store: any IdentityStore) -> any AccountImportRepository {
        switch store {
        case let store as SQLiteStore: store.accountImport
        case let store as PostgresStore: store.accountImport
        default: fatalError("not a store of this fixture")
        }
    }

    func close() async {
        for store in opened.reversed() {
            switch store {
            case let store as SQLiteStore: try? store.close()
            case let store as PostgresStore: await store.close()
            default: break
            }
        }
        opened = []
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        if let postgres { await PostgresTestServer.shared.dropDatabase(postgres) }
    }
}

/// Runs `body` with a freshly migrated store of `backend`, and its fixture (to open a second store
/// on the same database).
func withStore(_ backend: StoreBackend, _ body: (any IdentityStore, StoreFixture) async throws -> Void) async throws {
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

/// Expects `body` to throw a `StorageError` equal (by kind) to `expected` whose message contains `fragment`.
func expectStorageError(
    _ expected: StorageError, containing fragment: String = "", sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    do {
        try await body()
        Issue.record("expected \(expected), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StorageError {
        #expect(error == expected, "got \(error)", sourceLocation: sourceLocation)
        #expect(fragment.isEmpty || error.message.contains(fragment), "message: \(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(expected), got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    }
}

/// Fixtures at whole milliseconds (the storage precision).
enum Fixture {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func user(_ name: String, at seconds: Double = 0) -> User {
        User(id: "user-\(name)", username: name, createdAt: at(seconds))
    }

    static func session(_ id: String, user: User, device: String, at seconds: Double = 0) -> CompatSession {
        CompatSession(id: id, userId: user.id, deviceId: device, displayName: "Phone \(device)", createdAt: at(seconds))
    }

    static func accessToken(_ id: String, session: CompatSession, at seconds: Double = 0) -> CompatAccessToken {
        CompatAccessToken(id: id, sessionId: session.id, tokenHash: "hash-\(id)", createdAt: at(seconds), expiresAt: at(seconds + 300))
    }

    static func refreshToken(_ id: String, session: CompatSession, accessToken: CompatAccessToken, at seconds: Double = 0) -> CompatRefreshToken {
        CompatRefreshToken(id: id, sessionId: session.id, accessTokenId: accessToken.id, tokenHash: "hash-\(id)", createdAt: at(seconds))
    }

    static func job(_ id: String, kind: String = "provision_user", runAt seconds: Double, createdAt created: Double = 0) -> Job {
        Job(id: id, kind: kind, payload: #"{"user":"\#(id)"}"#, runAt: at(seconds), createdAt: at(created))
    }
}
