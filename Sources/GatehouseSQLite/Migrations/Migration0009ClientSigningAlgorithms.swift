/// `0009_client_signing_algorithms`: the algorithms a client registered for its signed responses
/// (OpenID Connect Registration §2): `id_token_signed_response_alg` (`NULL`: the server's default,
/// RS256 when an RSA key is configured) and `userinfo_signed_response_alg` (`NULL`: userinfo answers
/// JSON; set, a JWT signed with it). Values are JWS names (`RS256`, `ES256`), checked against the
/// configured keys when the client is registered or configured.
enum Migration0009ClientSigningAlgorithms {
    static let sql = """
        ALTER TABLE oauth2_clients ADD COLUMN id_token_signed_response_alg TEXT;
        ALTER TABLE oauth2_clients ADD COLUMN userinfo_signed_response_alg TEXT;
        """

    static let migration = SchemaMigration(identifier: "0009_client_signing_algorithms", sql: sql)
}
