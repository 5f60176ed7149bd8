import GatehouseStorage

extension PostgresTransaction {
    /// Runs a shared statement and returns how many rows it changed; throws its conflict when it
    /// changed another number than it requires (``StoreStatement/requirement``).
    @discardableResult
    func run(_ statement: StoreStatement) async throws -> Int {
        let changed = try await execute(statement.sql, statement.postgresArguments)
        if let violation = statement.violation(changed: changed) { throw violation }
        return changed
    }

    /// Runs shared statements in order.
    func run(_ statements: [StoreStatement]) async throws {
        for statement in statements { try await run(statement) }
    }
}

extension StoreStatement {
    /// The arguments as PostgresNIO binds them.
    var postgresArguments: [any SQLArgument] {
        arguments.map { argument -> any SQLArgument in
            switch argument {
            case .integer(let value): value
            case .text(let value): value
            }
        }
    }
}
