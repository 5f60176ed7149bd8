/// `0005_oauth2_sessions` for PostgreSQL: the schema of the SQLite migration of the same name (see its doc
/// comment for the tables' meaning), in PostgreSQL's types (conventions: `Migration0001Initial`).
enum Migration0005OAuth2Sessions {
    static let sql = """
        CREATE TABLE browser_sessions (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
            created_at BIGINT NOT NULL,
            authenticated_at BIGINT NOT NULL,
            finished_at BIGINT,
            user_agent TEXT COLLATE "C"
        );
        CREATE INDEX browser_sessions_user_id ON browser_sessions (user_id, created_at);

        CREATE TABLE oauth2_sessions (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            client_id TEXT COLLATE "C" NOT NULL,
            -- NULL for client_credentials sessions, which act for no user and own no device.
            user_id TEXT COLLATE "C" REFERENCES users (id),
            scope TEXT COLLATE "C" NOT NULL,
            device_id TEXT COLLATE "C",
            browser_session_id TEXT COLLATE "C" REFERENCES browser_sessions (id),
            created_at BIGINT NOT NULL,
            finished_at BIGINT,
            last_active_at BIGINT,
            CHECK (user_id IS NOT NULL OR device_id IS NULL)
        );
        CREATE INDEX oauth2_sessions_user_id ON oauth2_sessions (user_id, created_at);
        -- A device has at most one unfinished OAuth 2.0 session.
        CREATE UNIQUE INDEX oauth2_sessions_active_device ON oauth2_sessions (user_id, device_id)
            WHERE finished_at IS NULL AND device_id IS NOT NULL;

        CREATE TABLE oauth2_access_tokens (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            session_id TEXT COLLATE "C" NOT NULL REFERENCES oauth2_sessions (id),
            token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            revoked_at BIGINT,
            first_used_at BIGINT
        );
        CREATE INDEX oauth2_access_tokens_session_id ON oauth2_access_tokens (session_id);

        CREATE TABLE oauth2_refresh_tokens (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            session_id TEXT COLLATE "C" NOT NULL REFERENCES oauth2_sessions (id),
            access_token_id TEXT COLLATE "C" NOT NULL REFERENCES oauth2_access_tokens (id),
            token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            consumed_at BIGINT,
            revoked_at BIGINT,
            next_refresh_token_id TEXT COLLATE "C" REFERENCES oauth2_refresh_tokens (id),
            CHECK (next_refresh_token_id IS NULL OR consumed_at IS NOT NULL)
        );
        CREATE INDEX oauth2_refresh_tokens_session_id ON oauth2_refresh_tokens (session_id);

        -- pending: fulfilled_at and cancelled_at NULL; fulfilled: fulfilled_at, user, browser session and
        -- code hash set; exchanged: also exchanged_at (and session_id once the session exists);
        -- cancelled: the user declined (cancelled_at without fulfilled_at), or a replay of the code
        -- marked an exchanged grant (cancelled_at with exchanged_at) so no session may attach to it.
        CREATE TABLE oauth2_authorization_grants (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            client_id TEXT COLLATE "C" NOT NULL,
            redirect_uri TEXT COLLATE "C" NOT NULL,
            scope TEXT COLLATE "C" NOT NULL,
            state TEXT COLLATE "C",
            nonce TEXT COLLATE "C",
            code_challenge TEXT COLLATE "C" NOT NULL,
            response_mode TEXT COLLATE "C" NOT NULL CHECK (response_mode IN ('query', 'fragment', 'form_post')),
            login_hint TEXT COLLATE "C",
            created_at BIGINT NOT NULL,
            user_id TEXT COLLATE "C" REFERENCES users (id),
            browser_session_id TEXT COLLATE "C" REFERENCES browser_sessions (id),
            fulfilled_at BIGINT,
            code_hash TEXT COLLATE "C" UNIQUE,
            exchanged_at BIGINT,
            session_id TEXT COLLATE "C" REFERENCES oauth2_sessions (id),
            cancelled_at BIGINT,
            CHECK ((fulfilled_at IS NULL) = (code_hash IS NULL)),
            CHECK ((fulfilled_at IS NULL) = (user_id IS NULL)),
            CHECK ((fulfilled_at IS NULL) = (browser_session_id IS NULL)),
            CHECK (exchanged_at IS NULL OR fulfilled_at IS NOT NULL),
            CHECK (session_id IS NULL OR exchanged_at IS NOT NULL),
            CHECK (cancelled_at IS NULL OR fulfilled_at IS NULL OR exchanged_at IS NOT NULL)
        );

        CREATE TABLE oauth2_device_code_grants (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            client_id TEXT COLLATE "C" NOT NULL,
            scope TEXT COLLATE "C" NOT NULL,
            device_code_hash TEXT COLLATE "C" NOT NULL UNIQUE,
            user_code TEXT COLLATE "C" NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL,
            status TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'exchanged')),
            user_id TEXT COLLATE "C" REFERENCES users (id),
            browser_session_id TEXT COLLATE "C" REFERENCES browser_sessions (id),
            decided_at BIGINT,
            last_polled_at BIGINT,
            exchanged_at BIGINT,
            session_id TEXT COLLATE "C" REFERENCES oauth2_sessions (id),
            CHECK ((status = 'pending') = (decided_at IS NULL)),
            CHECK ((status = 'pending') = (user_id IS NULL)),
            CHECK ((status = 'exchanged') = (exchanged_at IS NOT NULL)),
            CHECK (session_id IS NULL OR status = 'exchanged')
        );
        -- The code a user types names one pending grant.
        CREATE UNIQUE INDEX oauth2_device_code_grants_pending_user_code ON oauth2_device_code_grants (user_code)
            WHERE status = 'pending';

        CREATE TABLE compat_sso_logins (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            redirect_url TEXT COLLATE "C" NOT NULL,
            created_at BIGINT NOT NULL,
            fulfilled_at BIGINT,
            user_id TEXT COLLATE "C" REFERENCES users (id),
            login_token_id TEXT COLLATE "C" REFERENCES compat_login_tokens (id),
            CHECK ((fulfilled_at IS NULL) = (user_id IS NULL)),
            CHECK ((fulfilled_at IS NULL) = (login_token_id IS NULL))
        );
        """

    static let migration = SchemaMigration(identifier: "0005_oauth2_sessions", sql: sql)
}
