import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseHomeserver
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import Logging
import NIOPosix
import ServiceLifecycle
import Testing

@testable import GatehouseServer

/// A gateway with two listeners, `admin` (serving the admin API) and `public` (not), a real store
/// (a fresh SQLite file or PostgreSQL database), the scripted Synapse, the account service of
/// `gatehouse manage`, and two confidential clients: `adminClient` (in `admin_api.clients`) and
/// `otherClient` (not).
final class AdminAPIFixture: @unchecked Sendable {
    static let adminClient = "01J9ZQ3B7N6Y2W8K4R5T0V1X2Y"
    static let otherClient = "01J9ZQ3B7N6Y2W8K4R5T0V1X3Z"
    static let publicClient = "01J9ZQ3B7N6Y2W8K4R5T0V1X4A"
    static let secret = "a-long-random-client-secret-0123456789"

    /// Where the configuration and route files are written.
    let directory: String
    /// The test's database.
    let storage: StoreFixture
    let store: any IdentityStore
    let synapse: FakeSynapse
    let client: SynapseClient
    let hasher: PasswordHasher
    let accounts: AccountService
    let clock = ManualClock()
    var adminPort = 0
    var publicPort = 0

    private init(_ backend: StoreBackend) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-admin-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        storage = try await StoreFixture.make(backend)
        store = try await storage.open()
        synapse = try await FakeSynapse(group: MultiThreadedEventLoopGroup.singleton, secret: "s3cret", serverName: "localhost")
        client = SynapseClient(configuration: .init(endpoint: synapse.endpoint, secret: "s3cret"))
        hasher = try PasswordHasher(
            configuration: PasswordsConfiguration(enabled: true, schemes: [PasswordSchemeConfiguration(version: 1, algorithm: .bcrypt, cost: 4)]),
            threadPoolSize: 1, maxWaiting: 8)
        let runner = JobRunner(repository: store.jobs, client: client, clock: clock)
        accounts = AccountService(store: store, synapse: client, runner: runner, hasher: hasher, serverName: "localhost", clock: clock)
    }

    /// Runs `body` with the gateway up, on a store of `backend`.
    static func run(_ backend: StoreBackend, _ body: (AdminAPIFixture) async throws -> Void) async throws {
        let fixture = try await AdminAPIFixture(backend)
        do {
            try await fixture.seedClients()
            try await fixture.serve(body)
        } catch {
            try? await fixture.close()
            throw error
        }
        try await fixture.close()
    }

    private func close() async throws {
        try await client.shutdown()
        try await synapse.stop()
        try await hasher.shutdown()
        await storage.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func seedClients() async throws {
        for (id, method) in [(Self.adminClient, ClientAuthMethod.clientSecretBasic), (Self.otherClient, .clientSecretBasic), (Self.publicClient, .none)] {
            let grants = method == .none ? [GrantType.authorizationCode, GrantType.refreshToken] : [GrantType.clientCredentials]
            try await store.clients.add(OAuth2Client(
                id: id, origin: .cli,
                metadata: ClientMetadata(
                    applicationType: .native, redirectURIs: ["io.element.app:/callback"], grantTypes: grants, tokenEndpointAuthMethod: method.rawValue,
                    clientName: ["": "Client \(id.suffix(3))"]),
                secretHash: method.usesSecret ? ClientSecret.hash(Self.secret) : nil, createdAt: clock.now()))
        }
    }

    private func serve(_ body: (AdminAPIFixture) async throws -> Void) async throws {
        try """
        *    ^/oauth2/            local oauth2     max_body=64KiB
        *    ^/api/admin/v1(/|$)  local admin-api  max_body=64KiB
        GET  ^/api/spec\\.json$    local admin-api  max_body=0
        """.write(toFile: "\(directory)/test.routes", atomically: true, encoding: .utf8)
        try """
        http:
          public_base: http://localhost/
          listeners:
            - name: admin
              binds: [{address: "127.0.0.1:0"}]
            - name: public
              binds: [{address: "127.0.0.1:0"}]
        matrix: {homeserver: localhost, endpoint: "http://127.0.0.1:1/", secret: "test-secret-of-at-least-32-bytes!"}
        database: {path: test.db}
        routes: {files: [test.routes]}
        log: {access: false}
        admin_api:
          listeners: [admin]
          clients: [\(Self.adminClient)]
        """.write(toFile: "\(directory)/gatehouse.yaml", atomically: true, encoding: .utf8)
        let bundle = try ConfigurationBundle.load(path: "\(directory)/gatehouse.yaml")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let oauth2 = OAuth2Service(
            configuration: bundle.configuration, store: store,
            tokenIssuing: .init(synapse: client, queue: JobQueue(repository: store.jobs), devices: DeviceGuard(store: store), signer: nil),
            clock: clock)
        let admin = AdminAPIService(configuration: bundle.configuration, store: store, accounts: accounts, clock: clock)
        let runtime = GatewayRuntime(
            configuration: bundle.configuration, routes: bundle.routes, responders: [.oauth2: oauth2.responder, .adminAPI: admin.responder],
            logger: logger, oauth2: oauth2)
        let (ports, continuation) = AsyncStream<[GatehouseServer.BoundListener]>.makeStream()
        let server = try GatehouseServer(runtime: runtime, group: MultiThreadedEventLoopGroup.singleton) { continuation.yield($0) }
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
        let running = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else { throw CancellationError() }
        adminPort = try #require(bound.first { $0.listener == "admin" }).port
        publicPort = try #require(bound.first { $0.listener == "public" }).port
        do {
            try await body(self)
            await group.triggerGracefulShutdown()
            try await running.value
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }

    // MARK: Requests

    /// A client_credentials token of `client` for `scope`; fails the test unless it is issued.
    func token(client: String = adminClient, scope: String = "urn:mas:admin") async throws -> String {
        let response = try await tokenResponse(client: client, scope: scope)
        #expect(response.status == 200, "\(response.body)")
        return try #require(Self.object(response)["access_token"] as? String)
    }

    func tokenResponse(client: String, scope: String) async throws -> RawHTTPClient.Response {
        let form = "grant_type=client_credentials&scope=\(scope.replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: " ", with: "+"))"
        let basic = "Authorization: Basic " + Data("\(client):\(Self.secret)".utf8).base64EncodedString()
        return try await request(
            port: adminPort,
            "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n\(basic)\r\n"
                + "Content-Length: \(form.utf8.count)\r\nConnection: close\r\n\r\n\(form)")
    }

    /// An admin API call on the `admin` listener (or `port`), with `token` as Bearer when given.
    func call(
        _ method: String, _ path: String, token: String?, json: String? = nil, authorization: String? = nil, port: Int? = nil
    ) async throws -> RawHTTPClient.Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        if let authorization { head += "Authorization: \(authorization)\r\n" } else if let token { head += "Authorization: Bearer \(token)\r\n" }
        if let json { head += "Content-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n" }
        return try await request(port: port ?? adminPort, head + "\r\n" + (json ?? ""))
    }

    /// A user made in the store (and in the fake Synapse) without the API.
    func seedUser(_ username: String, admin: Bool = false) async throws -> User {
        let (user, _) = try await accounts.registerUser(username: username, password: nil, admin: admin, displayName: nil, emails: [])
        return user
    }

    /// A token of an OAuth 2.0 session of `user` with `scope`, made in the store as the token endpoint would.
    func userToken(_ user: User, scope: String) async throws -> (token: String, session: OAuth2Session) {
        let session = OAuth2Session(
            id: ULID.make(at: clock.now(), random: SystemRandom()), clientId: Self.publicClient, userId: user.id, scope: scope, deviceId: nil,
            createdAt: clock.now())
        let token = TokenFormat.generate(.accessToken, random: SystemRandom())
        let row = OAuth2AccessToken(
            id: ULID.make(at: clock.now(), random: SystemRandom()), sessionId: session.id, tokenHash: TokenHasher.sha256Hex(token),
            createdAt: clock.now(), expiresAt: clock.now().addingTimeInterval(300))
        try await store.oauth2Sessions.create(session: session, accessToken: row, refreshToken: nil, grantId: nil)
        return (token, session)
    }

    static func object(_ response: RawHTTPClient.Response) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any], "\(response.body)")
    }

    /// `errors[0].title` of an error answer.
    static func title(_ response: RawHTTPClient.Response) -> String? {
        ((try? object(response))?["errors"] as? [[String: Any]])?.first?["title"] as? String
    }

    /// `data` of a single-resource answer.
    static func data(_ response: RawHTTPClient.Response) throws -> [String: Any] {
        try #require(try object(response)["data"] as? [String: Any])
    }

    /// `data[].attributes` of a single-resource answer.
    static func attributes(_ response: RawHTTPClient.Response) throws -> [String: Any] {
        try #require(try data(response)["attributes"] as? [String: Any])
    }

    /// The ids of a list answer's `data`.
    static func ids(_ response: RawHTTPClient.Response) throws -> [String] {
        try #require(try object(response)["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
    }

    /// A link of a list answer, as a path to request.
    static func link(_ response: RawHTTPClient.Response, _ name: String) throws -> String? {
        (try object(response)["links"] as? [String: Any])?[name] as? String
    }
}
