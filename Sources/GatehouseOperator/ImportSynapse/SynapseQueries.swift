/// The SELECTs an import runs, per engine; the column order is what the readers decode.
///
/// Booleans are 0/1 integers in Synapse's SQLite files and in its older PostgreSQL columns
/// (`admin`, `is_guest`, `deactivated` are SMALLINT there, while `locked`, `hidden` and `used` are
/// BOOLEAN): the PostgreSQL queries turn each into a BIGINT so both readers decode the same shapes.
enum SynapseQueries {
    static func schemaVersion(postgres: Bool) -> String {
        "SELECT \(integer("version", postgres)) FROM schema_version"
    }

    static func users(postgres: Bool) -> String {
        """
        SELECT name, password_hash, \(integer("COALESCE(admin, 0)", postgres)), \(integer("COALESCE(deactivated, 0)", postgres)),
            \(flag("locked", postgres)), \(integer("COALESCE(is_guest, 0)", postgres)), appservice_id, creation_ts
        FROM users ORDER BY name
        """
    }

    static let threepids = "SELECT user_id, medium, address, added_at FROM user_threepids ORDER BY user_id, address"

    static func devices(postgres: Bool) -> String {
        "SELECT user_id, device_id, display_name, last_seen, \(flag("hidden", postgres)) FROM devices ORDER BY user_id, device_id"
    }

    static func accessTokens(postgres: Bool) -> String {
        """
        SELECT id, user_id, device_id, token, valid_until_ms, puppets_user_id, refresh_token_id, \(flag("used", postgres))
        FROM access_tokens ORDER BY id
        """
    }

    static let refreshTokens = "SELECT id, user_id, device_id, token, next_token_id FROM refresh_tokens ORDER BY id"

    /// Exact row counts, for progress (SQLite).
    static func count(_ table: SynapseTable) -> String { "SELECT COUNT(*) FROM \(table.rawValue)" }

    /// The planner's row estimate, free on a large database (PostgreSQL; -1 before the first ANALYZE).
    static func estimate(_ table: SynapseTable) -> String {
        "SELECT reltuples::bigint FROM pg_class WHERE oid = 'public.\(table.rawValue)'::regclass"
    }

    /// Other client sessions connected to the same database: Synapse keeps a pool of them while it
    /// runs (autovacuum workers and other server processes do not count).
    static let otherConnections = """
        SELECT COUNT(*)::bigint FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        """

    /// Keeps Synapse from writing the tables while they are read (a running Synapse holding a write
    /// makes this fail at once instead of waiting).
    static let lockTables = """
        LOCK TABLE users, user_threepids, devices, access_tokens, refresh_tokens IN SHARE MODE NOWAIT
        """

    private static func integer(_ expression: String, _ postgres: Bool) -> String {
        postgres ? "(\(expression))::bigint" : expression
    }

    private static func flag(_ column: String, _ postgres: Bool) -> String {
        postgres ? "(CASE WHEN \(column) THEN 1 ELSE 0 END)::bigint" : "COALESCE(\(column), 0)"
    }
}
