import GatehouseStorage
import NIOCore
import PostgresNIO

extension PostgresStore {
    /// The target of `gatehouse database copy` (migrate the store first: ``open(_:migrate:logger:)``).
    public var copyTarget: any StoreCopyTarget {
        PostgresCopyTarget(database: database)
    }
}

/// Writes a copy in one transaction that starts by bumping the store revision: that takes the
/// counter's row lock, so the mutating transactions of instances already running on the database
/// wait for the copy, and once it commits they drop their caches (the NOTIFY is sent on commit).
struct PostgresCopyTarget: StoreCopyTarget {
    let database: PostgresDatabase

    func copyTransaction(_ body: (any StoreCopyTransaction) async throws -> Bool) async throws {
        do {
            try await database.client.withConnection { connection in
                let transaction = PostgresTransaction(connection: connection, logger: database.logger)
                try await transaction.run("BEGIN")
                do {
                    try await StoreRevision.bump(transaction)
                    let commit = try await body(PostgresCopyTransaction(transaction: transaction))
                    try await transaction.run(commit ? "COMMIT" : "ROLLBACK")
                } catch {
                    try? await transaction.run("ROLLBACK")
                    throw error
                }
            }
        } catch {
            throw StorageError.translatingPostgres(error)
        }
    }
}

/// The statements of a copy. Table and column names come from ``StoreCopy/tables`` and the
/// catalog (checked to be plain names there); every value is bound.
struct PostgresCopyTransaction: StoreCopyTransaction {
    let transaction: PostgresTransaction

    /// Tables that are bookkeeping of one store rather than its contents.
    private static let ownTables: Set<String> = ["store_revision", "schema_migrations"]

    func tables() async throws -> [String] {
        try await transaction.fetchAll("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
            .map { try $0.string("tablename") }.filter { !Self.ownTables.contains($0) }
    }

    func columns(of table: String) async throws -> [CopiedColumn] {
        let rows = try await transaction.fetchAll(
            """
            SELECT column_name::text AS name, data_type::text AS type, is_identity::text AS identity, is_generated::text AS generated
            FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position
            """, [table])
        return try rows.compactMap { row in
            // user_passwords.position stands in for SQLite's rowid: the database numbers the rows
            // as the copy inserts them, in the source's insertion order.
            if try row.string("identity") == "YES" || row.string("generated") == "ALWAYS" { return nil }
            let name = try row.string("name")
            switch try row.string("type") {
            case "bigint", "integer", "smallint": return CopiedColumn(name: name, kind: .integer)
            case "text": return CopiedColumn(name: name, kind: .text)
            case "boolean": return CopiedColumn(name: name, kind: .boolean)
            case let type: throw StorageError.unavailable("\(table).\(name) has type \(type), which no Gatehouse migration creates")
            }
        }
    }

    func count(of table: String) async throws -> Int {
        Int(try await transaction.scalar("SELECT COUNT(*) FROM \(table)") ?? 0)
    }

    func rows(of table: String, columns: [CopiedColumn], ids: [String]) async throws -> [String: [StoredValue]] {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(ids)
        let list = columns.map(\.name).joined(separator: ", ")
        let query = PostgresQuery(unsafeSQL: "SELECT \(list) FROM \(table) WHERE id = ANY($1)", binds: bindings)
        let rows = try await transaction.connection.query(query, logger: transaction.logger).collect()
        var found: [String: [StoredValue]] = [:]
        for row in rows {
            let row = row.makeRandomAccess()
            let values = try columns.indices.map { index -> StoredValue in
                switch columns[index].kind {
                case .integer: try row[index].decode(Int64?.self).map(StoredValue.integer) ?? .null
                case .text: try row[index].decode(String?.self).map(StoredValue.text) ?? .null
                case .boolean: try row[index].decode(Bool?.self).map { .integer($0 ? 1 : 0) } ?? .null
                }
            }
            if case .text(let id) = values[columns.firstIndex { $0.name == "id" }!] { found[id] = values }
        }
        return found
    }

    func insert(into table: String, columns: [CopiedColumn], rows: [[StoredValue]]) async throws {
        var bindings = PostgresBindings(capacity: rows.count * columns.count)
        var tuples: [String] = []
        tuples.reserveCapacity(rows.count)
        var next = 1
        for row in rows {
            var placeholders: [String] = []
            for (column, value) in zip(columns, row) {
                try Self.bind(value, as: column, of: table, to: &bindings)
                placeholders.append("$\(next)")
                next += 1
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
        }
        let list = columns.map(\.name).joined(separator: ", ")
        let query = PostgresQuery(unsafeSQL: "INSERT INTO \(table) (\(list)) VALUES \(tuples.joined(separator: ", "))", binds: bindings)
        do {
            let future: EventLoopFuture<PostgresQueryResult> = transaction.connection.query(query, logger: transaction.logger)
            _ = try await future.get()
        } catch {
            throw StorageError.translatingPostgres(error)
        }
    }

    func update(_ table: String, column: String, values: [(id: String, value: String)]) async throws {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(values.map(\.id))
        bindings.append(values.map(\.value))
        let query = PostgresQuery(
            unsafeSQL: """
                UPDATE \(table) SET \(column) = pairs.value
                FROM (SELECT unnest($1::text[]) AS id, unnest($2::text[]) AS value) AS pairs WHERE \(table).id = pairs.id
                """, binds: bindings)
        do {
            let future: EventLoopFuture<PostgresQueryResult> = transaction.connection.query(query, logger: transaction.logger)
            _ = try await future.get()
        } catch {
            throw StorageError.translatingPostgres(error)
        }
    }

    private static func bind(_ value: StoredValue, as column: CopiedColumn, of table: String, to bindings: inout PostgresBindings) throws {
        switch (value, column.kind) {
        case (.null, _): bindings.appendNull()
        case (.integer(let integer), .integer): bindings.append(integer)
        case (.integer(let integer), .boolean): bindings.append(integer != 0)
        case (.text(let text), .text): bindings.append(text)
        default: throw StorageError.unavailable("\(table).\(column.name): the source holds a value of another type (\(value))")
        }
    }
}
