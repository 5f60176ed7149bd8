import GatehouseStorage

/// ``AdminListingRepository`` on the users and session tables: one indexed range read per page, as on
/// SQLite (`id` is `COLLATE "C"`, so the cursor order is the SQLite order).
public struct PostgresAdminListingRepository: AdminListingRepository {
    private let database: PostgresDatabase

    init(database: PostgresDatabase) {
        self.database = database
    }

    /// A filter as SQL conditions and their arguments.
    private struct Conditions {
        var clauses: [String] = []
        var arguments: [any SQLArgument] = []

        mutating func add(_ clause: String, _ values: any SQLArgument...) {
            clauses.append(clause)
            arguments.append(contentsOf: values)
        }

        var whereClause: String { clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ") }
    }

    private static func conditions(_ filter: UserFilter) -> Conditions {
        var conditions = Conditions()
        if let admin = filter.admin { conditions.add("is_admin = ?", admin) }
        switch filter.status {
        case .active: conditions.add("locked_at IS NULL AND deactivated_at IS NULL")
        case .locked: conditions.add("locked_at IS NOT NULL AND deactivated_at IS NULL")
        case .deactivated: conditions.add("deactivated_at IS NOT NULL")
        case nil: break
        }
        if let search = filter.search {
            // ASCII case folding as SQLite's LIKE (`lower()` under COLLATE "C"); the escape keeps `%`
            // and `_` in the search text literal.
            let escaped = search.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            conditions.add("lower(username) LIKE lower(CAST(? AS TEXT) COLLATE \"C\") ESCAPE '\\'", "%\(escaped)%")
        }
        return conditions
    }

    private static func conditions(_ filter: SessionFilter, hasClient: Bool) -> Conditions {
        var conditions = Conditions()
        if let userId = filter.userId { conditions.add("user_id = ?", userId) }
        if hasClient, let clientId = filter.clientId { conditions.add("client_id = ?", clientId) }
        switch filter.status {
        case .active: conditions.add("finished_at IS NULL")
        case .finished: conditions.add("finished_at IS NOT NULL")
        case nil: break
        }
        return conditions
    }

    private func page<Item: Sendable>(
        table: String, columns: [String], _ conditions: Conditions, _ request: Pagination, decode: @escaping @Sendable (SQLRow) throws -> Item
    ) async throws -> Page<Item> {
        var conditions = conditions
        if let after = request.after { conditions.add("id > ?", after) }
        if let before = request.before { conditions.add("id < ?", before) }
        let order = request.direction == .forward ? "ASC" : "DESC"
        let sql = "SELECT \(Columns.select(columns)) FROM \(table)\(conditions.whereClause) ORDER BY id \(order) LIMIT ?"
        let arguments = conditions.arguments + [request.count + 1]
        let rows = try await database.query { db in try await db.fetchAll(sql, arguments).map(decode) }
        return Page(reading: rows, for: request)
    }

    private func count(table: String, _ conditions: Conditions) async throws -> Int {
        let sql = "SELECT COUNT(*) FROM \(table)\(conditions.whereClause)"
        let arguments = conditions.arguments
        return try await database.query { db in Int(try await db.scalar(sql, arguments) ?? 0) }
    }

    public func users(_ filter: UserFilter, page request: Pagination) async throws -> Page<User> {
        try await page(table: "users", columns: Columns.user, Self.conditions(filter), request) { try $0.user() }
    }

    public func countUsers(_ filter: UserFilter) async throws -> Int {
        try await count(table: "users", Self.conditions(filter))
    }

    public func compatSessions(_ filter: SessionFilter, page request: Pagination) async throws -> Page<CompatSession> {
        try await page(table: "compat_sessions", columns: Columns.compatSession, Self.conditions(filter, hasClient: false), request) {
            try $0.compatSession()
        }
    }

    public func countCompatSessions(_ filter: SessionFilter) async throws -> Int {
        try await count(table: "compat_sessions", Self.conditions(filter, hasClient: false))
    }

    public func oauth2Sessions(_ filter: SessionFilter, page request: Pagination) async throws -> Page<OAuth2Session> {
        try await page(table: "oauth2_sessions", columns: Columns.oauth2Session, Self.conditions(filter, hasClient: true), request) {
            try $0.oauth2Session()
        }
    }

    public func countOAuth2Sessions(_ filter: SessionFilter) async throws -> Int {
        try await count(table: "oauth2_sessions", Self.conditions(filter, hasClient: true))
    }

    public func browserSessions(_ filter: SessionFilter, page request: Pagination) async throws -> Page<BrowserSession> {
        try await page(table: "browser_sessions", columns: Columns.browserSession, Self.conditions(filter, hasClient: false), request) {
            try $0.browserSession()
        }
    }

    public func countBrowserSessions(_ filter: SessionFilter) async throws -> Int {
        try await count(table: "browser_sessions", Self.conditions(filter, hasClient: false))
    }
}
