/// `gatehouse database copy`: moves every row of one store into another (a SQLite deployment into
/// PostgreSQL), table by table in dependency order, without converting anything — both schemas store
/// the same values (text, integer milliseconds, booleans as 0/1 on SQLite).
///
/// The whole copy is one transaction of the target, for three reasons: a copy that fails half-way
/// (a conflict in the twelfth table, a lost connection) leaves the target as it was, so it can simply
/// be run again; the first statement takes the store's write lock, so a Gatehouse instance already
/// running on the target cannot interleave its writes; and a run that finds nothing new rolls back,
/// so it changes nothing, not even the store revision. PostgreSQL handles a transaction of millions
/// of rows without trouble; the source is read in pages from one snapshot.
///
/// Idempotent: a row already in the target with the same values is left alone, so a second run
/// reports nothing new. A target row with the same id and other values, a row that clashes with
/// another unique key, or rows the source does not have (another deployment's data, or sessions made
/// after an earlier copy) are a conflict: the copy refuses rather than merging two stores.
public struct StoreCopy: Sendable {
    /// One table of the plan.
    public struct Table: Sendable {
        public let name: String
        /// A column that names another row of the same table (a refresh token's successor): set
        /// after the table's rows are in, since the successor may come later in insertion order.
        public let selfReference: String?

        init(_ name: String, selfReference: String? = nil) {
            self.name = name
            self.selfReference = selfReference
        }
    }

    /// Every table of the schema (the migration history and the revision counter excepted: each
    /// store has its own), each after the tables it references. A migration that adds a table must
    /// add it here; a copy refuses a schema with a table this list lacks.
    public static let tables: [Table] = [
        Table("users"),
        Table("user_passwords"),
        Table("user_emails"),
        Table("browser_sessions"),
        Table("oauth2_clients"),
        Table("oauth2_sessions"),
        Table("oauth2_access_tokens"),
        Table("oauth2_refresh_tokens", selfReference: "next_refresh_token_id"),
        Table("oauth2_authorization_grants"),
        Table("oauth2_device_code_grants"),
        Table("compat_sessions"),
        Table("compat_access_tokens"),
        Table("compat_refresh_tokens", selfReference: "next_refresh_token_id"),
        Table("compat_login_tokens"),
        Table("compat_sso_logins"),
        Table("jobs"),
    ]

    /// What a running copy reports, for the CLI's progress lines.
    public enum Progress: Sendable {
        /// A table is about to be copied; the source has `rows` rows.
        case started(table: String, rows: Int)
        /// `done` of the table's rows have been compared or copied.
        case advanced(table: String, done: Int, rows: Int)
        /// A table is done.
        case finished(StoreCopyReport.Table)
    }

    private let source: any StoreCopySource
    private let target: any StoreCopyTarget
    private let batchSize: Int
    private let progress: @Sendable (Progress) -> Void

    /// - Parameters:
    ///   - source: the store to read.
    ///   - target: the store to write, already migrated to the same schema.
    ///   - batchSize: rows read, compared and inserted at a time.
    ///   - progress: called as tables start, advance and finish.
    public init(
        source: any StoreCopySource, target: any StoreCopyTarget, batchSize: Int = 500, progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) {
        self.source = source
        self.target = target
        self.batchSize = max(1, batchSize)
        self.progress = progress
    }

    /// Copies every table.
    /// - Returns: the count per table; ``StoreCopyReport/copiedAnything`` is `false` when the target
    ///   already held every row (and was not changed).
    /// - Throws: ``StoreCopyError`` for a conflict or a schema difference (the target is unchanged), or
    ///   the backends' errors.
    public func run() async throws -> StoreCopyReport {
        var tables: [StoreCopyReport.Table] = []
        try await target.copyTransaction { transaction in
            try await checkSchemas(transaction)
            for table in Self.tables {
                tables.append(try await copy(table, transaction))
            }
            return tables.contains { $0.copied > 0 }
        }
        return StoreCopyReport(tables: tables)
    }

