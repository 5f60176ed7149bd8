/// Column lists of the tables, in model order (the SQLite store's lists, whose schema is the same).
///
/// Joins select every table's columns under an alias prefix (`u_id`, `s_id`, …) so that one row can
/// carry a token, its session and its user without name clashes; single-table queries use the empty
/// prefix.
enum Columns {
    static let user = ["id", "username", "created_at", "locked_at", "deactivated_at", "is_admin"]
    static let password = ["id", "user_id", "version", "hashed_password", "created_at"]
    static let compatSession = [
        "id", "user_id", "device_id", "display_name", "is_synapse_admin", "created_at", "finished_at", "last_active_at", "last_active_ip",
    ]
    static let compatAccessToken = ["id", "session_id", "token_hash", "created_at", "expires_at", "revoked_at"]
    static let compatRefreshToken = [
        "id", "session_id", "access_token_id", "token_hash", "created_at", "consumed_at", "revoked_at", "next_refresh_token_id",
    ]
    static let compatLoginToken = ["id", "user_id", "token_hash", "created_at", "expires_at", "consumed_at"]
    static let job = ["id", "kind", "payload", "attempts", "run_at", "lease_until", "last_error", "created_at", "completed_at"]
    static let browserSession = [
        "id", "user_id", "created_at", "authenticated_at", "finished_at", "user_agent", "last_active_at", "last_active_ip",
    ]
    static let authorizationGrant = [
        "id", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "response_mode", "login_hint", "created_at",
        "user_id", "browser_session_id", "fulfilled_at", "code_hash", "exchanged_at", "session_id", "cancelled_at",
    ]
    static let deviceCodeGrant = [
        "id", "client_id", "scope", "device_code_hash", "user_code", "created_at", "expires_at", "status", "user_id",
        "browser_session_id", "decided_at", "last_polled_at", "exchanged_at", "session_id",
    ]
    static let oauth2Session = [
        "id", "client_id", "user_id", "scope", "device_id", "browser_session_id", "created_at", "finished_at", "last_active_at",
        "last_active_ip", "human_name",
    ]
    static let oauth2AccessToken = ["id", "session_id", "token_hash", "created_at", "expires_at", "revoked_at", "first_used_at"]
    static let oauth2RefreshToken = [
        "id", "session_id", "access_token_id", "token_hash", "created_at", "consumed_at", "revoked_at", "next_refresh_token_id",
    ]
    static let compatSSOLogin = ["id", "redirect_url", "created_at", "fulfilled_at", "user_id", "login_token_id"]

    /// `alias.column AS alias_column, …`.
    /// - Parameters:
    ///   - columns: one of the lists above.
    ///   - alias: the table alias in the query, also used as the prefix.
    static func select(_ columns: [String], as alias: String) -> String {
        columns.map { "\(alias).\($0) AS \(alias)_\($0)" }.joined(separator: ", ")
    }

    /// `column, …` for single-table queries.
    /// - Parameter columns: one of the lists above.
    static func select(_ columns: [String]) -> String {
        columns.joined(separator: ", ")
    }

    /// `?, ?, …` for an INSERT of `columns`.
    /// - Parameter columns: one of the lists.
    static func placeholders(_ columns: [String]) -> String {
        Array(repeating: "?", count: columns.count).joined(separator: ", ")
    }

    /// `INSERT INTO table (columns) VALUES (?, …)`.
    /// - Parameters:
    ///   - table: the table.
    ///   - columns: its columns.
    static func insert(into table: String, _ columns: [String]) -> String {
        "INSERT INTO \(table) (\(select(columns))) VALUES (\(placeholders(columns)))"
    }
}
