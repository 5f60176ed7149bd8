import Foundation
import Crypto
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

@testable import GatehouseServer

/// Deterministic randomness (SplitMix64), so ids, codes and cookie nonces repeat run to run.
final class SeededRandom: RandomSource {
    private let state: Mutex<UInt64>

    init(seed: UInt64 = 0x5EED) { state = Mutex(seed) }

    func bytes(_ count: Int) -> [UInt8] {
        state.withLock { state in
            (0..<count).map { _ in
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return UInt8(truncatingIfNeeded: z ^ (z >> 31))
            }
        }
    }
}

/// The `pages` service over a real store (users, clients; a fresh SQLite file or PostgreSQL
/// database), in-memory OAuth 2.0 grant repositories, the scripted Synapse, a manual clock and seeded randomness; a one-cookie jar
/// plays the browser.
final class PagesFixture {
    static let serverName = "example.test"
    static let issuer = "https://auth.example.test/"
    static let challenge = Base64URL.encode(Array(SHA256Digest.of("verifier-verifier-verifier-verifier-verifier")))

    struct Options {
        var registration = false
        var tosURI: String?
        var templatesPath: String?
        var encryption = true
        var perIP = RateLimitConfiguration(burst: 1000, perSecond: 1000)
        /// `rate_limiting` YAML for the configuration (e.g. `{registration: {burst: 1}}`).
        var rateLimitingYAML: String?
        /// Use the store's repositories (SQLite or PostgreSQL) instead of the in-memory grant fakes.
        var storeRepositories = false
        /// Records page views of signed-in browsers.
        var activity: SessionActivityRecorder?
    }

    /// Where the configuration file would be (relative paths in it resolve there).
    let directory: String
    /// The test's database.
    let storage: StoreFixture
    let store: any IdentityStore
    let synapse: FakeSynapse
    let client: SynapseClient
    let clock = ManualClock()
    let random = SeededRandom()
    let hasher: PasswordHasher
    let runner: JobRunner
    let accounts: AccountService
    let browserSessions: MemoryBrowserSessions
    let grants = MemoryAuthorizationGrants()
    let deviceGrants = MemoryDeviceGrants()
    let ssoLogins = MemoryCompatSSOLogins()
    let service: PagesService
    let passwords: PasswordAuthenticator
    let configuration: GatehouseConfiguration
    /// The browser's `__Host-gatehouse-session` value.
    var cookie: String?
    /// The `csrf` field of the last page with a form.
    var csrf: String?

