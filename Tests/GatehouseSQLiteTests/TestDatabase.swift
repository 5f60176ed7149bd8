#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import GRDB
import GatehouseSQLite
import GatehouseStorage
import GatehouseTestSupport
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
