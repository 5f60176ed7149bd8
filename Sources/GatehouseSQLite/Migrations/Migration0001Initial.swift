/// `0001_initial`: users and passwords, compat sessions and their tokens, the job queue and the
/// store revision counter.
///
/// Conventions (for this and every later migration):
/// - identifiers are ULIDs stored as `TEXT` (the `id` fields of the models);
/// - timestamps are `INTEGER` milliseconds since the Unix epoch (UTC), `NULL` for "not yet";
/// - booleans are `INTEGER` 0/1;
/// - table and column names follow MAS (`crates/storage-pg/migrations`) where a concept exists there.
///
/// The OAuth 2.0 tables (`oauth2_clients`, `oauth2_sessions`, `oauth2_access_tokens`,
/// `oauth2_refresh_tokens`, authorization grants) belong to a later migration.
enum Migration0001Initial {
    static let migration = SchemaMigration(identifier: "0001_initial", sql: sql)

    static let sql = """
        CREATE TABLE users (
            id TEXT NOT NULL PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            locked_at INTEGER,
            deactivated_at INTEGER,
            is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1))
        );

        -- The newest row (created_at, then insertion order) of a user is the current password.
        CREATE TABLE user_passwords (
            id TEXT NOT NULL PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id),
            version INTEGER NOT NULL,
            hashed_password TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX user_passwords_user_id_created_at ON user_passwords (user_id, created_at);

        CREATE TABLE compat_sessions (
            id TEXT NOT NULL PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id),
            device_id TEXT NOT NULL,
            display_name TEXT,
            is_synapse_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_synapse_admin IN (0, 1)),
            created_at INTEGER NOT NULL,
            finished_at INTEGER,
            last_active_at INTEGER
        );
        CREATE INDEX compat_sessions_user_id_created_at ON compat_sessions (user_id, created_at);
        -- A device has at most one unfinished session (activeSession(userId:deviceId:)).
        CREATE UNIQUE INDEX compat_sessions_active_device ON compat_sessions (user_id, device_id)
            WHERE finished_at IS NULL;

        -- Only the SHA-256 (lower-case hex) of a token is stored; the UNIQUE index is the lookup index.
        CREATE TABLE compat_access_tokens (
            id TEXT NOT NULL PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES compat_sessions (id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            revoked_at INTEGER
        );
        CREATE INDEX compat_access_tokens_session_id ON compat_access_tokens (session_id);

        CREATE TABLE compat_refresh_tokens (
            id TEXT NOT NULL PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES compat_sessions (id),
            access_token_id TEXT NOT NULL REFERENCES compat_access_tokens (id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            consumed_at INTEGER,
            revoked_at INTEGER
        );
        CREATE INDEX compat_refresh_tokens_session_id ON compat_refresh_tokens (session_id);
        CREATE INDEX compat_refresh_tokens_access_token_id ON compat_refresh_tokens (access_token_id);

        -- A job is due when completed_at IS NULL, run_at <= now and its lease (if any) has expired.
        CREATE TABLE jobs (
            id TEXT NOT NULL PRIMARY KEY,
            kind TEXT NOT NULL,
            payload TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            run_at INTEGER NOT NULL,
            lease_until INTEGER,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            completed_at INTEGER
        );
        CREATE INDEX jobs_due ON jobs (run_at, id) WHERE completed_at IS NULL;

        -- One row, incremented by every mutating transaction; read by changeCounter() so that a running
        -- server notices changes committed by another process (gatehouse manage ...).
        CREATE TABLE store_revision (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            value INTEGER NOT NULL
        );
        INSERT INTO store_revision (id, value) VALUES (1, 0);
        """
}
