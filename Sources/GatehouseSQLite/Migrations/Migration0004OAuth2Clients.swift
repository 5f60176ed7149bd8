/// `0004_oauth2_clients`: OAuth 2.0 clients, dynamically registered (RFC 7591) or static (from
/// `clients[]` or `gatehouse clients add`).
///
/// List-valued metadata (`redirect_uris`, `grant_types`, `response_types`, `contacts`) are JSON
/// arrays; the localizable fields (`client_name`, `client_uri`, `logo_uri`, `tos_uri`,
/// `policy_uri`) are JSON objects from language tag (`""` for none) to value, `NULL` when unset.
/// A confidential client's secret is stored only as its SHA-256 (`client_secret_hash`).
/// `metadata_digest` deduplicates identical dynamic registrations, as MAS does.
enum Migration0004OAuth2Clients {
    static let sql = """
        CREATE TABLE oauth2_clients (
            id TEXT NOT NULL PRIMARY KEY,
            origin TEXT NOT NULL CHECK (origin IN ('dynamic', 'config', 'cli')),
            application_type TEXT NOT NULL CHECK (application_type IN ('web', 'native')),
            redirect_uris TEXT NOT NULL,
            grant_types TEXT NOT NULL,
            response_types TEXT NOT NULL,
            token_endpoint_auth_method TEXT NOT NULL,
            client_name TEXT,
            client_uri TEXT,
            logo_uri TEXT,
            tos_uri TEXT,
            policy_uri TEXT,
            contacts TEXT NOT NULL,
            client_secret_hash TEXT,
            metadata_digest TEXT,
            created_at INTEGER NOT NULL,
            CHECK ((token_endpoint_auth_method = 'none') = (client_secret_hash IS NULL))
        );
        CREATE UNIQUE INDEX oauth2_clients_dynamic_digest ON oauth2_clients (metadata_digest) WHERE origin = 'dynamic';
        """

    static let migration = SchemaMigration(identifier: "0004_oauth2_clients", sql: sql)
}
