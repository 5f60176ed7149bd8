import Foundation
import Testing

@testable import GatehouseCore

/// `clients[]`: MAS's keys, validated at load with the key path and the fix.
struct StaticClientConfigurationTests {
    static let publicId = "01J9Z0XKQ4T3H7YB2V6N8M5R1C"
    static let confidentialId = "01J9Z0XKQ4T3H7YB2V6N8M5R1D"
    static let secret = "0123456789abcdef0123456789abcdef"

    func fixture() throws -> ConfigFixture {
        let fixture = try ConfigFixture()
        try fixture.write(Self.secret + "\n", to: "client_secret", mode: 0o600)
        try fixture.write(Self.secret, to: "open_client_secret", mode: 0o640)
        try fixture.write("short", to: "short_client_secret", mode: 0o600)
        return fixture
    }

    @Test func clientsAreRead() throws {
        let fixture = try fixture()
        let config = try fixture.load(ConfigFixture.valid + """

            clients:
              - client_id: \(Self.publicId)
                client_auth_method: none
                redirect_uris: ["http://localhost/callback", "io.element.app:/cb"]
                client_name: Element
              - client_id: \(Self.confidentialId)
                client_auth_method: client_secret_basic
                client_secret_file: client_secret
                redirect_uris: ["https://app.example.org/callback"]
                client_uri: https://app.example.org/
            """)
        #expect(config.clients == [
            StaticClientConfiguration(
                clientId: Self.publicId, authMethod: .none, redirectURIs: ["http://localhost/callback", "io.element.app:/cb"], clientName: "Element"),
            StaticClientConfiguration(
                clientId: Self.confidentialId, authMethod: .clientSecretBasic, secret: Self.secret,
                redirectURIs: ["https://app.example.org/callback"], clientURI: "https://app.example.org/"),
        ])
        #expect(config.clients[1].metadata.grantTypes.contains("client_credentials"))
        #expect(!config.clients[0].metadata.grantTypes.contains("client_credentials"))
        #expect(try fixture.load(ConfigFixture.valid).clients.isEmpty)
    }

    @Test(arguments: [
        ("{client_id: nope, client_auth_method: none, redirect_uris: [\"http://localhost/\"]}",
         "clients[0].client_id: 'nope' is not a ULID"),
        ("{client_auth_method: none, redirect_uris: [\"http://localhost/\"]}", "clients[0].client_id: is required"),
        ("{client_id: \(publicId), redirect_uris: [\"http://localhost/\"]}", "clients[0].client_auth_method: is required"),
        ("{client_id: \(publicId), client_auth_method: private_key_jwt, redirect_uris: [\"http://localhost/\"]}",
         "clients[0].client_auth_method: 'private_key_jwt' is not supported by Gatehouse yet. Use one of none, client_secret_basic, client_secret_post"),
        ("{client_id: \(publicId), client_auth_method: magic, redirect_uris: [\"http://localhost/\"]}",
         "clients[0].client_auth_method: unknown client_auth_method 'magic'"),
        ("{client_id: \(publicId), client_auth_method: none, jwks_uri: \"https://x.org/jwks\", redirect_uris: [\"http://localhost/\"]}",
         "clients[0].jwks_uri: `jwks_uri` is only used by private_key_jwt"),
        ("{client_id: \(publicId), client_auth_method: client_secret_post, redirect_uris: [\"http://localhost/\"]}",
         "clients[0].client_secret_file: client_secret_post needs a client secret"),
        ("{client_id: \(publicId), client_auth_method: none, client_secret_file: client_secret, redirect_uris: [\"http://localhost/\"]}",
         "clients[0].client_auth_method: a public client (`none`) has no secret"),
        ("{client_id: \(publicId), client_auth_method: client_secret_basic, client_secret: a, client_secret_file: client_secret, redirect_uris: []}",
         "clients[0].client_secret: `client_secret` and `client_secret_file` are both set"),
        ("{client_id: \(publicId), client_auth_method: client_secret_basic, client_secret_file: nosuchfile, redirect_uris: []}",
         "clients[0].client_secret_file: cannot read the client secret file"),
        ("{client_id: \(publicId), client_auth_method: client_secret_basic, client_secret_file: short_client_secret, redirect_uris: []}",
         "is 5 bytes; at least 32 are needed. Generate one with `openssl rand -hex 32`"),
        ("{client_id: \(publicId), client_auth_method: client_secret_basic, client_secret_file: open_client_secret, redirect_uris: []}",
         "clients[0].client_secret_file: the client secret file"),
        ("{client_id: \(publicId), client_auth_method: none}", "clients[0].redirect_uris: is required"),
        ("{client_id: \(publicId), client_auth_method: none, redirect_uris: [\"https://app.example.org/cb#x\"]}",
         "clients[0].redirect_uris[0]: 'https://app.example.org/cb#x' has a fragment (#)"),
        ("{client_id: \(publicId), client_auth_method: none, redirect_uris: [\"https://u@app.example.org/cb\"]}",
         "clients[0].redirect_uris[0]: 'https://u@app.example.org/cb' contains user information"),
        ("{client_id: \(publicId), client_auth_method: none, redirect_uris: [\"http://app.example.org/cb\"]}",
         "clients[0].redirect_uris[0]: 'http://app.example.org/cb' uses http on a host other than the loopback interface"),
        ("{client_id: \(publicId), client_auth_method: none, redirect_uris: [\"/cb\"]}", "is not an absolute URI"),
        ("{client_id: \(publicId), client_auth_method: none, client_uri: app.example.org, redirect_uris: [\"http://localhost/\"]}",
         "clients[0].client_uri: 'app.example.org' is not an http(s) URL"),
        ("{client_id: \(publicId), client_auth_method: none, redirect_uris: [\"http://localhost/\"], grant_types: [x]}",
         "clients[0].grant_types: unknown key"),
        ("{client_id: \(publicId), client_auth_method: none, redirect_uris: [], userinfo_signed_response_alg: PS256}",
         "clients[0].userinfo_signed_response_alg: 'PS256' is not an algorithm Gatehouse signs with. Use RS256 or ES256, or remove the key"),
        ("{client_id: \(publicId), client_auth_method: none, redirect_uris: [], id_token_signed_response_alg: none}",
         "clients[0].id_token_signed_response_alg: 'none' is not an algorithm Gatehouse signs with"),
    ])
    func clientErrorsNameTheKeyAndTheFix(client: String, message: String) throws {
        let fixture = try fixture()
        let errors = fixture.errors(ConfigFixture.valid + "\nclients:\n  - \(client)\n")
        #expect(errors.count == 1, "\(errors)")
        #expect(errors.first?.contains(message) == true, "\(errors)")
    }

    @Test func secretFileOthersCanReadIsRefusedWithTheChmod() throws {
        let fixture = try fixture()
        let errors = fixture.errors(ConfigFixture.valid + """

            clients:
              - {client_id: \(Self.publicId), client_auth_method: client_secret_basic, client_secret_file: open_client_secret, redirect_uris: []}
            """)
        #expect(errors.first?.contains("(mode 0640)") == true && errors.first?.contains("chmod 600 \(fixture.directory)/open_client_secret") == true,
            "\(errors)")
    }

    @Test func inlineSecretIsAcceptedWithAWarningWhenTheFileIsReadable() throws {
        let fixture = try fixture()
        try fixture.write("", to: "gatehouse.yaml", mode: 0o644)
        let config = try fixture.load(ConfigFixture.valid + """

            clients:
              - {client_id: \(Self.publicId), client_auth_method: client_secret_post, client_secret: "\(Self.secret)", redirect_uris: []}
            """)
        #expect(config.clients.first?.secret == Self.secret)
        #expect(config.warnings.contains { $0.description.contains("clients[0].client_secret: this secret is written in") })
    }

    /// `id_token_signed_response_alg` / `userinfo_signed_response_alg`: an algorithm of `secrets.keys`,
    /// stored with the client's metadata.
    @Test func signedResponseAlgorithmsNeedAConfiguredKey() throws {
        let fixture = try fixture()
        let client = "\nclients:\n  - {client_id: \(Self.publicId), client_auth_method: none, redirect_uris: [], "
            + "id_token_signed_response_alg: ES256, userinfo_signed_response_alg: RS256}\n"
        let config = try fixture.load(ConfigFixture.valid + client)
        let metadata = try #require(config.clients.first).metadata
        #expect(metadata.idTokenSignedResponseAlg == .es256 && metadata.userinfoSignedResponseAlg == .rs256)

        let rsaOnly = ConfigFixture.valid.replacingOccurrences(of: "\n    - {kid: ec-1, key_file: signing_ec.pem}", with: "")
        #expect(rsaOnly != ConfigFixture.valid, "the fixture's EC key line was removed")
        let errors = fixture.errors(rsaOnly + client)
        #expect(errors.count == 1 && errors.first?.contains(
            "clients[0].id_token_signed_response_alg: no key of `secrets.keys` signs with ES256. Add a P-256 EC key to `secrets.keys`, or remove this key") == true,
            "\(errors)")
    }

    @Test func duplicateIdsAreRefused() throws {
        let fixture = try fixture()
        let errors = fixture.errors(ConfigFixture.valid + """

            clients:
              - {client_id: \(Self.publicId), client_auth_method: none, redirect_uris: ["http://localhost/"]}
              - {client_id: \(Self.publicId), client_auth_method: none, redirect_uris: ["http://localhost/"]}
            """)
        #expect(errors == errors.filter { $0.contains("clients[1].client_id: \(Self.publicId) is already used by clients[0]") } && errors.count == 1,
            "\(errors)")
    }
}

