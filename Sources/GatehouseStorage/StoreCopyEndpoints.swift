/// A column value as both backends store it: every column of the schema is text, an integer
/// (timestamps in milliseconds, counters) or a boolean, which travels as the integer 0 or 1 (SQLite's
/// representation) and is converted by the PostgreSQL side, which knows its column types.
public enum StoredValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
}

/// A column to copy: its name and what it holds.
public struct CopiedColumn: Sendable, Hashable {
    /// How a column's values are stored.
    public enum Kind: Sendable, Hashable {
        case integer
        case text
        /// `BOOLEAN` on PostgreSQL, `INTEGER` 0/1 on SQLite.
        case boolean
    }

    public let name: String
    public let kind: Kind

    /// - Parameters:
    ///   - name: the column name.
    ///   - kind: what it holds.
    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

/// One page of a source table, in insertion order.
public struct SourcePage: Sendable {
    /// The rows, each with one value per requested column.
    public let rows: [[StoredValue]]
    /// Where the next page starts (pass it as `after`); `nil` when the page is empty.
    public let lastPosition: Int64?

    public init(rows: [[StoredValue]], lastPosition: Int64?) {
        self.rows = rows
        self.lastPosition = lastPosition
    }
}

/// The store `gatehouse database copy` reads: one consistent snapshot of every table.
public protocol StoreCopySource: Sendable {
    /// The store's tables, without the migration history and the revision counter.
    func tables() async throws -> [String]
    /// The column names of `table`.
    func columnNames(of table: String) async throws -> [String]
    /// How many rows `table` has.
    func count(of table: String) async throws -> Int
    /// Up to `limit` rows of `table` after `position` (from the start when `nil`), in insertion order.
    func rows(of table: String, columns: [CopiedColumn], after position: Int64?, limit: Int) async throws -> SourcePage
}

/// The store `gatehouse database copy` writes.
public protocol StoreCopyTarget: Sendable {
    /// Runs `body` in one transaction that excludes every other writer of the store; commits when
    /// `body` returns `true`, rolls back when it returns `false` or throws.
    func copyTransaction(_ body: (any StoreCopyTransaction) async throws -> Bool) async throws
}

/// The statements of a copy, inside the target's transaction.
public protocol StoreCopyTransaction: Sendable {
    /// The target's tables, without the migration history and the revision counter.
    func tables() async throws -> [String]
    /// The columns of `table` that a copy writes (not the ones the database generates).
    func columns(of table: String) async throws -> [CopiedColumn]
    /// How many rows `table` has.
    func count(of table: String) async throws -> Int
    /// The rows of `table` whose `id` is among `ids`, by id, with the values of `columns`.
    func rows(of table: String, columns: [CopiedColumn], ids: [String]) async throws -> [String: [StoredValue]]
    /// Inserts `rows` (one value per column of `columns`) in order.
    func insert(into table: String, columns: [CopiedColumn], rows: [[StoredValue]]) async throws
    /// Sets the text column `column` of the rows named by id.
    func update(_ table: String, column: String, values: [(id: String, value: String)]) async throws
}
