import Crypto
import CryptoExtras
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import NIOPosix
import Testing

@testable import GatehouseServer

/// The token, revocation, userinfo and device authorization endpoints through the in-process
/// gateway, with a real store (every test on SQLite and on PostgreSQL) and the scripted Synapse.
/// Grants are fulfilled directly in the store.
final class TokenEndpointsFixture: @unchecked Sendable {
    static let routes = "*  ^/oauth2/  local oauth2  max_body=64KiB\n*  ^/_matrix/  proxy synapse"
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    static let secret = "a-long-random-client-secret-0123456789"
    static let key = P256.Signing.PrivateKey()
    /// An RSA key for the fixtures that publish both kinds (made once: RSA generation is slow).
    static let rsaKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

    /// The test's database.
    let storage: StoreFixture
    let store: any IdentityStore
    let synapse: FakeSynapse
    let client: SynapseClient
    let clock = ManualClock()
    var port = 0

    private init(_ backend: StoreBackend) async throws {
        storage = try await StoreFixture.make(backend)
        store = try await storage.open()
        synapse = try await FakeSynapse(group: MultiThreadedEventLoopGroup.singleton, secret: "s3cret", serverName: "localhost")
        client = SynapseClient(configuration: .init(endpoint: synapse.endpoint, secret: "s3cret"))
    }

    /// Runs `body` with the gateway up, alice (with a browser session) and the public client `public`
    /// and confidential client `service` registered; `upstream` is where `/_matrix/` is proxied.
    /// With `configuredKeys`, the configuration's `secrets.keys` (what discovery, the JWKS and client
    /// registration see) hold an RSA key `rsa-1` and the EC key `ec`, and id_tokens are signed with them.
    static func run(
        _ backend: StoreBackend, extraYAML: String = "", upstream: Int = 1, configuredKeys: Bool = false, _ body: (TokenEndpointsFixture) async throws -> Void
    ) async throws {
        let fixture = try await TokenEndpointsFixture(backend)
        do {
            try await fixture.seed()
            var keys = [SigningKey(kid: "ec", material: .p256(key))]
            var extraYAML = extraYAML
            if configuredKeys {
                keys.insert(SigningKey(kid: "rsa-1", material: .rsa(rsaKey)), at: 0)
                extraYAML += "\n" + secretsYAML
            }
            let secrets = SecretsConfiguration(encryption: Array(repeating: 1, count: 32), keys: keys)
            let signer = try await IDTokenSigner(issuer: "http://localhost/", secrets: secrets, clock: fixture.clock)
            let issuing = OAuth2Service.TokenIssuing(
                synapse: fixture.client, queue: JobQueue(repository: fixture.store.jobs), devices: DeviceGuard(store: fixture.store), signer: signer)
            try await withTestGateway(
                routes: routes, upstreams: ["synapse": upstream], extraYAML: extraYAML, identityStore: fixture.store, clock: fixture.clock,
                tokenIssuing: issuing
            ) { port in
                fixture.port = port
                try await body(fixture)
            }
        } catch {
            try? await fixture.close()
            throw error
        }
        try await fixture.close()
    }

    /// `secrets` with the fixture's two keys, as PEM.
    static var secretsYAML: String {
        func pem(_ text: String) -> String { text.split(separator: "\n").map { "          " + $0 }.joined(separator: "\n") }
        return """
            secrets:
              encryption: "\(String(repeating: "01", count: 32))"
              keys:
                - kid: rsa-1
                  key: |
            \(pem(rsaKey.pemRepresentation))
                - kid: ec
                  key: |
            \(pem(key.pemRepresentation))
            """
    }

    private func close() async throws {
        try await client.shutdown()
        try await synapse.stop()
        await storage.close()
    }

    private func seed() async throws {
        let alice = try await store.users.create(User(id: "user-alice", username: "alice", createdAt: clock.now()))
        synapse.addUser(FakeSynapse.User(localpart: "alice"))
        try await store.browserSessions.create(BrowserSession(id: "browser-alice", userId: alice.id, createdAt: clock.now(), authenticatedAt: clock.now()))
        for (id, method) in [("public", ClientAuthMethod.none), ("service", .clientSecretBasic)] {
            let grants = method == .none
                ? [GrantType.authorizationCode, GrantType.refreshToken, GrantType.deviceCode] : [GrantType.clientCredentials]
            try await store.clients.add(OAuth2Client(
                id: id, origin: .cli,
                metadata: ClientMetadata(
                    applicationType: .native, redirectURIs: ["io.element.app:/callback"], grantTypes: grants, tokenEndpointAuthMethod: method.rawValue,
                    clientName: ["": "Test client"]),
                secretHash: method.usesSecret ? ClientSecret.hash(Self.secret) : nil, createdAt: clock.now()))
        }
    }