    private func checkSchemas(_ transaction: any StoreCopyTransaction) async throws {
        let planned = Set(Self.tables.map(\.name))
        for (side, tables) in [("source", try await source.tables()), ("target", try await transaction.tables())] {
            let unknown = Set(tables).subtracting(planned)
            let missing = planned.subtracting(tables)
            if !unknown.isEmpty || !missing.isEmpty {
                throw StoreCopyError.schemaMismatch(
                    "the \(side) store's tables differ from this build's schema (unknown: \(unknown.sorted().joined(separator: ", ")); "
                        + "missing: \(missing.sorted().joined(separator: ", ")))")
            }
        }
    }

    private func copy(_ table: Table, _ transaction: any StoreCopyTransaction) async throws -> StoreCopyReport.Table {
        let columns = try await transaction.columns(of: table.name)
        let sourceColumns = try await source.columnNames(of: table.name)
        guard Set(columns.map(\.name)) == Set(sourceColumns), columns.allSatisfy({ Self.isPlainName($0.name) }) else {
            throw StoreCopyError.schemaMismatch(
                "\(table.name): the source has columns \(sourceColumns.sorted().joined(separator: ", ")), the target "
                    + columns.map(\.name).sorted().joined(separator: ", "))
        }
        guard let idIndex = columns.firstIndex(where: { $0.name == "id" }) else {
            throw StoreCopyError.schemaMismatch("\(table.name) has no id column")
        }
        let selfReferenceIndex = table.selfReference.flatMap { name in columns.firstIndex { $0.name == name } }

        let rows = try await source.count(of: table.name)
        let targetRowsBefore = try await transaction.count(of: table.name)
        progress(.started(table: table.name, rows: rows))
        var copied = 0
        var alreadyPresent = 0
        var successors: [(id: String, value: String)] = []
        var position: Int64?
        while true {
            let page = try await source.rows(of: table.name, columns: columns, after: position, limit: batchSize)
            guard let last = page.lastPosition, !page.rows.isEmpty else { break }
            position = last
            let ids = try page.rows.map { row in
                guard case .text(let id) = row[idIndex] else { throw StoreCopyError.schemaMismatch("\(table.name) has a row without a text id") }
                return id
            }
            let existing = try await transaction.rows(of: table.name, columns: columns, ids: ids)
            var fresh: [[StoredValue]] = []
            for (id, row) in zip(ids, page.rows) {
                if let present = existing[id] {
                    guard present == row else {
                        let differing = zip(columns, zip(present, row)).filter { $1.0 != $1.1 }.map(\.0.name)
                        throw StoreCopyError.conflict(
                            "\(table.name): the target's row \(id) differs from the source's (\(differing.joined(separator: ", "))); "
                                + "it was changed after an earlier copy or belongs to another deployment")
                    }
                    alreadyPresent += 1
                    continue
                }
                var row = row
                if let index = selfReferenceIndex, case .text(let successor) = row[index] {
                    successors.append((id, successor))
                    row[index] = .null
                }
                fresh.append(row)
            }
            if !fresh.isEmpty {
                do {
                    try await transaction.insert(into: table.name, columns: columns, rows: fresh)
                } catch let error as StorageError where error.isConflict {
                    throw StoreCopyError.conflict(
                        "\(table.name): the target already has a different row with a key of a copied row (\(error.message)); "
                            + "it holds another deployment's data")
                }
            }
            copied += fresh.count
            progress(.advanced(table: table.name, done: copied + alreadyPresent, rows: rows))
        }
        if let column = table.selfReference, !successors.isEmpty {
            try await transaction.update(table.name, column: column, values: successors)
        }
        if targetRowsBefore != alreadyPresent {
            throw StoreCopyError.conflict(
                "\(table.name): the target has \(targetRowsBefore - alreadyPresent) row(s) the source does not have; it was used after "
                    + "an earlier copy or belongs to another deployment")
        }
        let report = StoreCopyReport.Table(name: table.name, sourceRows: copied + alreadyPresent, copied: copied, alreadyPresent: alreadyPresent)
        progress(.finished(report))
        return report
    }

    /// Column names are spliced into statements (they cannot be bound); they come from the schema,
    /// and this makes sure of it.
    private static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || $0 == UInt8(ascii: "_") || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) }
    }
}
