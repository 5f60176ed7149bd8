/// `0006_retention_indexes` for PostgreSQL: the schema of the SQLite migration of the same name (see its doc
/// comment for the tables' meaning), in PostgreSQL's types (conventions: `Migration0001Initial`).
enum Migration0006RetentionIndexes {
    static let sql = """
        CREATE INDEX compat_sessions_finished_at ON compat_sessions (finished_at) WHERE finished_at IS NOT NULL;
        CREATE INDEX compat_access_tokens_revoked_at ON compat_access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
        CREATE INDEX compat_access_tokens_expires_at ON compat_access_tokens (expires_at) WHERE expires_at IS NOT NULL;
        CREATE INDEX compat_refresh_tokens_revoked_at ON compat_refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
        CREATE INDEX compat_refresh_tokens_consumed_at ON compat_refresh_tokens (consumed_at) WHERE consumed_at IS NOT NULL;
        CREATE INDEX compat_refresh_tokens_next ON compat_refresh_tokens (next_refresh_token_id)
            WHERE next_refresh_token_id IS NOT NULL;
        CREATE INDEX compat_login_tokens_created_at ON compat_login_tokens (created_at);

        CREATE INDEX oauth2_sessions_finished_at ON oauth2_sessions (finished_at) WHERE finished_at IS NOT NULL;
        CREATE INDEX oauth2_sessions_browser_session_id ON oauth2_sessions (browser_session_id)
            WHERE browser_session_id IS NOT NULL;
        CREATE INDEX oauth2_access_tokens_revoked_at ON oauth2_access_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
        CREATE INDEX oauth2_access_tokens_expires_at ON oauth2_access_tokens (expires_at);
        CREATE INDEX oauth2_refresh_tokens_access_token_id ON oauth2_refresh_tokens (access_token_id);
        CREATE INDEX oauth2_refresh_tokens_revoked_at ON oauth2_refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
        CREATE INDEX oauth2_refresh_tokens_consumed_at ON oauth2_refresh_tokens (consumed_at) WHERE consumed_at IS NOT NULL;
        CREATE INDEX oauth2_refresh_tokens_next ON oauth2_refresh_tokens (next_refresh_token_id)
            WHERE next_refresh_token_id IS NOT NULL;

        CREATE INDEX oauth2_authorization_grants_created_at ON oauth2_authorization_grants (created_at);
        CREATE INDEX oauth2_authorization_grants_session_id ON oauth2_authorization_grants (session_id) WHERE session_id IS NOT NULL;
        CREATE INDEX oauth2_authorization_grants_browser_session_id ON oauth2_authorization_grants (browser_session_id)
            WHERE browser_session_id IS NOT NULL;
        CREATE INDEX oauth2_device_code_grants_created_at ON oauth2_device_code_grants (created_at);
        CREATE INDEX oauth2_device_code_grants_session_id ON oauth2_device_code_grants (session_id) WHERE session_id IS NOT NULL;
        CREATE INDEX oauth2_device_code_grants_browser_session_id ON oauth2_device_code_grants (browser_session_id)
            WHERE browser_session_id IS NOT NULL;
        CREATE INDEX compat_sso_logins_created_at ON compat_sso_logins (created_at);
        CREATE INDEX compat_sso_logins_login_token_id ON compat_sso_logins (login_token_id) WHERE login_token_id IS NOT NULL;

        CREATE INDEX browser_sessions_finished_at ON browser_sessions (finished_at) WHERE finished_at IS NOT NULL;
        CREATE INDEX jobs_completed_at ON jobs (completed_at) WHERE completed_at IS NOT NULL;
        """

    static let migration = SchemaMigration(identifier: "0006_retention_indexes", sql: sql)
}
