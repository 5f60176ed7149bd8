/// `0007_user_emails`: a user's email addresses (MAS `user_emails`), first filled by
/// `gatehouse import-synapse` from Synapse's email 3PIDs.
///
/// An address is stored once per user (the unique index), as Synapse stores it (already lower-cased
/// by Synapse); confirmation is implied, since Synapse only keeps validated 3PIDs.
enum Migration0007UserEmails {
    static let sql = """
        CREATE TABLE user_emails (
            id TEXT NOT NULL PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users (id),
            email TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX user_emails_user_id_email ON user_emails (user_id, email);
        """

    static let migration = SchemaMigration(identifier: "0007_user_emails", sql: sql)
}
