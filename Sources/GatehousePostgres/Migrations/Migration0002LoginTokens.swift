/// `0002_compat_login_tokens` for PostgreSQL: the schema of the SQLite migration of the same name (see its doc
/// comment for the tables' meaning), in PostgreSQL's types (conventions: `Migration0001Initial`).
enum Migration0002LoginTokens {
    static let sql = """
        CREATE TABLE compat_login_tokens (
            id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
            user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id),
            token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            consumed_at BIGINT
        );
        CREATE INDEX compat_login_tokens_user ON compat_login_tokens(user_id);
        """

    static let migration = SchemaMigration(identifier: "0002_compat_login_tokens", sql: sql)
}
