/// `0002_compat_login_tokens`: single-use `m.login.token` tokens.
enum Migration0002LoginTokens {
    static let sql = """
        CREATE TABLE compat_login_tokens (
            id TEXT PRIMARY KEY NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            consumed_at INTEGER
        );
        CREATE INDEX compat_login_tokens_user ON compat_login_tokens(user_id);
        """

    static let migration = SchemaMigration(identifier: "0002_compat_login_tokens", sql: sql)
}