    /// A fulfilled grant of `client` (by default `public`) for alice; returns the code.
    func code(
        _ id: String, scope: String = "openid urn:matrix:client:api:* urn:matrix:client:device:PHONE12345", client: String = "public"
    ) async throws -> String {
        try await store.authorizationGrants.create(AuthorizationGrant(
            id: id, clientId: client, redirectURI: "io.element.app:/callback", scope: scope, codeChallenge: Self.challenge,
            responseMode: .query, createdAt: clock.now()))
        let code = "code-for-\(id)-0123456789"
        try await store.authorizationGrants.fulfil(
            id: id, userId: "user-alice", browserSessionId: "browser-alice", codeHash: TokenHasher.sha256Hex(code), at: clock.now())
        return code
    }

    /// A POST with a form body.
    func post(_ path: String, _ form: String, headers: [String] = [], contentType: String = "application/x-www-form-urlencoded")
        async throws -> RawHTTPClient.Response
    {
        let extra = headers.map { $0 + "\r\n" }.joined()
        return try await request(
            port: port,
            "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: \(contentType)\r\nContent-Length: \(form.utf8.count)\r\n\(extra)"
                + "Connection: close\r\n\r\n\(form)")
    }

    func get(_ path: String, headers: [String] = []) async throws -> RawHTTPClient.Response {
        let extra = headers.map { $0 + "\r\n" }.joined()
        return try await request(port: port, "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\(extra)Connection: close\r\n\r\n")
    }

    /// Exchanges a fresh code of `client`; returns the token JSON.
    func tokens(
        grant: String = "grant-1", scope: String = "openid urn:matrix:client:api:* urn:matrix:client:device:PHONE12345", client: String = "public"
    ) async throws -> [String: Any] {
        let code = try await code(grant, scope: scope, client: client)
        let response = try await post(
            "/oauth2/token", "grant_type=authorization_code&code=\(code)&client_id=\(client)&code_verifier=\(Self.verifier)")
        #expect(response.status == 200, "\(response.body)")
        return try Self.json(response)
    }

    static func json(_ response: RawHTTPClient.Response) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
    }

    /// The `error` member of an error answer.
    static func error(_ response: RawHTTPClient.Response) -> String? {
        (try? JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])?["error"] as? String
    }

    static func basic(_ id: String, _ secret: String) -> String {
        "Authorization: Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
    }
}

@Suite(.serialized)
struct OAuth2TokenEndpointsTests {
    @Test(arguments: StoreBackend.allCases) func authorizationCodeOverHTTP(_ backend: StoreBackend) async throws {
        try await TokenEndpointsFixture.run(backend) { fixture in
            let code = try await fixture.code("grant-1")
            let response = try await fixture.post(
                "/oauth2/token",
                "grant_type=authorization_code&code=\(code)&client_id=public&redirect_uri=io.element.app%3A%2Fcallback"
                    + "&code_verifier=\(TokenEndpointsFixture.verifier)")
            #expect(response.status == 200)
            #expect(response.header("Cache-Control") == "no-store" && response.header("Pragma") == "no-cache")
            #expect(response.header("Access-Control-Allow-Origin") == "*")
            let json = try TokenEndpointsFixture.json(response)
            #expect((json["access_token"] as? String)?.hasPrefix("mat_") == true)
            #expect((json["refresh_token"] as? String)?.hasPrefix("mar_") == true)
            #expect(json["token_type"] as? String == "Bearer" && json["expires_in"] as? Int == 300)
            #expect(json["scope"] as? String == "openid urn:matrix:client:api:* urn:matrix:client:device:PHONE12345")
            #expect((json["id_token"] as? String)?.split(separator: ".").count == 3)
            #expect(fixture.synapse.user("alice")?.devices["PHONE12345"] != nil)

            let replay = try await fixture.post(
                "/oauth2/token", "grant_type=authorization_code&code=\(code)&client_id=public&code_verifier=\(TokenEndpointsFixture.verifier)")
            #expect(replay.status == 400)
            #expect(TokenEndpointsFixture.error(replay) == "invalid_grant")
            #expect(replay.header("Cache-Control") == "no-store" && replay.header("Pragma") == "no-cache")
            #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
        }
    }