    init(_ backend: StoreBackend, _ options: Options = Options()) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-pages-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        storage = try await StoreFixture.make(backend)
        store = try await storage.open()
        synapse = try await FakeSynapse(group: MultiThreadedEventLoopGroup.singleton, secret: "s3cret", serverName: Self.serverName)
        client = SynapseClient(configuration: .init(endpoint: synapse.endpoint, secret: "s3cret"))
        hasher = try PasswordHasher(
            configuration: PasswordsConfiguration(enabled: true, schemes: [PasswordSchemeConfiguration(version: 1, algorithm: .bcrypt, cost: 4)]),
            threadPoolSize: 1, maxWaiting: 64)
        runner = JobRunner(repository: store.jobs, client: client, clock: clock)
        accounts = AccountService(store: store, synapse: client, runner: runner, hasher: hasher, serverName: Self.serverName, clock: clock)
        browserSessions = MemoryBrowserSessions(users: store.users)
        var yaml = """
            http: {public_base: "\(Self.issuer)", listeners: [{name: test, binds: [{address: "127.0.0.1:0"}]}]}
            matrix: {homeserver: \(Self.serverName), endpoint: "http://127.0.0.1:1/", secret: "test-secret-of-at-least-32-bytes!"}
            database: {path: test.db}
            routes: {files: [test.routes]}
            account: {password_registration_enabled: \(options.registration)}
            branding: {service_name: "Example Chat"\(options.tosURI.map { ", tos_uri: \"\($0)\"" } ?? "")}

            """
        if let path = options.templatesPath { yaml += "templates: {path: \"\(path)\"}\n" }
        if let limits = options.rateLimitingYAML { yaml += "rate_limiting: \(limits)\n" }
        var configuration = try ConfigurationLoader.parse(yaml: yaml, file: "\(directory)/gatehouse.yaml")
        if options.encryption { configuration.secrets = SecretsConfiguration(encryption: Array(repeating: 7, count: 32), keys: []) }
        self.configuration = configuration
        passwords = PasswordAuthenticator(
            store: store, hasher: hasher, serverName: Self.serverName, perIP: RateLimiter(options.perIP, clock: clock),
            perAccount: RateLimiter(burst: 1000, perSecond: 1000, clock: clock), clock: clock, random: random)
        service = try PagesService(
            configuration: configuration,
            repositories: options.storeRepositories
                ? PagesRepositories(store: store)
                : PagesRepositories(
                    users: store.users, clients: store.clients, browserSessions: browserSessions, authorizationGrants: grants,
                    deviceGrants: deviceGrants, compatSSOLogins: ssoLogins),
            passwords: passwords, accounts: accounts, clock: clock, random: random, activity: options.activity)
    }

    func close() async {
        try? await client.shutdown()
        try? await hasher.shutdown()
        try? await synapse.stop()
        await storage.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Data

    @discardableResult
    func register(_ username: String, password: String = "correct horse", admin: Bool = false) async throws -> User {
        try await accounts.registerUser(username: username, password: password, admin: admin, displayName: nil, emails: []).0
    }

    /// Adds a client and returns its id.
    @discardableResult
    func addClient(
        id: String = "01JCLIENT0000000000000000A", redirectURIs: [String], native: Bool = false, origin: OAuth2Client.Origin = .dynamic,
        name: String = "Example App", uri: String = "https://app.example.com/"
    ) async throws -> String {
        let metadata = ClientMetadata(
            applicationType: native ? .native : .web, redirectURIs: redirectURIs, clientName: ["": name], clientURI: ["": uri])
        try await store.clients.add(OAuth2Client(id: id, origin: origin, metadata: metadata, createdAt: clock.now()))
        return id
    }

    // MARK: Browser

    func send(_ method: HTTPMethod, _ target: String, form: [(String, String)]? = nil, withCookie: Bool = true, responder: (any LocalResponder)? = nil)
        async -> Reply
    {
        var headers = HTTPHeaders([("User-Agent", "PagesTests")])
        if withCookie, let cookie { headers.add(name: "Cookie", value: "other=1; \(SessionCookie.name)=\(cookie)") }
        var body = ByteBuffer()
        if let form {
            headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            body = ByteBuffer(string: FormURLEncoded.encode(form))
        }
        let request = LocalRequest(
            method: method, target: try! CanonicalPath.parse(target).get(), headers: headers, body: body, peerAddress: "192.0.2.10", isTLS: true)
        let reply = Reply(await (responder ?? service.responder).respond(to: request))
        if let set = reply.headers.first(name: "Set-Cookie"), set.hasPrefix(SessionCookie.name + "=") {
            cookie = String(set.dropFirst(SessionCookie.name.count + 1).prefix { $0 != ";" })
        }
        if let token = reply.csrfField { csrf = token }
        return reply
    }

    func get(_ target: String) async -> Reply { await send(.GET, target) }

    /// Posts a form with the current CSRF token.
    func post(_ target: String, _ fields: [(String, String)]) async -> Reply {
        await send(.POST, target, form: [("csrf", csrf ?? "")] + fields)
    }

    /// Signs in through the login form.
    func signIn(_ username: String = "alice", password: String = "correct horse") async throws {
        _ = await get("/login")
        let reply = await post("/login", [("username", username), ("password", password)])
        try #require(reply.status == 303, "sign-in failed: \(reply.text)")
    }

    /// An authorization request's target with sensible defaults.
    static func authorize(
        client: String = "01JCLIENT0000000000000000A", redirect: String? = "https://app.example.com/callback",
        scope: String? = "openid urn:matrix:client:api:*", state: String? = "xyz", extra: [(String, String)] = [],
        challenge: String? = PagesFixture.challenge, method: String? = "S256"
    ) -> String {
        var parameters: [(String, String)] = [("response_type", "code"), ("client_id", client)]
        if let redirect { parameters.append(("redirect_uri", redirect)) }
        if let scope { parameters.append(("scope", scope)) }
        if let state { parameters.append(("state", state)) }
        if let challenge { parameters.append(("code_challenge", challenge)) }
        if let method { parameters.append(("code_challenge_method", method)) }
        return "/authorize?" + FormURLEncoded.encode(parameters + extra)
    }
}

extension Reply {
    var location: String? { headers.first(name: "Location") }

    /// The hidden `csrf` input of the page, if it has a form.
    var csrfField: String? {
        guard let range = text.range(of: #"name="csrf" value="[^"]*""#, options: .regularExpression) else { return nil }
        return String(text[range].dropFirst(#"name="csrf" value=""#.count).dropLast())
    }

    /// The query (or fragment) parameters of the `Location`.
    func locationParameters(after separator: Character = "?") -> [String: String] {
        guard let location, let index = location.firstIndex(of: separator) else { return [:] }
        let pairs = FormURLEncoded.parse(location[location.index(after: index)...].utf8) ?? []
        return Dictionary(pairs.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
    }
}

enum SHA256Digest {
    static func of(_ text: String) -> [UInt8] {
        Array(Crypto.SHA256.hash(data: Array(text.utf8)))
    }
}

func withPages(_ backend: StoreBackend, _ options: PagesFixture.Options = .init(), _ body: (PagesFixture) async throws -> Void) async throws {
    let fixture = try await PagesFixture(backend, options)
    do {
        try await body(fixture)
    } catch {
        await fixture.close()
        throw error
    }
    await fixture.close()
}
