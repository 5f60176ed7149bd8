/// A write statement written once for both stores, in the SQL SQLite and PostgreSQL both read: `?`
/// (or `?N`) placeholders, one ``Argument`` per placeholder, never a value spliced into the text.
/// Each store runs it with its own driver (`Database.run` in GatehouseSQLite,
/// `PostgresTransaction.run` in GatehousePostgres).
public struct StoreStatement: Sendable {
    /// A value bound to a placeholder.
    public enum Argument: Sendable, Equatable {
        case integer(Int64)
        case text(String)
    }

    /// What the statement must have changed for the transaction to go on.
    public struct Requirement: Sendable {
        /// The number of rows.
        public var rows: Int
        /// The ``StorageError/conflict(_:)`` message when it changed another number: the transaction
        /// rolls back.
        public var conflict: String
    }

    public var sql: String
    public var arguments: [Argument]
    /// `nil`: any number of changed rows is fine.
    public var requirement: Requirement?

    /// - Parameters:
    ///   - sql: the statement text (from code only).
    ///   - arguments: one value per placeholder.
    ///   - requiring: with `conflict`, the exact number of rows the statement must change.
    ///   - conflict: the conflict message when it does not.
    public init(_ sql: String, _ arguments: [Argument], requiring rows: Int? = nil, conflict: String = "") {
        self.sql = sql
        self.arguments = arguments
        self.requirement = rows.map { Requirement(rows: $0, conflict: conflict) }
    }

    /// The error a store throws when the statement changed `changed` rows against its requirement.
    /// - Parameter changed: the rows the statement changed.
    public func violation(changed: Int) -> StorageError? {
        guard let requirement, requirement.rows != changed else { return nil }
        return .conflict(requirement.conflict)
    }
}
