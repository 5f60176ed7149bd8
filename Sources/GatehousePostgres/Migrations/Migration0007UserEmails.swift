/// `0007_user_emails` for PostgreSQL: the schema of the SQLite migration of the same name (see its doc
/// comment for the tables' meaning), in PostgreSQL's types (conventions: `Migration0001Initial`).
enum Migration0007UserEmails {
    static let sql = """
        CREATE TABLE user_emails (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
            email TEXT COLLATE "C" NOT NULL,
            created_at BIGINT NOT NULL
        );
        CREATE UNIQUE INDEX user_emails_user_id_email ON user_emails (user_id, email);
        """

    static let migration = SchemaMigration(identifier: "0007_user_emails", sql: sql)
}
