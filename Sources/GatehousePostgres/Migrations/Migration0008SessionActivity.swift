/// `0008_session_activity` for PostgreSQL: the schema of the SQLite migration of the same name (see its doc
/// comment for the tables' meaning), in PostgreSQL's types (conventions: `Migration0001Initial`).
enum Migration0008SessionActivity {
    static let sql = """
        ALTER TABLE compat_sessions ADD COLUMN last_active_ip TEXT COLLATE "C";
        ALTER TABLE oauth2_sessions ADD COLUMN last_active_ip TEXT COLLATE "C";
        ALTER TABLE oauth2_sessions ADD COLUMN human_name TEXT COLLATE "C";
        ALTER TABLE browser_sessions ADD COLUMN last_active_at BIGINT;
        ALTER TABLE browser_sessions ADD COLUMN last_active_ip TEXT COLLATE "C";
        """

    static let migration = SchemaMigration(identifier: "0008_session_activity", sql: sql)
}
