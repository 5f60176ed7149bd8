/// `0008_session_activity`: where a session was last used from, browser-session activity, and the
/// name a user gives an OAuth 2.0 session on the account page.
///
/// `last_active_at` / `last_active_ip` are written in batches by the activity flusher, never once per
/// request, and never move the store revision (no authorization decision reads them).
/// `oauth2_sessions.human_name` mirrors `compat_sessions.display_name`: the device name the user chose,
/// also set in Synapse (`update_device_display_name`).
enum Migration0008SessionActivity {
    static let sql = """
        ALTER TABLE compat_sessions ADD COLUMN last_active_ip TEXT;
        ALTER TABLE oauth2_sessions ADD COLUMN last_active_ip TEXT;
        ALTER TABLE oauth2_sessions ADD COLUMN human_name TEXT;
        ALTER TABLE browser_sessions ADD COLUMN last_active_at INTEGER;
        ALTER TABLE browser_sessions ADD COLUMN last_active_ip TEXT;
        """

    static let migration = SchemaMigration(identifier: "0008_session_activity", sql: sql)
}
