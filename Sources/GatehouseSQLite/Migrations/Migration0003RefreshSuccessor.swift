/// `0003_compat_refresh_successor`: each used compat refresh token records the token that replaced
/// it, so a refresh token presented again can be told apart: the direct predecessor of a live,
/// unused token is a client retrying a refresh whose answer it lost; anything else is a replay that
/// ends the session (RFC 9700 §4.14.2).
enum Migration0003RefreshSuccessor {
    static let sql = """
        ALTER TABLE compat_refresh_tokens ADD COLUMN next_refresh_token_id TEXT REFERENCES compat_refresh_tokens (id);
        """

    static let migration = SchemaMigration(identifier: "0003_compat_refresh_successor", sql: sql)
}
