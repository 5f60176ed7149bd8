/// `0003_compat_refresh_successor` for PostgreSQL: the schema of the SQLite migration of the same name (see its doc
/// comment for the tables' meaning), in PostgreSQL's types (conventions: `Migration0001Initial`).
enum Migration0003RefreshSuccessor {
    static let sql = """
        ALTER TABLE compat_refresh_tokens ADD COLUMN next_refresh_token_id TEXT COLLATE "C" REFERENCES compat_refresh_tokens (id);
        """

    static let migration = SchemaMigration(identifier: "0003_compat_refresh_successor", sql: sql)
}
