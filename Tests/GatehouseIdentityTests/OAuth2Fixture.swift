import Crypto
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

/// The OAuth 2.0 token services against a real store (SQLite or PostgreSQL), the scripted Synapse and a manual
/// clock. Grants are created directly through the repositories (the `/authorize` and `/link`
/// pages are another component).
final class OAuth2Fixture {
    static let issuer = "https://auth.example.test/"
    static let ecKey = P256.Signing.PrivateKey()
    static let secrets = SecretsConfiguration(encryption: Array(repeating: 7, count: 32), keys: [SigningKey(kid: "ec-1", material: .p256(ecKey))])
    /// A verifier/challenge pair (RFC 7636 Appendix B).
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    static let secret = "a-long-random-client-secret-0123456789"

    /// The test's database.
    let storage: StoreFixture
    let store: any IdentityStore
    let synapse: FakeSynapse
    let client: SynapseClient
    let runner: JobRunner
    let clock = ManualClock()
    let service: OAuth2TokenService
    let deviceAuthorization: DeviceAuthorizationService
    let revocations = Counter()

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func increment() { lock.withLock { value += 1 } }
        var count: Int { lock.withLock { value } }
    }

    init(_ backend: StoreBackend, signing: Bool = true) async throws {
        storage = try await StoreFixture.make(backend)
        store = try await storage.open()
        synapse = try await FakeSynapse(group: MultiThreadedEventLoopGroup.singleton, secret: "s3cret", serverName: "example.test")
        client = SynapseClient(configuration: .init(endpoint: synapse.endpoint, secret: "s3cret"))
        runner = JobRunner(repository: store.jobs, client: client, clock: clock)
        let signer = signing ? try await IDTokenSigner(issuer: Self.issuer, secrets: Self.secrets, clock: clock) : nil
        let counter = revocations
        service = OAuth2TokenService(
            store: store, synapse: client, queue: JobQueue(repository: store.jobs), signer: signer, clock: clock,
            onRevocation: { counter.increment() })
        deviceAuthorization = DeviceAuthorizationService(store: store, clock: clock)
    }

    private var closed = false

    /// A test that failed before ``close()`` still shuts the HTTP client down (its deinit traps
    /// otherwise), so one failure is reported instead of crashing the run, and gives its database
    /// back (PostgreSQL test databases are a limited number at a time).
    deinit {
        guard !closed else { return }
        let client = self.client
        let synapse = self.synapse
        let storage = self.storage
        Task {
            try? await client.shutdown()
            try? await synapse.stop()
            await storage.close()
        }
    }

    func close() async throws {
        closed = true
        try await client.shutdown()
        try await synapse.stop()
        await storage.close()
    }

    // MARK: Setup

    /// A user (in the store and in Synapse) with an active browser session `browser-<name>`.
    @discardableResult
    func user(_ name: String, admin: Bool = false) async throws -> User {
        let user = try await store.users.create(User(id: "user-\(name)", username: name, createdAt: clock.now(), isAdmin: admin))
        synapse.addUser(FakeSynapse.User(localpart: name))
        try await store.browserSessions.create(
            BrowserSession(id: "browser-\(name)", userId: user.id, createdAt: clock.now(), authenticatedAt: clock.now().addingTimeInterval(-60)))
        return user
    }

    /// Registers a client; `method` `none` is public, the others take ``secret``.
    @discardableResult
    func registerClient(
        _ id: String, method: ClientAuthMethod = .none,
        grants: [String] = [GrantType.authorizationCode, GrantType.refreshToken, GrantType.deviceCode], name: String = "Element"
    ) async throws -> OAuth2Client {
        let metadata = ClientMetadata(
            applicationType: .native, redirectURIs: ["io.element.app:/callback"], grantTypes: grants, responseTypes: ["code"],
            tokenEndpointAuthMethod: method.rawValue, clientName: ["": name], clientURI: ["": "https://element.io"], logoURI: [:], tosURI: [:],
            policyURI: [:], contacts: [])
        let client = OAuth2Client(
            id: id, origin: .cli, metadata: metadata, secretHash: method.usesSecret ? ClientSecret.hash(Self.secret) : nil,
            createdAt: clock.now())
        try await store.clients.add(client)
        return client
    }

    /// A grant the user consented to just now; returns its code.
    func fulfilledGrant(
        _ id: String, client: String = "client-1", user: String = "alice", scope: String = "openid urn:matrix:client:api:* urn:matrix:client:device:PHONE12345",
        nonce: String? = "nonce-1"
    ) async throws -> String {
        try await store.authorizationGrants.create(AuthorizationGrant(
            id: id, clientId: client, redirectURI: "io.element.app:/callback", scope: scope, state: "state-1", nonce: nonce,
            codeChallenge: Self.challenge, responseMode: .query, createdAt: clock.now()))
        let code = "code-\(id)-" + String(repeating: "x", count: 20)
        try await store.authorizationGrants.fulfil(
            id: id, userId: "user-\(user)", browserSessionId: "browser-\(user)", codeHash: TokenHasher.sha256Hex(code), at: clock.now())
        return code
    }

    // MARK: Requests

    static func credentials(_ clientId: String = "client-1", method: ClientAuthMethod = .none, secret: String? = nil) -> ClientCredentials {
        ClientCredentials(clientId: clientId, secret: method.usesSecret ? (secret ?? Self.secret) : nil, method: method)
    }

    static func form(_ parameters: [(String, String)]) -> OAuth2Form {
        OAuth2Form(parameters.map { (name: $0.0, value: $0.1) })
    }

    func exchange(
        code: String, verifier: String? = OAuth2Fixture.verifier, redirectURI: String? = nil,
        credentials: ClientCredentials = OAuth2Fixture.credentials()
    ) async throws(OAuth2TokenError) -> OAuth2TokenService.TokenResponse {
        var parameters = [("grant_type", "authorization_code"), ("code", code)]
        if let verifier { parameters.append(("code_verifier", verifier)) }
        if let redirectURI { parameters.append(("redirect_uri", redirectURI)) }
        return try await service.token(credentials: credentials, form: Self.form(parameters))
    }

    func refresh(_ token: String, credentials: ClientCredentials = OAuth2Fixture.credentials()) async throws(OAuth2TokenError) -> OAuth2TokenService.TokenResponse {
        try await service.token(credentials: credentials, form: Self.form([("grant_type", "refresh_token"), ("refresh_token", token)]))
    }

    func poll(_ deviceCode: String, credentials: ClientCredentials = OAuth2Fixture.credentials()) async throws(OAuth2TokenError) -> OAuth2TokenService.TokenResponse {
        try await service.token(credentials: credentials, form: Self.form([("grant_type", GrantType.deviceCode), ("device_code", deviceCode)]))
    }

    /// The introspection side effect the token endpoint's refresh logic depends on.
    func markUsed(_ accessToken: String) async throws {
        let found = try #require(try await store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(accessToken)))
        try await store.oauth2Sessions.markUsed(accessTokenId: found.token.id, at: clock.now())
    }

    /// Whether the token is live in the store (not revoked, session not finished).
    func isLive(accessToken: String) async throws -> Bool {
        guard let found = try await store.oauth2Sessions.lookupAccessToken(hash: TokenHasher.sha256Hex(accessToken)) else { return false }
        return found.token.revokedAt == nil && found.session.finishedAt == nil && found.token.expiresAt > clock.now()
    }

    /// The JSON claims of a compact JWS, decoded without checking the signature.
    static func claims(_ jwt: String) throws -> [String: Any] {
        var part = String(jwt.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while part.count % 4 != 0 { part += "=" }
        let data = try #require(Data(base64Encoded: part))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// Expects `body` to fail with `code`.
func expectOAuth2Error<T>(
    _ code: OAuth2TokenError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code.rawValue), the request succeeded", sourceLocation: sourceLocation)
    } catch let error as OAuth2TokenError {
        #expect(error.code == code, "got \(error.code.rawValue): \(error.description)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}
