#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseSQLite
import GatehouseStorage
import Testing

/// A fresh directory per test, removed afterwards; the database file inside it is real SQLite.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-sqlite-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    func file(_ name: String = "gatehouse.db") -> String { path + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `body` with a temporary directory.
func withTemporaryDirectory(_ body: (TemporaryDirectory) async throws -> Void) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    try await body(directory)
}

/// Runs `body` with a freshly migrated store on a new file.
func withStore(_ body: (SQLiteStore, TemporaryDirectory) async throws -> Void) async throws {
    try await withTemporaryDirectory { directory in
        let store = try SQLiteStore.open(path: directory.file())
        defer { try? store.close() }
        try await body(store, directory)
    }
}

/// A raw GRDB connection on the same file, standing in for another process.
func rawQueue(_ path: String) throws -> DatabaseQueue {
    var configuration = Configuration()
    configuration.allowsUnsafeTransactions = true  // to hold BEGIN EXCLUSIVE across calls
    return try DatabaseQueue(path: path, configuration: configuration)
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
