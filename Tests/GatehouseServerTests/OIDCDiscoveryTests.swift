import Crypto
import CryptoExtras
import Foundation
import GatehouseCore
import GatehouseTestSupport
import NIOCore
import Testing

@testable import GatehouseServer

/// Discovery, the JWKS and webfinger: full-JSON golden values, and every advertised URL served.
struct OIDCDiscoveryTests {
    static let base = "https://matrix.example.org/"

    static func get(_ path: String) throws -> LocalRequest {
        LocalRequest(method: .GET, target: try CanonicalPath.parse(path).get(), headers: [:], body: ByteBuffer(), peerAddress: nil, isTLS: true)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// What this build advertises: every endpoint; `prompt=create` only with registration (below).
    @Test func thisBuildsDocument() throws {
        let discovery = DiscoveryEndpoint(publicBase: Self.base, capabilities: .thisBuild(signingAlgorithms: [.rs256, .es256]))
        let response = discovery.respond(to: try Self.get("/.well-known/openid-configuration"))
        #expect(response.status == .ok)
        #expect(response.headers["Content-Type"] == ["application/json"])
        #expect(String(buffer: response.body) == """
            {"issuer":"https://matrix.example.org/","authorization_endpoint":"https://matrix.example.org/authorize",\
            "token_endpoint":"https://matrix.example.org/oauth2/token","jwks_uri":"https://matrix.example.org/oauth2/keys.json",\
            "registration_endpoint":"https://matrix.example.org/oauth2/registration",\
            "scopes_supported":["openid","urn:matrix:client:api:*","urn:synapse:admin:*"],"response_types_supported":["code"],\
            "response_modes_supported":["form_post","query","fragment"],\
            "grant_types_supported":["authorization_code","refresh_token","client_credentials","urn:ietf:params:oauth:grant-type:device_code"],\
            "token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],\
            "revocation_endpoint":"https://matrix.example.org/oauth2/revoke",\
            "revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],\
            "introspection_endpoint":"https://matrix.example.org/oauth2/introspect","code_challenge_methods_supported":["S256"],\
            "userinfo_endpoint":"https://matrix.example.org/oauth2/userinfo","subject_types_supported":["public"],\
            "id_token_signing_alg_values_supported":["ES256","RS256"],"userinfo_signing_alg_values_supported":["ES256","RS256"],\
            "display_values_supported":["page"],"claim_types_supported":["normal"],\
            "claims_supported":["iss","sub","aud","iat","exp","nonce","auth_time","at_hash","c_hash"],\
            "claims_parameter_supported":false,"request_parameter_supported":false,"request_uri_parameter_supported":false,\
            "prompt_values_supported":["login"],"device_authorization_endpoint":"https://matrix.example.org/oauth2/device",\
            "account_management_uri":"https://matrix.example.org/account/",\
            "account_management_actions_supported":["org.matrix.profile","org.matrix.devices_list","org.matrix.device_view",\
            "org.matrix.device_delete","org.matrix.cross_signing_reset","org.matrix.sessions_list","org.matrix.session_view",\
            "org.matrix.session_end"]}
            """)
        // Without a Synapse client to create devices with, the token endpoints are not offered.
        let bare = try Self.json(DiscoveryEndpoint.render(publicBase: Self.base, capabilities: .thisBuild(signingAlgorithms: [], issuesTokens: false)))
        #expect(bare["token_endpoint"] == nil && bare["device_authorization_endpoint"] == nil && bare["registration_endpoint"] != nil)
    }

    /// `prompt=create` is offered exactly when `account.password_registration_enabled` is on.
    @Test func promptCreateFollowsRegistration() throws {
        for (enabled, prompts) in [(false, #""prompt_values_supported":["login"]"#), (true, #""prompt_values_supported":["login","create"]"#)] {
            let document = DiscoveryEndpoint.render(
                publicBase: Self.base, capabilities: .thisBuild(signingAlgorithms: [.rs256], passwordRegistration: enabled))
            #expect(document.contains(prompts))
        }
    }

    /// The document once every endpoint has landed (each is one line in ``ProviderCapabilities``).
    @Test func fullProviderDocument() throws {
        let capabilities = ProviderCapabilities(endpoints: Set(ProviderEndpoint.allCases), passwordRegistration: true, signingAlgorithms: [.rs256])
        #expect(DiscoveryEndpoint.render(publicBase: Self.base, capabilities: capabilities) == """
            {"issuer":"https://matrix.example.org/","authorization_endpoint":"https://matrix.example.org/authorize",\
            "token_endpoint":"https://matrix.example.org/oauth2/token","jwks_uri":"https://matrix.example.org/oauth2/keys.json",\
            "registration_endpoint":"https://matrix.example.org/oauth2/registration",\
            "scopes_supported":["openid","urn:matrix:client:api:*","urn:synapse:admin:*"],"response_types_supported":["code"],\
            "response_modes_supported":["form_post","query","fragment"],\
            "grant_types_supported":["authorization_code","refresh_token","client_credentials","urn:ietf:params:oauth:grant-type:device_code"],\
            "token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],\
            "revocation_endpoint":"https://matrix.example.org/oauth2/revoke",\
            "revocation_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"],\
            "introspection_endpoint":"https://matrix.example.org/oauth2/introspect","code_challenge_methods_supported":["S256"],\
            "userinfo_endpoint":"https://matrix.example.org/oauth2/userinfo","subject_types_supported":["public"],\
            "id_token_signing_alg_values_supported":["RS256"],"userinfo_signing_alg_values_supported":["RS256"],\
            "display_values_supported":["page"],"claim_types_supported":["normal"],\
            "claims_supported":["iss","sub","aud","iat","exp","nonce","auth_time","at_hash","c_hash"],\
            "claims_parameter_supported":false,"request_parameter_supported":false,"request_uri_parameter_supported":false,\
            "prompt_values_supported":["login","create"],"device_authorization_endpoint":"https://matrix.example.org/oauth2/device",\
            "account_management_uri":"https://matrix.example.org/account/",\
            "account_management_actions_supported":["org.matrix.profile","org.matrix.devices_list","org.matrix.device_view",\
            "org.matrix.device_delete","org.matrix.cross_signing_reset","org.matrix.sessions_list","org.matrix.session_view",\
            "org.matrix.session_end"]}
            """)
    }

    @Test func promptCreateOnlyWithRegistration() throws {
        var capabilities = ProviderCapabilities(endpoints: [.authorization], passwordRegistration: false, signingAlgorithms: [])
        #expect(try Self.json(DiscoveryEndpoint.render(publicBase: Self.base, capabilities: capabilities))["prompt_values_supported"] as? [String] == ["login"])
        capabilities.passwordRegistration = true
        #expect(try Self.json(DiscoveryEndpoint.render(publicBase: Self.base, capabilities: capabilities))["prompt_values_supported"] as? [String] == ["login", "create"])
        // Without a token endpoint there are no grants and no device grant, whatever else is served.
        let json = try Self.json(DiscoveryEndpoint.render(publicBase: Self.base, capabilities: capabilities))
        #expect(json["grant_types_supported"] == nil && json["id_token_signing_alg_values_supported"] == nil)
    }

    @Test func keysDocumentListsEveryKey() throws {
        let rsa = SigningKey(kid: "rsa-1", material: .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)))
        let ec = SigningKey(kid: nil, material: .p256(P256.Signing.PrivateKey()))
        let response = KeysEndpoint(keys: [rsa, ec]).respond(to: try Self.get("/oauth2/keys.json"))
        #expect(response.status == .ok)
        #expect(response.headers["Cache-Control"] == ["public, max-age=3600"])
        let keys = try #require(try Self.json(String(buffer: response.body))["keys"] as? [[String: String]])
        #expect(keys.map { $0["kid"] } == ["rsa-1", ec.thumbprint])
        #expect(keys.map { $0["kty"] } == ["RSA", "EC"] && keys.map { $0["use"] } == ["sig", "sig"] && keys.map { $0["alg"] } == ["RS256", "ES256"])
        #expect(keys.allSatisfy { $0["d"] == nil }, "never the private part")
        #expect(String(buffer: KeysEndpoint(keys: []).document) == #"{"keys":[]}"#)
        var post = try Self.get("/oauth2/keys.json")
        post.method = .POST
        #expect(KeysEndpoint(keys: []).respond(to: post).status == .methodNotAllowed)
    }

    @Test(arguments: [
        ("resource=acct:alice@example.org&rel=http%3A%2F%2Fopenid.net%2Fspecs%2Fconnect%2F1.0%2Fissuer", 200,
         #"{"subject":"acct:alice@example.org","links":[{"rel":"http://openid.net/specs/connect/1.0/issuer","href":"https://matrix.example.org/"}]}"#),
        ("resource=acct%3Aalice%40example.org", 200,
         #"{"subject":"acct:alice@example.org","links":[{"rel":"http://openid.net/specs/connect/1.0/issuer","href":"https://matrix.example.org/"}]}"#),
        ("resource=acct:alice@example.org&rel=http://webfinger.net/rel/avatar", 200, #"{"subject":"acct:alice@example.org","links":[]}"#),
        ("rel=http://openid.net/specs/connect/1.0/issuer", 400,
         #"{"error":"invalid_request","error_description":"The `resource` parameter is required"}"#),
        ("resource=a&resource=b", 400, #"{"error":"invalid_request","error_description":"The `resource` parameter is given more than once"}"#),
        ("resource=", 400, #"{"error":"invalid_request","error_description":"The `resource` parameter is empty"}"#),
        ("resource=%zz", 400, #"{"error":"invalid_request","error_description":"The query string is not valid form encoding"}"#),
    ])
    func webfinger(query: String, status: Int, body: String) throws {
        let response = WebFingerEndpoint(issuer: Self.base).respond(to: try Self.get("/.well-known/webfinger?\(query)"))
        #expect(response.status.code == UInt(status))
        #expect(String(buffer: response.body) == body)
        #expect(response.headers["Access-Control-Allow-Origin"] == ["*"])
        if status == 200 { #expect(response.headers["Content-Type"] == ["application/jrd+json"]) }
    }

    /// Through the default route table and a running server: every URL discovery advertises is answered
    /// by Gatehouse (never 404/501), and `issuer` is the same in discovery and webfinger.
    @Test(arguments: StoreBackend.allCases) func everyAdvertisedURLIsServed(_ backend: StoreBackend) async throws {
        try await withDefaultRoutesGateway(backend) { port, store in
            let discovery = try await request(port: port, "GET /.well-known/openid-configuration HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(discovery.status == 200)
            let document = try Self.json(discovery.body)
            let issuer = try #require(document["issuer"] as? String)
            #expect(issuer == "http://localhost/")
            let advertised = document.filter { $0.key.hasSuffix("_endpoint") || $0.key == "jwks_uri" }.compactMap { $0.value as? String }
            #expect(Set(advertised) == [
                "http://localhost/oauth2/keys.json", "http://localhost/oauth2/introspect", "http://localhost/oauth2/registration",
                "http://localhost/authorize",
            ])
            // GET for the documents; introspection only takes POST and answers 401 without Synapse's secret;
            // registration only takes POST and answers an empty body with an RFC 7591 error; /authorize
            // without a client is the pages' error page.
            let expected: [String: (method: String, status: Int)] = [
                "/oauth2/keys.json": ("GET", 200), "/oauth2/introspect": ("POST", 401), "/oauth2/registration": ("POST", 400),
                "/authorize": ("GET", 400),
            ]
            for url in advertised {
                let path = String(url.dropFirst(issuer.count - 1))
                let (method, status) = try #require(expected[path], "\(path) is advertised but not expected")
                let answer = try await request(port: port, "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
                #expect(![404, 501, 502].contains(answer.status), "\(path): \(answer.status) \(answer.body)")
                #expect(answer.status == status, "\(path): \(answer.status) \(answer.body)")
            }
            let keys = try await request(port: port, "GET /oauth2/keys.json HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect((try Self.json(keys.body)["keys"] as? [[String: String]])?.map { $0["kid"] } == ["rsa-1"])
            #expect(document["id_token_signing_alg_values_supported"] as? [String] == ["RS256"])
            let finger = try await request(
                port: port, "GET /.well-known/webfinger?resource=acct:alice@localhost&rel=http://openid.net/specs/connect/1.0/issuer HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(finger.status == 200)
            #expect(((try Self.json(finger.body)["links"] as? [[String: String]])?.first?["href"]) == issuer)
        }
    }
}
