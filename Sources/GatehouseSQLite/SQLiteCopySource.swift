import GRDB
import GatehouseStorage

extension SQLiteStore {
    /// The source of `gatehouse database copy`: every read sees the same snapshot of the file (a
    /// Gatehouse still writing to it cannot make the copy inconsistent; its later writes are simply
    /// not copied).
    /// - Throws: when the snapshot cannot be taken.
    public func copySource() throws -> any StoreCopySource {
        SQLiteCopySource(snapshot: try pool.makeSnapshot())
    }
}

/// Reads tables of one snapshot (a connection that holds one read transaction until the source is
/// released) in `rowid` order: insertion order, which the copy keeps (the order
/// of two passwords of one user created in the same millisecond depends on it).
struct SQLiteCopySource: StoreCopySource {
    let snapshot: DatabaseSnapshot

    /// Tables that are bookkeeping of one store rather than its contents.
    private static let ownTables: Set<String> = ["store_revision", "grdb_migrations"]

    func tables() async throws -> [String] {
        try await snapshot.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                .filter { !Self.ownTables.contains($0) }
        }
    }

    func columnNames(of table: String) async throws -> [String] {
        try await snapshot.read { db in try db.columns(in: table).map { $0.name } }
    }

    func count(of table: String) async throws -> Int {
        try await snapshot.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
    }

    func rows(of table: String, columns: [CopiedColumn], after position: Int64?, limit: Int) async throws -> SourcePage {
        let list = columns.map(\.name).joined(separator: ", ")
        return try await snapshot.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT rowid AS copy_position, \(list) FROM \(table) WHERE rowid > ? ORDER BY rowid LIMIT ?",
                arguments: [position ?? Int64.min, limit])
            let values = try rows.map { row in
                try columns.indices.map { index in try Self.value(row[index + 1] as DatabaseValue, table: table, column: columns[index].name) }
            }
            return SourcePage(rows: values, lastPosition: rows.last.map { $0["copy_position"] as Int64 })
        }
    }

    private static func value(_ value: DatabaseValue, table: String, column: String) throws -> StoredValue {
        switch value.storage {
        case .null: return .null
        case .int64(let integer): return .integer(integer)
        case .string(let text): return .text(text)
        case .double, .blob:
            throw StorageError.unavailable("\(table).\(column) holds a value Gatehouse never writes (a real number or a blob); the file was edited by hand")
        }
    }
}