    @Test(arguments: StoreBackend.allCases) func tokenEndpointErrorShapes(_ backend: StoreBackend) async throws {
        try await TokenEndpointsFixture.run(backend) { fixture in
            let unsupported = try await fixture.post("/oauth2/token", "grant_type=password&client_id=public&username=a&password=b")
            #expect(unsupported.status == 400)
            #expect(TokenEndpointsFixture.error(unsupported) == "unsupported_grant_type")
            #expect(unsupported.header("Pragma") == "no-cache")

            let unknown = try await fixture.post("/oauth2/token", "grant_type=client_credentials&client_id=nobody")
            #expect(unknown.status == 401)
            #expect(TokenEndpointsFixture.error(unknown) == "invalid_client")
            #expect(unknown.header("WWW-Authenticate") == "Basic error=\"invalid_client\"")

            let noCredentials = try await fixture.post("/oauth2/token", "grant_type=client_credentials")
            #expect(noCredentials.status == 400)
            #expect(noCredentials.body == #"{"error":"invalid_request","error_description":"No credentials were presented"}"#)

            let notAllowed = try await fixture.post("/oauth2/token", "grant_type=client_credentials&client_id=public")
            #expect(notAllowed.status == 401 && TokenEndpointsFixture.error(notAllowed) == "unauthorized_client")

            let empty = try await fixture.post(
                "/oauth2/token", "", headers: [TokenEndpointsFixture.basic("service", TokenEndpointsFixture.secret)], contentType: "text/plain")
            #expect(empty.status == 400 && TokenEndpointsFixture.error(empty) == "invalid_request", "an empty body is an empty form: no grant_type")
            let json = try await fixture.post("/oauth2/token", #"{"grant_type":"client_credentials"}"#, contentType: "application/json")
            #expect(json.status == 400 && TokenEndpointsFixture.error(json) == "invalid_request")
            let duplicate = try await fixture.post("/oauth2/token", "grant_type=refresh_token&grant_type=refresh_token&client_id=public")
            #expect(duplicate.status == 400 && TokenEndpointsFixture.error(duplicate) == "invalid_request")

            let get = try await fixture.get("/oauth2/token")
            #expect(get.status == 405 && get.header("Allow") == "POST, OPTIONS")
            let preflight = try await request(
                port: fixture.port,
                "OPTIONS /oauth2/token HTTP/1.1\r\nHost: localhost\r\nOrigin: https://app.element.io\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n")
            #expect(preflight.status == 204 && preflight.header("Access-Control-Allow-Origin") == "*")
            #expect(preflight.header("Access-Control-Allow-Methods") == "POST, OPTIONS")
        }
    }

    @Test(arguments: StoreBackend.allCases) func clientCredentialsWithBasicAuthentication(_ backend: StoreBackend) async throws {
        try await TokenEndpointsFixture.run(backend) { fixture in
            let response = try await fixture.post(
                "/oauth2/token", "grant_type=client_credentials&scope=urn%3Amas%3Agraphql%3A*",
                headers: [TokenEndpointsFixture.basic("service", TokenEndpointsFixture.secret)])
            #expect(response.status == 200)
            let json = try TokenEndpointsFixture.json(response)
            #expect(json["refresh_token"] == nil && json["scope"] as? String == "urn:mas:graphql:*")

            let wrong = try await fixture.post(
                "/oauth2/token", "grant_type=client_credentials", headers: [TokenEndpointsFixture.basic("service", "wrong-secret")])
            #expect(wrong.status == 401 && TokenEndpointsFixture.error(wrong) == "invalid_client")
            let matrix = try await fixture.post(
                "/oauth2/token", "grant_type=client_credentials&scope=urn%3Amatrix%3Aclient%3Aapi%3A*",
                headers: [TokenEndpointsFixture.basic("service", TokenEndpointsFixture.secret)])
            #expect(matrix.status == 400 && TokenEndpointsFixture.error(matrix) == "invalid_scope")
        }
    }

    @Test(arguments: StoreBackend.allCases) func revocationEndsTheSessionBeforeAnswering(_ backend: StoreBackend) async throws {
        try await TokenEndpointsFixture.run(backend) { fixture in
            let tokens = try await fixture.tokens()
            let access = try #require(tokens["access_token"] as? String)
            let garbage = try await fixture.post("/oauth2/revoke", "token=garbage&client_id=public")
            #expect(garbage.status == 200 && garbage.body.isEmpty && garbage.header("Cache-Control") == "no-store")
            let other = try await fixture.post(
                "/oauth2/revoke", "token=\(access)", headers: [TokenEndpointsFixture.basic("service", TokenEndpointsFixture.secret)])
            #expect(other.status == 401 && TokenEndpointsFixture.error(other) == "unauthorized_client")
            let hint = try await fixture.post("/oauth2/revoke", "token=\(access)&token_type_hint=id_token&client_id=public")
            #expect(hint.status == 400 && TokenEndpointsFixture.error(hint) == "unsupported_token_type")
            #expect(fixture.synapse.user("alice")?.devices["PHONE12345"] != nil)

            let revoked = try await fixture.post("/oauth2/revoke", "token=\(access)&token_type_hint=access_token&client_id=public")
            #expect(revoked.status == 200 && revoked.body.isEmpty)
            #expect(fixture.synapse.user("alice")?.devices.isEmpty == true, "the device is gone before the answer")
            let userinfo = try await fixture.get("/oauth2/userinfo", headers: ["Authorization: Bearer \(access)"])
            #expect(userinfo.status == 401)
        }
    }

    @Test(arguments: StoreBackend.allCases) func userInfo(_ backend: StoreBackend) async throws {
        try await TokenEndpointsFixture.run(backend) { fixture in
            let access = try #require(try await fixture.tokens()["access_token"] as? String)
            let response = try await fixture.get("/oauth2/userinfo", headers: ["Authorization: Bearer \(access)"])
            #expect(response.status == 200 && response.body == #"{"sub":"user-alice","username":"alice"}"#)
            let posted = try await fixture.post("/oauth2/userinfo", "access_token=\(access)")
            #expect(posted.status == 200)
            let both = try await fixture.post("/oauth2/userinfo", "access_token=\(access)", headers: ["Authorization: Bearer \(access)"])
            #expect(both.status == 400)
            let missing = try await fixture.get("/oauth2/userinfo")
            #expect(missing.status == 401 && missing.header("WWW-Authenticate") == "Bearer error=\"invalid_token\"")
            let garbage = try await fixture.get("/oauth2/userinfo", headers: ["Authorization: Bearer mat_nothing"])
            #expect(garbage.status == 401)
            let withoutOpenID = try #require(
                try await fixture.tokens(grant: "grant-2", scope: "urn:matrix:client:api:* urn:matrix:client:device:TABLET1234")["access_token"] as? String)
            #expect(try await fixture.get("/oauth2/userinfo", headers: ["Authorization: Bearer \(withoutOpenID)"]).status == 401)
        }
    }

