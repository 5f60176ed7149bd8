/// `0005_oauth2_sessions`: the OAuth 2.0 provider's state: browser sessions of the HTML pages,
/// authorization and device code grants, OAuth 2.0 sessions with their tokens, and legacy SSO
/// logins (MAS `user_sessions`, `oauth2_authorization_grants`, `oauth2_device_code_grant`,
/// `oauth2_sessions`, `oauth2_access_tokens`, `oauth2_refresh_tokens`, `compat_sso_logins`).
///
/// `client_id` columns do not reference `oauth2_clients`: a configured client is updated by
/// deleting and re-inserting its row (`syncConfigured`) and a removed client must not be blocked by
/// its old sessions; the token checks look the client up instead. Codes and tokens are stored only
/// as SHA-256 (lower-case hex), and their UNIQUE indexes are the lookup indexes. The CHECK
/// constraints spell out which combinations of timestamps a state allows, so a bug cannot store
/// e.g. an exchanged grant that was never fulfilled.
enum Migration0005OAuth2Sessions {
    static let sql = """
        CREATE TABLE browser_sessions (
            id TEXT NOT NULL PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id),
            created_at INTEGER NOT NULL,
            authenticated_at INTEGER NOT NULL,
            finished_at INTEGER,
            user_agent TEXT
        );
        CREATE INDEX browser_sessions_user_id ON browser_sessions (user_id, created_at);

        CREATE TABLE oauth2_sessions (
            id TEXT NOT NULL PRIMARY KEY,
            client_id TEXT NOT NULL,
            -- NULL for client_credentials sessions, which act for no user and own no device.
            user_id TEXT REFERENCES users (id),
            scope TEXT NOT NULL,
            device_id TEXT,
            browser_session_id TEXT REFERENCES browser_sessions (id),
            created_at INTEGER NOT NULL,
            finished_at INTEGER,
            last_active_at INTEGER,
            CHECK (user_id IS NOT NULL OR device_id IS NULL)
        );
        CREATE INDEX oauth2_sessions_user_id ON oauth2_sessions (user_id, created_at);
        -- A device has at most one unfinished OAuth 2.0 session.
        CREATE UNIQUE INDEX oauth2_sessions_active_device ON oauth2_sessions (user_id, device_id)
            WHERE finished_at IS NULL AND device_id IS NOT NULL;

        CREATE TABLE oauth2_access_tokens (
            id TEXT NOT NULL PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES oauth2_sessions (id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            revoked_at INTEGER,
            first_used_at INTEGER
        );
        CREATE INDEX oauth2_access_tokens_session_id ON oauth2_access_tokens (session_id);

        CREATE TABLE oauth2_refresh_tokens (
            id TEXT NOT NULL PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES oauth2_sessions (id),
            access_token_id TEXT NOT NULL REFERENCES oauth2_access_tokens (id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            consumed_at INTEGER,
            revoked_at INTEGER,
            next_refresh_token_id TEXT REFERENCES oauth2_refresh_tokens (id),
            CHECK (next_refresh_token_id IS NULL OR consumed_at IS NOT NULL)
        );
        CREATE INDEX oauth2_refresh_tokens_session_id ON oauth2_refresh_tokens (session_id);

        -- pending: fulfilled_at and cancelled_at NULL; fulfilled: fulfilled_at, user, browser session and
        -- code hash set; exchanged: also exchanged_at (and session_id once the session exists);
        -- cancelled: the user declined (cancelled_at without fulfilled_at), or a replay of the code
        -- marked an exchanged grant (cancelled_at with exchanged_at) so no session may attach to it.
        CREATE TABLE oauth2_authorization_grants (
            id TEXT NOT NULL PRIMARY KEY,
            client_id TEXT NOT NULL,
            redirect_uri TEXT NOT NULL,
            scope TEXT NOT NULL,
            state TEXT,
            nonce TEXT,
            code_challenge TEXT NOT NULL,
            response_mode TEXT NOT NULL CHECK (response_mode IN ('query', 'fragment', 'form_post')),
            login_hint TEXT,
            created_at INTEGER NOT NULL,
            user_id TEXT REFERENCES users (id),
            browser_session_id TEXT REFERENCES browser_sessions (id),
            fulfilled_at INTEGER,
            code_hash TEXT UNIQUE,
            exchanged_at INTEGER,
            session_id TEXT REFERENCES oauth2_sessions (id),
            cancelled_at INTEGER,
            CHECK ((fulfilled_at IS NULL) = (code_hash IS NULL)),
            CHECK ((fulfilled_at IS NULL) = (user_id IS NULL)),
            CHECK ((fulfilled_at IS NULL) = (browser_session_id IS NULL)),
            CHECK (exchanged_at IS NULL OR fulfilled_at IS NOT NULL),
            CHECK (session_id IS NULL OR exchanged_at IS NOT NULL),
            CHECK (cancelled_at IS NULL OR fulfilled_at IS NULL OR exchanged_at IS NOT NULL)
        );

        CREATE TABLE oauth2_device_code_grants (
            id TEXT NOT NULL PRIMARY KEY,
            client_id TEXT NOT NULL,
            scope TEXT NOT NULL,
            device_code_hash TEXT NOT NULL UNIQUE,
            user_code TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'exchanged')),
            user_id TEXT REFERENCES users (id),
            browser_session_id TEXT REFERENCES browser_sessions (id),
            decided_at INTEGER,
            last_polled_at INTEGER,
            exchanged_at INTEGER,
            session_id TEXT REFERENCES oauth2_sessions (id),
            CHECK ((status = 'pending') = (decided_at IS NULL)),
            CHECK ((status = 'pending') = (user_id IS NULL)),
            CHECK ((status = 'exchanged') = (exchanged_at IS NOT NULL)),
            CHECK (session_id IS NULL OR status = 'exchanged')
        );
        -- The code a user types names one pending grant.
        CREATE UNIQUE INDEX oauth2_device_code_grants_pending_user_code ON oauth2_device_code_grants (user_code)
            WHERE status = 'pending';

        CREATE TABLE compat_sso_logins (
            id TEXT NOT NULL PRIMARY KEY,
            redirect_url TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            fulfilled_at INTEGER,
            user_id TEXT REFERENCES users (id),
            login_token_id TEXT REFERENCES compat_login_tokens (id),
            CHECK ((fulfilled_at IS NULL) = (user_id IS NULL)),
            CHECK ((fulfilled_at IS NULL) = (login_token_id IS NULL))
        );
        """

    static let migration = SchemaMigration(identifier: "0005_oauth2_sessions", sql: sql)
}
