/// `0009_client_signing_algorithms` for PostgreSQL: the schema of the SQLite migration of the same name
/// (see its doc comment for the columns' meaning), in PostgreSQL's types (conventions: `Migration0001Initial`).
enum Migration0009ClientSigningAlgorithms {
    static let sql = """
        ALTER TABLE oauth2_clients ADD COLUMN id_token_signed_response_alg TEXT COLLATE "C";
        ALTER TABLE oauth2_clients ADD COLUMN userinfo_signed_response_alg TEXT COLLATE "C";
        """

    static let migration = SchemaMigration(identifier: "0009_client_signing_algorithms", sql: sql)
}
