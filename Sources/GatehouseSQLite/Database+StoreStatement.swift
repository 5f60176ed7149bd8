import GRDB
import GatehouseStorage

extension Database {
    /// Runs a shared statement and returns how many rows it changed; throws its conflict when it
    /// changed another number than it requires (``StoreStatement/requirement``).
    @discardableResult
    func run(_ statement: StoreStatement) throws -> Int {
        try execute(sql: statement.sql, arguments: statement.sqliteArguments)
        let changed = changesCount
        if let violation = statement.violation(changed: changed) { throw violation }
        return changed
    }

    /// Runs shared statements in order.
    func run(_ statements: [StoreStatement]) throws {
        for statement in statements { try run(statement) }
    }
}

extension StoreStatement {
    /// The arguments bound by GRDB.
    var sqliteArguments: StatementArguments {
        StatementArguments(arguments.map { argument -> (any DatabaseValueConvertible)? in
            switch argument {
            case .integer(let value): value
            case .text(let value): value
            }
        })
    }
}