/// `rate_limiting.client_registration`.
struct ClientRegistrationRateLimitConfigurationTests {
    @Test func defaultAndConfiguredLimit() throws {
        let fixture = try ConfigFixture()
        #expect(try fixture.load(ConfigFixture.valid).rateLimiting.clientRegistration == RateLimitConfiguration(burst: 10, perSecond: 10.0 / 3600.0))
        let config = try fixture.load(ConfigFixture.valid + "\nrate_limiting: {client_registration: {burst: 50}}\n")
        #expect(config.rateLimiting.clientRegistration == RateLimitConfiguration(burst: 50, perSecond: 10.0 / 3600.0))
        #expect(config.rateLimiting.login == .default)
        #expect(fixture.errors(ConfigFixture.valid + "\nrate_limiting: {client_registration: {per_second: 0}}\n").first?
            .contains("rate_limiting.client_registration.per_second: must be more than 0") == true)
    }
}

/// `rate_limiting.registration` (MAS's name, shape and default).
struct RegistrationRateLimitConfigurationTests {
    @Test func defaultAndConfiguredLimit() throws {
        let fixture = try ConfigFixture()
        #expect(try fixture.load(ConfigFixture.valid).rateLimiting.registration == RateLimitConfiguration(burst: 3, perSecond: 3.0 / 3600.0))
        let config = try fixture.load(ConfigFixture.valid + "\nrate_limiting: {registration: {burst: 5, per_second: 0.01}}\n")
        #expect(config.rateLimiting.registration == RateLimitConfiguration(burst: 5, perSecond: 0.01))
        #expect(config.rateLimiting.login == .default && config.rateLimiting.clientRegistration == RateLimitingConfiguration.defaultClientRegistration)
        let partial = try fixture.load(ConfigFixture.valid + "\nrate_limiting: {registration: {per_second: 0.5}}\n")
        #expect(partial.rateLimiting.registration == RateLimitConfiguration(burst: 3, perSecond: 0.5))
        for (yaml, message) in [
            ("rate_limiting: {registration: {per_second: 0}}", "rate_limiting.registration.per_second: must be more than 0"),
            ("rate_limiting: {registration: {burst: 0}}", "rate_limiting.registration.burst"),
            ("rate_limiting: {registration: {burst: 2, per_hour: 3}}", "rate_limiting.registration.per_hour"),
        ] {
            let errors = fixture.errors(ConfigFixture.valid + "\n" + yaml + "\n")
            #expect(errors.contains { $0.contains(message) }, "\(yaml): \(errors)")
        }
    }
}

/// `rate_limiting.device_authorization` and `experimental.access_token_ttl`.
struct DeviceAuthorizationAndTokenLifetimeConfigurationTests {
    @Test func defaultsAndConfiguredValues() throws {
        let fixture = try ConfigFixture()
        let defaults = try fixture.load(ConfigFixture.valid)
        #expect(defaults.rateLimiting.deviceAuthorization == RateLimitConfiguration(burst: 10, perSecond: 1.0 / 60.0))
        #expect(defaults.experimental.accessTokenTTL == .seconds(300))
        let config = try fixture.load(
            ConfigFixture.valid + "\nrate_limiting: {device_authorization: {burst: 3}}\nexperimental: {access_token_ttl: 900, compat_token_ttl: 120}\n")
        #expect(config.rateLimiting.deviceAuthorization == RateLimitConfiguration(burst: 3, perSecond: 1.0 / 60.0))
        #expect(config.experimental.accessTokenTTL == .seconds(900))
        #expect(config.experimental.compatTokenTTL == .seconds(120))
        #expect(fixture.errors(ConfigFixture.valid + "\nexperimental: {access_token_ttl: 59}\n").first?
            .contains("experimental.access_token_ttl: 59 is out of range") == true)
    }
}
