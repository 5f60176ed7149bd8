/// `0001_initial` for PostgreSQL: users and passwords, compat sessions and their tokens, the job queue
/// and the store revision counter (the SQLite migration of the same name explains the tables).
///
/// Conventions (for this and every later PostgreSQL migration), chosen so that both backends mean the
/// same and `gatehouse database copy` moves rows without converting them:
/// - identifiers are ULIDs, `TEXT`;
/// - every text column is `COLLATE "C"`: bytewise order and comparison, as SQLite's, whatever locale
///   the database was created with (`ORDER BY id` pages, `ORDER BY username`, the ASCII-only case
///   folding of `lower()`);
/// - timestamps are `BIGINT` milliseconds since the Unix epoch (UTC), `NULL` for "not yet" (why:
///   `Date.storedMilliseconds` in `SQLRow.swift`);
/// - booleans are `BOOLEAN` (SQLite's 0/1 `INTEGER`);
/// - `user_passwords.position` stands in for SQLite's `rowid`: the insertion order that breaks a tie
///   of `created_at` between two passwords of one user.
enum Migration0001Initial {
    static let sql = """
        CREATE TABLE users (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            username TEXT COLLATE "C" NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            locked_at BIGINT,
            deactivated_at BIGINT,
            is_admin BOOLEAN NOT NULL DEFAULT FALSE
        );

        -- The newest row (created_at, then insertion order) of a user is the current password.
        CREATE TABLE user_passwords (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
            version BIGINT NOT NULL,
            hashed_password TEXT COLLATE "C" NOT NULL,
            created_at BIGINT NOT NULL,
            position BIGINT GENERATED ALWAYS AS IDENTITY
        );
        CREATE INDEX user_passwords_user_id_created_at ON user_passwords (user_id, created_at);

        CREATE TABLE compat_sessions (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
            device_id TEXT COLLATE "C" NOT NULL,
            display_name TEXT COLLATE "C",
            is_synapse_admin BOOLEAN NOT NULL DEFAULT FALSE,
            created_at BIGINT NOT NULL,
            finished_at BIGINT,
            last_active_at BIGINT
        );
        CREATE INDEX compat_sessions_user_id_created_at ON compat_sessions (user_id, created_at);
        -- A device has at most one unfinished session (activeSession(userId:deviceId:)).
        CREATE UNIQUE INDEX compat_sessions_active_device ON compat_sessions (user_id, device_id)
            WHERE finished_at IS NULL;

        -- Only the SHA-256 (lower-case hex) of a token is stored; the UNIQUE index is the lookup index.
        CREATE TABLE compat_access_tokens (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            session_id TEXT COLLATE "C" NOT NULL REFERENCES compat_sessions (id),
            token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            expires_at BIGINT,
            revoked_at BIGINT
        );
        CREATE INDEX compat_access_tokens_session_id ON compat_access_tokens (session_id);

        CREATE TABLE compat_refresh_tokens (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            session_id TEXT COLLATE "C" NOT NULL REFERENCES compat_sessions (id),
            access_token_id TEXT COLLATE "C" NOT NULL REFERENCES compat_access_tokens (id),
            token_hash TEXT COLLATE "C" NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            consumed_at BIGINT,
            revoked_at BIGINT
        );
        CREATE INDEX compat_refresh_tokens_session_id ON compat_refresh_tokens (session_id);
        CREATE INDEX compat_refresh_tokens_access_token_id ON compat_refresh_tokens (access_token_id);

        -- A job is due when completed_at IS NULL, run_at <= now and its lease (if any) has expired.
        CREATE TABLE jobs (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            kind TEXT COLLATE "C" NOT NULL,
            payload TEXT COLLATE "C" NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            run_at BIGINT NOT NULL,
            lease_until BIGINT,
            last_error TEXT COLLATE "C",
            created_at BIGINT NOT NULL,
            completed_at BIGINT
        );
        CREATE INDEX jobs_due ON jobs (run_at, id) WHERE completed_at IS NULL;

        -- One row, incremented by every mutating transaction; read by changeCounter() so that a running
        -- server notices changes committed by another process (gatehouse manage ...).
        CREATE TABLE store_revision (
            id BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
            value BIGINT NOT NULL
        );
        INSERT INTO store_revision (id, value) VALUES (1, 0);
        """

    static let migration = SchemaMigration(identifier: "0001_initial", sql: sql)
}
