/// `0004_oauth2_clients` for PostgreSQL: the schema of the SQLite migration of the same name (see its doc
/// comment for the tables' meaning), in PostgreSQL's types (conventions: `Migration0001Initial`).
enum Migration0004OAuth2Clients {
    static let sql = """
        CREATE TABLE oauth2_clients (
            id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
            origin TEXT COLLATE "C" NOT NULL CHECK (origin IN ('dynamic', 'config', 'cli')),
            application_type TEXT COLLATE "C" NOT NULL CHECK (application_type IN ('web', 'native')),
            redirect_uris TEXT COLLATE "C" NOT NULL,
            grant_types TEXT COLLATE "C" NOT NULL,
            response_types TEXT COLLATE "C" NOT NULL,
            token_endpoint_auth_method TEXT COLLATE "C" NOT NULL,
            client_name TEXT COLLATE "C",
            client_uri TEXT COLLATE "C",
            logo_uri TEXT COLLATE "C",
            tos_uri TEXT COLLATE "C",
            policy_uri TEXT COLLATE "C",
            contacts TEXT COLLATE "C" NOT NULL,
            client_secret_hash TEXT COLLATE "C",
            metadata_digest TEXT COLLATE "C",
            created_at BIGINT NOT NULL,
            CHECK ((token_endpoint_auth_method = 'none') = (client_secret_hash IS NULL))
        );
        CREATE UNIQUE INDEX oauth2_clients_dynamic_digest ON oauth2_clients (metadata_digest) WHERE origin = 'dynamic';
        """

    static let migration = SchemaMigration(identifier: "0004_oauth2_clients", sql: sql)
}