    @Test(arguments: StoreBackend.allCases) func deviceAuthorizationAndPolling(_ backend: StoreBackend) async throws {
        try await TokenEndpointsFixture.run(backend, extraYAML: "rate_limiting: {device_authorization: {burst: 2, per_second: 0.001}}") { fixture in
            let response = try await fixture.post("/oauth2/device", "client_id=public&scope=openid+urn%3Amatrix%3Aclient%3Aapi%3A*")
            #expect(response.status == 200 && response.header("Cache-Control") == "no-store")
            let json = try TokenEndpointsFixture.json(response)
            let userCode = try #require(json["user_code"] as? String)
            let deviceCode = try #require(json["device_code"] as? String)
            #expect(json["verification_uri"] as? String == "http://localhost/link")
            #expect(json["verification_uri_complete"] as? String == "http://localhost/link?code=\(userCode)")
            #expect(json["expires_in"] as? Int == 1200 && json["interval"] as? Int == 5)

            let pending = try await fixture.post(
                "/oauth2/token", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=\(deviceCode)&client_id=public")
            #expect(pending.status == 400 && TokenEndpointsFixture.error(pending) == "authorization_pending")
            let tooSoon = try await fixture.post(
                "/oauth2/token", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=\(deviceCode)&client_id=public")
            #expect(TokenEndpointsFixture.error(tooSoon) == "slow_down")

            let normalized = try #require(UserCode.normalized(userCode))
            let grant = try #require(try await fixture.store.deviceGrants.findPending(userCode: normalized))
            try await fixture.store.deviceGrants.decide(
                id: grant.id, approved: true, userId: "user-alice", browserSessionId: "browser-alice", at: fixture.clock.now())
            fixture.clock.advance(by: 5)
            let approved = try await fixture.post(
                "/oauth2/token", "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=\(deviceCode)&client_id=public")
            #expect(approved.status == 200)
            #expect((try TokenEndpointsFixture.json(approved)["refresh_token"] as? String)?.hasPrefix("mar_") == true)

            _ = try await fixture.post("/oauth2/device", "client_id=public")
            let limited = try await fixture.post("/oauth2/device", "client_id=public")
            #expect(limited.status == 429 && limited.header("Retry-After") != nil)
            #expect(TokenEndpointsFixture.error(limited) == "temporarily_unavailable")
        }
    }
}
