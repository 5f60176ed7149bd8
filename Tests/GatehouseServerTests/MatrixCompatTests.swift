import Dispatch
import Foundation
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

@testable import GatehouseAuth
@testable import GatehouseServer

/// The `matrix-compat` local service (`MatrixCompatResponder` over `CompatLoginService`) driven with
/// hand-built requests, against a real store (every test on SQLite and on PostgreSQL), the scripted
/// Synapse and a manual clock: MAS's compat error table row by row (`compat/login.rs`, `logout.rs`,
/// `logout_all.rs`, `refresh.rs` and their tests), with full-JSON golden bodies wherever the body is
/// deterministic.
final class CompatFixture {
    static let serverName = "example.test"

    /// What a test may vary.
    struct Options {
        var passwordsEnabled = true
        /// `rate_limiting.login.per_ip`; generous unless a test is about rate limiting.
        var perIP = RateLimitConfiguration(burst: 1000, perSecond: 1000)
        /// `rate_limiting.login.per_account`.
        var perAccount = RateLimitConfiguration(burst: 1000, perSecond: 1000)
        var trustedProxies: [String] = []
        /// Hashing threads, and operations allowed to wait for one.
        var hashingThreads = 1
        var hashingQueue = 64
        /// The Synapse client's per-call deadline.
        var synapseRequestTimeout: Duration = .seconds(10)
    }

    /// The test's database.
    let storage: StoreFixture
    let store: any IdentityStore
    let synapse: FakeSynapse
    let client: SynapseClient
    let clock = ManualClock()
    let hasher: PasswordHasher
    /// Runs queued jobs when a test asks (`runner.runPending`), with the device lock the logins use.
    let runner: JobRunner
    let devices: DeviceGuard
    let accounts: AccountService
    let service: CompatLoginService
    let responder: MatrixCompatResponder
    let revocations = RevocationCounter()

    final class RevocationCounter: Sendable {
        private let value = Mutex(0)
        func increment() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    init(_ backend: StoreBackend, _ options: Options = Options()) async throws {
        storage = try await StoreFixture.make(backend)
        store = try await storage.open()
        synapse = try await FakeSynapse(group: MultiThreadedEventLoopGroup.singleton, secret: "s3cret", serverName: Self.serverName)
        client = SynapseClient(
            configuration: .init(endpoint: synapse.endpoint, secret: "s3cret", requestTimeout: options.synapseRequestTimeout))
        // bcrypt at its lowest cost keeps the suite fast; the code paths are the same for every scheme.
        hasher = try PasswordHasher(
            configuration: PasswordsConfiguration(
                enabled: options.passwordsEnabled, schemes: [PasswordSchemeConfiguration(version: 1, algorithm: .bcrypt, cost: 4)]),
            threadPoolSize: options.hashingThreads, maxWaiting: options.hashingQueue)
        devices = DeviceGuard(store: store)
        runner = JobRunner(
            repository: store.jobs, client: client, clock: clock, configuration: .init(orphanConfirmationDelay: .seconds(10)), devices: devices)
        accounts = AccountService(
            store: store, synapse: client, runner: runner, hasher: hasher, serverName: Self.serverName, devices: devices, clock: clock)
        let counter = revocations
        // No runner behind the compat queue: jobs it queues stay in the store for the test to see.
        service = CompatLoginService(
            store: store, synapse: client, queue: JobQueue(repository: store.jobs), hasher: hasher, serverName: Self.serverName,
            perIP: RateLimiter(options.perIP, clock: clock), perAccount: RateLimiter(options.perAccount, clock: clock), devices: devices,
            clock: clock, onRevocation: { counter.increment() })
        responder = MatrixCompatResponder(service: service, trustedProxies: options.trustedProxies.map { IPNetwork.parse($0)! })
    }

    func close() async {
        try? await client.shutdown()
        try? await hasher.shutdown()
        try? await synapse.stop()
        await storage.close()
    }

    // MARK: Users

    /// Registers a user in the store and in Synapse.
    @discardableResult
    func register(_ username: String, password: String? = "correct horse") async throws -> User {
        try await accounts.registerUser(username: username, password: password, admin: false, displayName: nil, emails: []).0
    }

    func user(_ username: String) async throws -> User {
        try #require(try await store.users.find(username: username))
    }

    // MARK: Requests

    static let json: [(String, String)] = [("Content-Type", "application/json")]

    func request(
        _ method: HTTPMethod = .POST, _ path: String, body: String = "", headers: [(String, String)] = json, peer: String? = "192.0.2.10"
    ) -> LocalRequest {
        LocalRequest(
            method: method, target: try! CanonicalPath.parse(path).get(), headers: HTTPHeaders(headers), body: ByteBuffer(string: body),
            peerAddress: peer, isTLS: true)
    }

    func send(_ request: LocalRequest) async -> Reply {
        Reply(await responder.respond(to: request))
    }

    func send(
        _ method: HTTPMethod = .POST, _ path: String, body: String = "", headers: [(String, String)] = json, peer: String? = "192.0.2.10"
    ) async -> Reply {
        await send(request(method, path, body: body, headers: headers, peer: peer))
    }

    /// `POST /login` with a JSON object.
    func login(_ fields: [String: Any], peer: String? = "192.0.2.10", headers: [(String, String)] = json) async -> Reply {
        await send(.POST, "/_matrix/client/v3/login", body: Self.encode(fields), headers: headers, peer: peer)
    }

    func passwordLogin(
        _ user: String, _ password: String = "correct horse", extra: [String: Any] = [:], peer: String? = "192.0.2.10",
        headers: [(String, String)] = json
    ) async -> Reply {
        var fields: [String: Any] = ["type": "m.login.password", "identifier": ["type": "m.id.user", "user": user], "password": password]
        fields.merge(extra) { _, new in new }
        return await login(fields, peer: peer, headers: headers)
    }

    /// Logs in and returns the response's fields (the test fails if the login does).
    func session(
        _ user: String, device: String? = nil, refresh: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> (accessToken: String, refreshToken: String?, deviceId: String) {
        var extra: [String: Any] = [:]
        if let device { extra["device_id"] = device }
        if refresh { extra["refresh_token"] = true }
        let reply = await passwordLogin(user, extra: extra)
        try #require(reply.status == 200, "login failed: \(reply.text)", sourceLocation: sourceLocation)
        return (
            try #require(reply.json["access_token"] as? String, sourceLocation: sourceLocation), reply.json["refresh_token"] as? String,
            try #require(reply.json["device_id"] as? String, sourceLocation: sourceLocation)
        )
    }

    func logout(_ token: String?, all: Bool = false, body: String = "") async -> Reply {
        let headers = token.map { [("Authorization", "Bearer \($0)")] + Self.json } ?? Self.json
        return await send(.POST, all ? "/_matrix/client/v3/logout/all" : "/_matrix/client/v3/logout", body: body, headers: headers)
    }

    func refresh(_ token: String) async -> Reply {
        await send(.POST, "/_matrix/client/v3/refresh", body: Self.encode(["refresh_token": token]))
    }

    /// The store's view of an access token.
    func lookup(_ accessToken: String) async throws -> CompatAccessTokenLookup {
        try #require(try await store.compatSessions.lookupAccessToken(hash: TokenHasher.sha256Hex(accessToken)))
    }

    static func encode(_ object: [String: Any]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

/// A response, decoded for assertions.
struct Reply {
    let status: Int
    let headers: HTTPHeaders
    let text: String

    init(_ response: LocalResponse) {
        status = Int(response.status.code)
        headers = response.headers
        text = String(buffer: response.body)
    }

    /// The body as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// `retry_after_ms` as written: an integer literal, or `nil`.
    var retryAfterMilliseconds: Int? {
        guard let range = text.range(of: #""retry_after_ms":([0-9]+)[,}]"#, options: .regularExpression) else { return nil }
        return Int(text[range].dropFirst(#""retry_after_ms":"#.count).dropLast())
    }
}

/// The JSON text in a normal form (keys sorted, no spaces), so goldens compare values, not key order.
private func canonicalJSON(_ text: String) -> String? {
    guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    else { return nil }
    return String(decoding: data, as: UTF8.self)
}

/// The reply has this status and exactly this JSON body (T4: full-JSON golden).
private func expectGolden(_ reply: Reply, _ status: Int, _ golden: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(reply.status == status, "body: \(reply.text)", sourceLocation: sourceLocation)
    #expect(reply.headers.first(name: "content-type") == "application/json", sourceLocation: sourceLocation)
    #expect(canonicalJSON(reply.text) != nil, "not JSON: \(reply.text)", sourceLocation: sourceLocation)
    #expect(canonicalJSON(reply.text) == canonicalJSON(golden), "body: \(reply.text)", sourceLocation: sourceLocation)
}

/// The reply is exactly the Matrix error `{"errcode", "error"}` with this status (for 429, with an
/// integer `retry_after_ms` as well, checked by the caller).
private func expectError(
    _ reply: Reply, _ status: Int, _ errcode: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    var golden: [String: Any] = ["errcode": errcode, "error": message]
    if let retry = reply.retryAfterMilliseconds, status == 429 { golden["retry_after_ms"] = retry }
    expectGolden(reply, status, CompatFixture.encode(golden), sourceLocation: sourceLocation)
}

private let invalidCredentials = #"{"errcode":"M_FORBIDDEN","error":"Invalid username/password"}"#
private let internalError = #"{"errcode":"M_UNKNOWN","error":"Internal server error"}"#
private let homeserverUnavailable = #"{"errcode":"M_UNKNOWN","error":"The homeserver is unavailable; try again later"}"#

/// Not serialized but gated: every test case has a fixture of its own (store, Synapse, clock,
/// hasher), a few run at once (``gate``), and a test with a real-time deadline runs alone.
@Suite
struct MatrixCompatTests {
    /// Four fixtures at a time.
    static let gate = FixtureGate(permits: 4)

    /// Runs `body` with a fresh fixture on `backend`; `exclusive` for a test whose Synapse deadline
    /// is short enough for the suite's own load to matter.
    func withFixture(
        _ backend: StoreBackend, _ options: CompatFixture.Options = .init(), exclusive: Bool = false,
        _ body: (CompatFixture) async throws -> Void
    ) async throws {
        let permits = exclusive ? Self.gate.permits : 1
        await Self.gate.acquire(permits)
        let fixture: CompatFixture
        do {
            fixture = try await CompatFixture(backend, options)
        } catch {
            await Self.gate.release(permits)
            throw error
        }
        do {
            try await body(fixture)
        } catch {
            await fixture.close()
            await Self.gate.release(permits)
            throw error
        }
        await fixture.close()
        await Self.gate.release(permits)
    }

    // MARK: GET /login, OPTIONS, routing

    @Test(arguments: StoreBackend.allCases, ["/_matrix/client/v3/login", "/_matrix/client/r0/login", "/_matrix/client/v3/login/"])
    func loginFlows(_ backend: StoreBackend, path: String) async throws {
        try await withFixture(backend) { fixture in
            let reply = await fixture.send(.GET, path, headers: [])
            // MAS also lists m.login.sso; Gatehouse has no SSO, so it offers only what it can complete.
            expectGolden(reply, 200, #"{"flows":[{"type":"m.login.password"},{"type":"m.login.token"}]}"#)
            #expect(reply.text == #"{"flows":[{"type":"m.login.password"},{"type":"m.login.token"}]}"#, "password first, as MAS orders them")
            #expect(reply.headers.first(name: "access-control-allow-origin") == "*")
            #expect(reply.headers.first(name: "cache-control") == "no-store")
        }
    }

    @Test(arguments: StoreBackend.allCases) func passwordsDisabled(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.passwordsEnabled = false
        try await withFixture(backend, options) { fixture in
            expectGolden(await fixture.send(.GET, "/_matrix/client/v3/login", headers: []), 200, #"{"flows":[{"type":"m.login.token"}]}"#)
            try await fixture.register("alice", password: nil)
            expectError(await fixture.passwordLogin("alice"), 400, "M_UNKNOWN", "Invalid login type")
            // The other flow still works.
            let token = try await fixture.accounts.issueLoginToken(username: "alice")
            #expect(await fixture.login(["type": "m.login.token", "token": token]).status == 200)
        }
    }

    @Test(arguments: StoreBackend.allCases, ["/_matrix/client/v3/login", "/_matrix/client/v3/logout", "/_matrix/client/v3/logout/all", "/_matrix/client/v3/refresh"])
    func corsPreflight(_ backend: StoreBackend, path: String) async throws {
        try await withFixture(backend) { fixture in
            let reply = await fixture.send(.OPTIONS, path, headers: [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")])
            #expect(reply.status == 204)
            #expect(reply.text.isEmpty)
            #expect(reply.headers.first(name: "access-control-allow-origin") == "*")
            #expect(reply.headers.first(name: "access-control-allow-methods")?.contains("POST") == true)
            let allowed = reply.headers.first(name: "access-control-allow-headers")?.lowercased() ?? ""
            #expect(allowed.contains("authorization") && allowed.contains("content-type"))
        }
    }

    @Test(arguments: StoreBackend.allCases) func otherMethodsAndPaths(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            expectError(await fixture.send(.GET, "/_matrix/client/v3/logout", headers: []), 405, "M_UNRECOGNIZED", "Unrecognized request")
            expectError(await fixture.send(.PUT, "/_matrix/client/v3/login", body: "{}"), 405, "M_UNRECOGNIZED", "Unrecognized request")
            expectError(await fixture.send(.GET, "/_matrix/client/v3/refresh", headers: []), 405, "M_UNRECOGNIZED", "Unrecognized request")
            expectError(
                await fixture.send(.GET, "/_matrix/client/v3/login/sso/redirect?redirectUrl=https://app.example/", headers: []), 404,
                "M_UNRECOGNIZED", "Single sign-on is not available on this server")
            let unknown = await fixture.send(.POST, "/_matrix/client/v3/login/get_token", body: "{}")
            expectError(unknown, 404, "M_UNRECOGNIZED", "Unrecognized request")
            #expect(unknown.headers.first(name: "access-control-allow-origin") == "*", "errors carry the CORS headers too")
        }
    }

    // MARK: Body rules (MAS MatrixJsonBody)

    struct BodyCase: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var contentType: String?
        var errcode: String
        var error: String
        var testDescription: String { name }
    }

    static let notJSON = "Body is not a valid JSON document"
    static let badJSON = "JSON fields are not valid"
    static let password = #""type":"m.login.password","identifier":{"type":"m.id.user","user":"alice"}"#

    static let bodyCases: [BodyCase] = [
        BodyCase(name: "empty", body: "", contentType: "application/json", errcode: "M_NOT_JSON", error: notJSON),
        BodyCase(name: "empty, no Content-Type", body: "", contentType: nil, errcode: "M_NOT_JSON", error: notJSON),
        BodyCase(name: "truncated", body: "{", contentType: "application/json", errcode: "M_NOT_JSON", error: notJSON),
        BodyCase(name: "trailing garbage", body: "{} x", contentType: "application/json", errcode: "M_NOT_JSON", error: notJSON),
        BodyCase(name: "empty object", body: "{}", contentType: "application/json", errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(name: "array", body: "[]", contentType: "application/json", errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(name: "number", body: "5", contentType: "application/json", errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(
            name: "text/plain", body: "{\(password),\"password\":\"x\"}", contentType: "text/plain", errcode: "M_NOT_JSON",
            error: "Invalid Content-Type header: expected application/json"),
        BodyCase(
            name: "form", body: "type=m.login.password", contentType: "application/x-www-form-urlencoded", errcode: "M_NOT_JSON",
            error: "Invalid Content-Type header: expected application/json"),
        BodyCase(name: "type not a string", body: #"{"type":5}"#, contentType: "application/json", errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(name: "password not a string", body: "{\(password),\"password\":5}", contentType: nil, errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(name: "missing password", body: "{\(password)}", contentType: nil, errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(
            name: "refresh_token a string", body: "{\(password),\"password\":\"x\",\"refresh_token\":\"yes\"}", contentType: nil,
            errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(
            name: "refresh_token a number", body: "{\(password),\"password\":\"x\",\"refresh_token\":1}", contentType: nil,
            errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(
            name: "device_id a number", body: "{\(password),\"password\":\"x\",\"device_id\":5}", contentType: nil, errcode: "M_BAD_JSON",
            error: badJSON),
        BodyCase(
            name: "display name an object", body: "{\(password),\"password\":\"x\",\"initial_device_display_name\":{}}", contentType: nil,
            errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(
            name: "identifier a string", body: #"{"type":"m.login.password","identifier":"alice","password":"x"}"#, contentType: nil,
            errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(
            name: "identifier without user", body: #"{"type":"m.login.password","identifier":{"type":"m.id.user"},"password":"x"}"#,
            contentType: nil, errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(
            name: "no identifier", body: #"{"type":"m.login.password","password":"x"}"#, contentType: nil, errcode: "M_BAD_JSON",
            error: "Missing property 'identifier'"),
        BodyCase(name: "token missing", body: #"{"type":"m.login.token"}"#, contentType: nil, errcode: "M_BAD_JSON", error: badJSON),
        BodyCase(name: "token a number", body: #"{"type":"m.login.token","token":5}"#, contentType: nil, errcode: "M_BAD_JSON", error: badJSON),
    ]

    @Test(arguments: StoreBackend.allCases, bodyCases)
    func badLoginBodies(_ backend: StoreBackend, _ bad: BodyCase) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let headers = bad.contentType.map { [("Content-Type", $0)] } ?? []
            let reply = await fixture.send(.POST, "/_matrix/client/v3/login", body: bad.body, headers: headers)
            expectError(reply, 400, bad.errcode, bad.error)
            #expect(try await fixture.store.compatSessions.activeSessions(userId: try await fixture.user("alice").id).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases, [nil, "application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.matrix+json"])
    func acceptedContentTypes(_ backend: StoreBackend, _ contentType: String?) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let reply = await fixture.passwordLogin("alice", headers: contentType.map { [("Content-Type", $0)] } ?? [])
            #expect(reply.status == 200, "\(reply.text)")
        }
    }

    // MARK: Password login

    @Test(arguments: StoreBackend.allCases, ["alice", "@alice:example.test"])
    func passwordLoginSuccess(_ backend: StoreBackend, identifier: String) async throws {
        try await withFixture(backend) { fixture in
            let alice = try await fixture.register("alice")
            let reply = await fixture.passwordLogin(identifier)
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "content-type") == "application/json")
            #expect(reply.headers.first(name: "cache-control") == "no-store")
            #expect(Set(reply.json.keys) == ["access_token", "device_id", "user_id"], "no refresh token unless asked: \(reply.text)")
            #expect(reply.json["user_id"] as? String == "@alice:example.test")
            let token = try #require(reply.json["access_token"] as? String)
            #expect(try TokenFormat.check(token).get() == .compatAccessToken)
            let found = try await fixture.lookup(token)
            #expect(found.user.id == alice.id)
            #expect(found.session.deviceId == reply.json["device_id"] as? String)
            #expect(found.token.expiresAt == nil, "without a refresh token the access token never expires")
        }
    }

    @Test(arguments: StoreBackend.allCases) func passwordLoginWithRefreshToken(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let reply = await fixture.passwordLogin("alice", extra: ["refresh_token": true])
            #expect(reply.status == 200)
            #expect(Set(reply.json.keys) == ["access_token", "device_id", "user_id", "refresh_token", "expires_in_ms"])
            #expect(reply.text.contains(#""expires_in_ms":300000,"#) || reply.text.contains(#""expires_in_ms":300000}"#), "an integer: \(reply.text)")
            let refresh = try #require(reply.json["refresh_token"] as? String)
            #expect(try TokenFormat.check(refresh).get() == .compatRefreshToken)
            let found = try await fixture.lookup(try #require(reply.json["access_token"] as? String))
            #expect(found.token.expiresAt == fixture.clock.now().addingTimeInterval(300))

            let explicitNo = await fixture.passwordLogin("alice", extra: ["refresh_token": false])
            #expect(Set(explicitNo.json.keys) == ["access_token", "device_id", "user_id"])
        }
    }

    @Test(arguments: StoreBackend.allCases) func deprecatedUserFieldWinsOverIdentifier(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.register("bob", password: "bobs password")
            // `user` names alice, `identifier` bob: alice's password logs in as alice.
            let reply = await fixture.login([
                "type": "m.login.password", "user": "alice", "identifier": ["type": "m.id.user", "user": "bob"], "password": "correct horse",
            ])
            #expect(reply.status == 200)
            #expect(reply.json["user_id"] as? String == "@alice:example.test")
            // `user` alone, and with an identifier type that would otherwise be refused.
            #expect(await fixture.login(["type": "m.login.password", "user": "@alice:example.test", "password": "correct horse"]).status == 200)
            let thirdparty = await fixture.login([
                "type": "m.login.password", "user": "alice", "identifier": ["type": "m.id.thirdparty", "medium": "email", "address": "a@b.c"],
                "password": "correct horse",
            ])
            #expect(thirdparty.status == 200)
        }
    }

    @Test(arguments: StoreBackend.allCases) func mxidOfAnotherServerIsJustUnknown(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            expectGolden(await fixture.passwordLogin("@alice:elsewhere.test"), 403, invalidCredentials)
            expectGolden(await fixture.passwordLogin("@alice:example.test.evil"), 403, invalidCredentials)
        }
    }

    @Test(arguments: StoreBackend.allCases, [
        ["type": "m.id.thirdparty", "medium": "email", "address": "alice@example.test"], ["type": "m.id.phone", "country": "GB", "phone": "1"],
        ["type": "m.id.email"], ["user": "alice"],
    ])
    func unsupportedIdentifiers(_ backend: StoreBackend, identifier: [String: String]) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let reply = await fixture.login(["type": "m.login.password", "identifier": identifier, "password": "correct horse"])
            expectError(reply, 400, "M_UNKNOWN", "Unsupported login identifier")
        }
    }

    @Test(arguments: StoreBackend.allCases) func wrongCredentialsAllLookTheSame(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.register("nopass", password: nil)
            try await fixture.register("gone")
            try await fixture.register("gonelocked")
            try await fixture.store.users.setDeactivated(userId: try await fixture.user("gone").id, at: fixture.clock.now())
            let goneLocked = try await fixture.user("gonelocked")
            try await fixture.store.users.setDeactivated(userId: goneLocked.id, at: fixture.clock.now())
            try await fixture.store.users.setLocked(userId: goneLocked.id, at: fixture.clock.now())

            let replies = [
                await fixture.passwordLogin("alice", "wrong"),  // wrong password
                await fixture.passwordLogin("nobody"),  // unknown user
                await fixture.passwordLogin("nopass"),  // user without a password
                await fixture.passwordLogin("gone"),  // deactivated, right password
                await fixture.passwordLogin("gonelocked"),  // deactivated and locked, right password
            ]
            for reply in replies {
                expectGolden(reply, 403, invalidCredentials)
                #expect(reply.text == replies[0].text && reply.headers.map { $0.name } == replies[0].headers.map { $0.name }, "byte-identical")
            }
            for name in ["alice", "nopass", "gone", "gonelocked"] {
                #expect(try await fixture.store.compatSessions.activeSessions(userId: try await fixture.user(name).id).isEmpty)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases) func lockedUser(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let alice = try await fixture.register("alice")
            try await fixture.store.users.setLocked(userId: alice.id, at: fixture.clock.now())
            expectError(await fixture.passwordLogin("alice"), 401, "M_USER_LOCKED", "User account has been locked")
            // Only the right password learns about the lock.
            expectGolden(await fixture.passwordLogin("alice", "wrong"), 403, invalidCredentials)
            #expect(try await fixture.store.compatSessions.activeSessions(userId: alice.id).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases) func appserviceAndUnknownLoginTypes(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let appservice = await fixture.login(["type": "m.login.application_service", "identifier": ["type": "m.id.user", "user": "alice"]])
            expectError(
                appservice, 400, "M_APPSERVICE_LOGIN_UNSUPPORTED",
                "Application services can't log in through the legacy authentication API on this server")
            for type in ["m.login.sso", "m.login.recaptcha", "org.example.custom", ""] {
                expectError(await fixture.login(["type": type, "password": "x"]), 400, "M_UNKNOWN", "Invalid login type")
            }
        }
    }

    /// The unknown-user path spends a hash verification like the wrong-password path (timing
    /// equality, MAS-style). Proven without measuring time: with the only hashing slot held and no
    /// queue, every path that hashes is refused as overloaded, which a path skipping the hasher could
    /// not be.
    @Test(arguments: StoreBackend.allCases) func everyPasswordPathSpendsAHashCheck(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.hashingThreads = 1
        options.hashingQueue = 0
        try await withFixture(backend, options) { fixture in
            try await fixture.register("alice")
            try await fixture.register("nopass", password: nil)

            let gate = DispatchSemaphore(value: 0)
            let (started, startedContinuation) = AsyncStream<Void>.makeStream()
            let hasher = fixture.hasher
            let holder = Task {
                try await hasher.run { () throws(PasswordHasherError) -> Int in
                    startedContinuation.yield()
                    gate.wait()
                    return 0
                }
            }
            var iterator = started.makeAsyncIterator()
            await iterator.next()

            let overloaded = "Too many logins at once; try again shortly"
            for reply in [await fixture.passwordLogin("nobody"), await fixture.passwordLogin("nopass"), await fixture.passwordLogin("alice", "wrong")] {
                expectError(reply, 429, "M_LIMIT_EXCEEDED", overloaded)
                #expect(reply.retryAfterMilliseconds == 1000)
            }
            gate.signal()
            _ = try await holder.value
            expectGolden(await fixture.passwordLogin("nobody"), 403, invalidCredentials)
            #expect(await fixture.passwordLogin("alice").status == 200)
        }
    }

    // MARK: Rate limiting

    @Test(arguments: StoreBackend.allCases) func perAddressLimit(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.perIP = RateLimitConfiguration(burst: 3, perSecond: 0.05)
        try await withFixture(backend, options) { fixture in
            try await fixture.register("alice")
            for _ in 0..<3 { expectGolden(await fixture.passwordLogin("alice", "wrong"), 403, invalidCredentials) }
            let limited = await fixture.passwordLogin("alice")
            expectError(limited, 429, "M_LIMIT_EXCEEDED", "Too many login attempts")
            let retry = try #require(limited.retryAfterMilliseconds, "an integer retry_after_ms: \(limited.text)")
            #expect(retry > 0 && retry <= 20_000)
            #expect(limited.headers.first(name: "retry-after") == "20")
            // Unknown users count as well: the limit is checked before the lookup.
            expectError(await fixture.passwordLogin("nobody"), 429, "M_LIMIT_EXCEEDED", "Too many login attempts")
            // Another address is not affected.
            #expect(await fixture.passwordLogin("alice", peer: "192.0.2.99").status == 200)

            fixture.clock.advance(by: Double(retry) / 1000)
            #expect(await fixture.passwordLogin("alice").status == 200, "allowed again after exactly retry_after_ms")
            expectError(await fixture.passwordLogin("alice"), 429, "M_LIMIT_EXCEEDED", "Too many login attempts")
        }
    }

    /// `retry_after_ms` is rounded up: a client that waits exactly that long is let in, even when the
    /// refill interval is not a whole number of milliseconds (1/3 s here).
    @Test(arguments: StoreBackend.allCases) func waitingExactlyRetryAfterIsEnough(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.perIP = RateLimitConfiguration(burst: 1, perSecond: 3)
        try await withFixture(backend, options) { fixture in
            try await fixture.register("alice")
            expectGolden(await fixture.passwordLogin("alice", "wrong"), 403, invalidCredentials)
            let limited = await fixture.passwordLogin("alice")
            expectError(limited, 429, "M_LIMIT_EXCEEDED", "Too many login attempts")
            let retry = try #require(limited.retryAfterMilliseconds)
            #expect(retry == 334)
            fixture.clock.advance(by: Double(retry) / 1000)
            #expect(await fixture.passwordLogin("alice").status == 200)
        }
    }

    @Test(arguments: StoreBackend.allCases) func perAccountLimitIsIndependentOfAddress(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.perAccount = RateLimitConfiguration(burst: 2, perSecond: 0.001)
        try await withFixture(backend, options) { fixture in
            try await fixture.register("alice")
            try await fixture.register("bob")
            expectGolden(await fixture.passwordLogin("alice", "wrong", peer: "192.0.2.1"), 403, invalidCredentials)
            expectGolden(await fixture.passwordLogin("@alice:example.test", "wrong", peer: "198.51.100.2"), 403, invalidCredentials)
            let limited = await fixture.passwordLogin("alice", peer: "203.0.113.3")
            expectError(limited, 429, "M_LIMIT_EXCEEDED", "Too many login attempts")
            #expect((limited.retryAfterMilliseconds ?? 0) > 0)
            // Another account from the same addresses is fine.
            #expect(await fixture.passwordLogin("bob", peer: "192.0.2.1").status == 200)
            #expect(await fixture.passwordLogin("bob", peer: "203.0.113.3").status == 200)
        }
    }

    @Test(arguments: StoreBackend.allCases) func forwardedForOnlyFromTrustedProxies(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.perIP = RateLimitConfiguration(burst: 2, perSecond: 0.001)
        options.trustedProxies = ["10.0.0.0/8"]
        try await withFixture(backend, options) { fixture in
            try await fixture.register("alice")
            func attempt(peer: String, forwardedFor: String?) async -> Int {
                var headers = CompatFixture.json
                if let forwardedFor { headers.append(("X-Forwarded-For", forwardedFor)) }
                return await fixture.passwordLogin("alice", "wrong", peer: peer, headers: headers).status
            }
            // Through the trusted proxy, each client has its own bucket.
            #expect(await attempt(peer: "10.0.0.1", forwardedFor: "198.51.100.7") == 403)
            #expect(await attempt(peer: "10.0.0.2", forwardedFor: "198.51.100.7") == 403)
            #expect(await attempt(peer: "10.0.0.1", forwardedFor: "198.51.100.7") == 429)
            #expect(await attempt(peer: "10.0.0.1", forwardedFor: "198.51.100.8") == 403, "another client behind the same proxy")
            #expect(await attempt(peer: "10.0.0.1", forwardedFor: "1.2.3.4, 198.51.100.8") == 403, "only the right-most untrusted hop counts")
            #expect(await attempt(peer: "10.0.0.1", forwardedFor: "5.6.7.8, 198.51.100.8") == 429)

            // A client that connects directly cannot pick its bucket.
            #expect(await attempt(peer: "203.0.113.5", forwardedFor: "192.0.2.1") == 403)
            #expect(await attempt(peer: "203.0.113.5", forwardedFor: "192.0.2.2") == 403)
            #expect(await attempt(peer: "203.0.113.5", forwardedFor: "192.0.2.3") == 429)
            #expect(await attempt(peer: "203.0.113.5", forwardedFor: nil) == 429)
        }
    }

    // MARK: Devices

    @Test(arguments: StoreBackend.allCases) func requestedDeviceAndDisplayName(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let reply = await fixture.passwordLogin("alice", extra: ["device_id": "MYPHONE", "initial_device_display_name": "Alice's phone"])
            #expect(reply.json["device_id"] as? String == "MYPHONE")
            #expect(fixture.synapse.user("alice")?.devices["MYPHONE"]?.displayName == "Alice's phone")
            let upsert = try #require(fixture.synapse.requests.last { $0.path == "/_synapse/mas/upsert_device" }?.json())
            #expect(upsert["device_id"] as? String == "MYPHONE")
            #expect(upsert["display_name"] as? String == "Alice's phone")
            let found = try await fixture.lookup(try #require(reply.json["access_token"] as? String))
            #expect(found.session.displayName == "Alice's phone")
        }
    }

    @Test(arguments: StoreBackend.allCases) func generatedDeviceIds(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let first = try await fixture.session("alice").deviceId
            let second = try await fixture.session("alice").deviceId
            for device in [first, second] {
                // Ten of A-Za-z0-9, as MAS generates them for compat and OAuth 2.0 sessions alike.
                #expect(device.count == 10 && device.utf8.allSatisfy { Alphabet.base62.contains($0) }, "\(device)")
            }
            #expect(first != second)
            #expect(Set(fixture.synapse.user("alice")?.devices.keys.map { $0 } ?? []) == [first, second])
        }
    }

    @Test(arguments: StoreBackend.allCases) func reusedDeviceReplacesTheSession(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let old = try await fixture.session("alice", device: "SAMEDEVICE", refresh: true)
            let before = fixture.revocations.count
            let new = try await fixture.session("alice", device: "SAMEDEVICE")
            #expect(fixture.revocations.count == before + 1, "caches are told the old token is dead")

            let oldLookup = try await fixture.lookup(old.accessToken)
            #expect(oldLookup.token.revokedAt != nil)
            #expect(oldLookup.session.finishedAt != nil)
            #expect(try await fixture.lookup(new.accessToken).session.finishedAt == nil)
            #expect(fixture.synapse.user("alice")?.devices["SAMEDEVICE"] != nil, "the device itself stays in Synapse")
            #expect(!fixture.synapse.requests.contains { $0.path == "/_synapse/mas/delete_device" })

            expectError(await fixture.logout(old.accessToken), 401, "M_UNKNOWN_TOKEN", "Invalid access token")
            expectError(await fixture.refresh(try #require(old.refreshToken)), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")
            expectGolden(await fixture.logout(new.accessToken), 200, "{}")
        }
    }

    @Test(arguments: StoreBackend.allCases) func deviceIdsSynapseCannotStore(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let invalid = #"{"errcode":"M_INVALID_PARAM","error":"Invalid device_id"}"#
            for device in ["", "has space", String(repeating: "A", count: 256), "tab\there"] {
                expectGolden(await fixture.passwordLogin("alice", extra: ["device_id": device]), 400, invalid)
            }
            // Synapse refusing the id itself (400) is the client's problem, not a 500.
            fixture.synapse.failNext(400, errcode: "M_INVALID_PARAM", error: "device_id too long")
            expectGolden(await fixture.passwordLogin("alice", extra: ["device_id": "OKAY"]), 400, invalid)
            #expect(try await fixture.store.compatSessions.activeSessions(userId: try await fixture.user("alice").id).isEmpty)
        }
    }

    // MARK: Synapse failures

    @Test(arguments: StoreBackend.allCases) func synapseFailureDuringLoginStoresNothing(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let alice = try await fixture.register("alice")
            let token = try await fixture.accounts.issueLoginToken(username: "alice")

            fixture.synapse.down = true
            expectGolden(await fixture.passwordLogin("alice", extra: ["refresh_token": true]), 503, homeserverUnavailable)
            expectGolden(await fixture.login(["type": "m.login.token", "token": token]), 503, homeserverUnavailable)
            fixture.synapse.down = false
            fixture.synapse.failNext(500)
            expectGolden(await fixture.passwordLogin("alice", extra: ["device_id": "DEV"]), 503, homeserverUnavailable)
            fixture.synapse.failNext(503, rawBody: "<html>Bad gateway</html>")
            expectGolden(await fixture.passwordLogin("alice"), 503, homeserverUnavailable)
            // Synapse refusing Gatehouse itself (wrong secret) is the admin's problem, not a passing outage.
            fixture.synapse.failNext(403, errcode: "M_FORBIDDEN", error: "This endpoint must only be called by MAS")
            expectGolden(await fixture.passwordLogin("alice"), 500, internalError)

            #expect(try await fixture.store.compatSessions.activeSessions(userId: alice.id).isEmpty, "no session without a device")
            #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
            #expect(fixture.revocations.count == 0)
            #expect(await fixture.passwordLogin("alice").status == 200, "fine once Synapse answers again")
        }
    }

    // MARK: m.login.token

    @Test(arguments: StoreBackend.allCases) func loginTokenWorksOnce(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let token = try await fixture.accounts.issueLoginToken(username: "alice")
            let reply = await fixture.login(["type": "m.login.token", "token": token, "device_id": "TOKENDEV", "refresh_token": true])
            #expect(reply.status == 200)
            #expect(reply.json["user_id"] as? String == "@alice:example.test")
            #expect(reply.json["device_id"] as? String == "TOKENDEV")
            #expect(reply.json["refresh_token"] is String)
            #expect(fixture.synapse.user("alice")?.devices["TOKENDEV"] != nil)

            let invalid = #"{"errcode":"M_FORBIDDEN","error":"Invalid login token"}"#
            expectGolden(await fixture.login(["type": "m.login.token", "token": token]), 403, invalid)
            expectGolden(await fixture.login(["type": "m.login.token", "token": "NotAToken0000000000000000000000ab"]), 403, invalid)
            expectGolden(await fixture.login(["type": "m.login.token", "token": ""]), 403, invalid)
        }
    }

    @Test(arguments: StoreBackend.allCases) func loginTokenExpires(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let onTime = try await fixture.accounts.issueLoginToken(username: "alice")
            let late = try await fixture.accounts.issueLoginToken(username: "alice")
            fixture.clock.advance(by: 30)
            #expect(await fixture.login(["type": "m.login.token", "token": onTime]).status == 200, "30 s is still in time")
            fixture.clock.advance(by: 1)
            expectError(await fixture.login(["type": "m.login.token", "token": late]), 403, "M_FORBIDDEN", "Login token expired")
        }
    }

    @Test(arguments: StoreBackend.allCases) func loginTokenOfLockedOrDeactivatedUser(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let locked = try await fixture.register("locked")
            let gone = try await fixture.register("gone")
            let lockedToken = try await fixture.accounts.issueLoginToken(username: "locked")
            let goneToken = try await fixture.accounts.issueLoginToken(username: "gone")
            try await fixture.store.users.setLocked(userId: locked.id, at: fixture.clock.now())
            try await fixture.store.users.setDeactivated(userId: gone.id, at: fixture.clock.now())
            expectError(await fixture.login(["type": "m.login.token", "token": lockedToken]), 401, "M_USER_LOCKED", "User account has been locked")
            expectError(await fixture.login(["type": "m.login.token", "token": goneToken]), 403, "M_FORBIDDEN", "Invalid login token")
            #expect(try await fixture.store.compatSessions.activeSessions(userId: locked.id).isEmpty)
            #expect(try await fixture.store.compatSessions.activeSessions(userId: gone.id).isEmpty)
        }
    }

    // MARK: Logout

    @Test(arguments: StoreBackend.allCases) func logoutEndsTheSessionAndDeletesTheDevice(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let session = try await fixture.session("alice", device: "PHONE")
            let other = try await fixture.session("alice", device: "LAPTOP")
            let before = fixture.revocations.count
            fixture.synapse.clearRequests()

            let reply = await fixture.logout(session.accessToken)
            expectGolden(reply, 200, "{}")
            #expect(reply.text == "{}")
            // Synapse has already been told when the response is produced.
            let deletes = fixture.synapse.requests.filter { $0.path == "/_synapse/mas/delete_device" }
            #expect(deletes.count == 1)
            #expect(deletes.first?.json()?["device_id"] as? String == "PHONE")
            #expect(deletes.first?.json()?["localpart"] as? String == "alice")
            #expect(fixture.synapse.user("alice")?.devices.keys.sorted() == ["LAPTOP"])
            #expect(fixture.revocations.count == before + 1)

            let found = try await fixture.lookup(session.accessToken)
            #expect(found.session.finishedAt != nil && found.token.revokedAt != nil)
            #expect(try await fixture.lookup(other.accessToken).session.finishedAt == nil, "other sessions are untouched")
            #expect(try await fixture.store.jobs.pending().isEmpty)

            expectError(await fixture.logout(session.accessToken), 401, "M_UNKNOWN_TOKEN", "Invalid access token")
        }
    }

    @Test(arguments: StoreBackend.allCases) func logoutTokenErrors(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let session = try await fixture.session("alice")
            let missing = (401, "M_MISSING_TOKEN", "Missing access token")
            let unknown = (401, "M_UNKNOWN_TOKEN", "Invalid access token")
            let logout = "/_matrix/client/v3/logout"

            for path in [logout, "/_matrix/client/v3/logout/all"] {
                expectError(await fixture.send(.POST, path), missing.0, missing.1, missing.2)
                for header in ["Basic YWxpY2U6cGFzcw==", "Bearer", "Bearer ", "Token \(session.accessToken)"] {
                    expectError(await fixture.send(.POST, path, headers: [("Authorization", header)]), missing.0, missing.1, missing.2)
                }
                for token in [
                    "garbage", TokenFormat.generate(.compatAccessToken, random: SystemRandom()), TokenFormat.generate(.accessToken, random: SystemRandom()),
                    session.refreshToken ?? "mcr_notarealtoken", session.accessToken + "x",
                ] {
                    expectError(await fixture.send(.POST, path, headers: [("Authorization", "Bearer \(token)")]), unknown.0, unknown.1, unknown.2)
                }
                // Header and query together: refused like Synapse does.
                expectError(
                    await fixture.send(.POST, "\(path)?access_token=\(session.accessToken)", headers: [("Authorization", "Bearer \(session.accessToken)")]),
                    missing.0, missing.1, missing.2)
                expectError(await fixture.send(.POST, "\(path)?access_token="), unknown.0, unknown.1, unknown.2)
            }
            #expect(try await fixture.lookup(session.accessToken).session.finishedAt == nil, "none of that ended the session")

            // The deprecated query parameter on its own works.
            expectGolden(await fixture.send(.POST, "\(logout)?access_token=\(session.accessToken)", headers: []), 200, "{}")
            expectError(await fixture.send(.POST, "\(logout)?access_token=\(session.accessToken)", headers: []), unknown.0, unknown.1, unknown.2)
        }
    }

    @Test(arguments: StoreBackend.allCases) func logoutOfLockedUserOrExpiredToken(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let alice = try await fixture.register("alice")
            try await fixture.register("bob")
            let session = try await fixture.session("alice")
            let expiring = try await fixture.session("bob", refresh: true)
            try await fixture.store.users.setLocked(userId: alice.id, at: fixture.clock.now())
            expectError(await fixture.logout(session.accessToken), 401, "M_UNKNOWN_TOKEN", "Invalid access token")

            let expiresAt = try #require(try await fixture.lookup(expiring.accessToken).token.expiresAt)
            #expect(expiresAt == fixture.clock.now().addingTimeInterval(300))
            fixture.clock.advance(by: 300)
            expectError(await fixture.logout(expiring.accessToken), 401, "M_UNKNOWN_TOKEN", "Invalid access token")
        }
    }

    @Test(arguments: StoreBackend.allCases) func logoutWhileSynapseIsDownQueuesTheCleanUp(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let session = try await fixture.session("alice", device: "PHONE")
            _ = try await fixture.session("alice", device: "LAPTOP")
            fixture.synapse.down = true
            expectGolden(await fixture.logout(session.accessToken), 200, "{}")
            #expect(try await fixture.lookup(session.accessToken).session.finishedAt != nil)
            let jobs = try await fixture.store.jobs.pending()
            #expect(jobs.count == 1)
            let job = try #require(jobs.first)
            #expect(job.kind == "sync_devices")
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(job.payload.utf8)) as? [String: Any])
            #expect(payload["localpart"] as? String == "alice")
            #expect(payload["devices"] as? [String] == ["LAPTOP"], "the devices that remain")

            // The same for a Synapse that answers with an error.
            fixture.synapse.down = false
            let again = try await fixture.session("alice", device: "TABLET")
            fixture.synapse.failNext(500)
            expectGolden(await fixture.logout(again.accessToken), 200, "{}")
            #expect(try await fixture.store.jobs.pending().count == 2)
        }
    }

    // MARK: Logout all

    @Test(arguments: StoreBackend.allCases) func logoutAllNeedsTheAcknowledgement(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let session = try await fixture.session("alice")
            let unsupported = #"{"errcode":"M_UNRECOGNIZED","error":"The /logout/all endpoint is not supported by this deployment"}"#
            for body in ["", "{}", #"{"io.element.only_compat_is_fine":false}"#, #"{"io.element.only_compat_is_fine":null}"#] {
                expectGolden(await fixture.logout(session.accessToken, all: true, body: body), 404, unsupported)
            }
            expectError(await fixture.logout(session.accessToken, all: true, body: #"{"io.element.only_compat_is_fine":"yes"}"#), 400, "M_BAD_JSON", Self.badJSON)
            expectError(await fixture.logout(session.accessToken, all: true, body: "{"), 400, "M_NOT_JSON", Self.notJSON)
            #expect(try await fixture.lookup(session.accessToken).session.finishedAt == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases) func logoutAllEndsEveryCompatSessionOfTheUserOnly(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            try await fixture.register("bob")
            let phone = try await fixture.session("alice", device: "PHONE")
            let laptop = try await fixture.session("alice", device: "LAPTOP", refresh: true)
            let bobs = try await fixture.session("bob", device: "BOBDEV")
            let before = fixture.revocations.count

            expectGolden(await fixture.logout(phone.accessToken, all: true, body: #"{"io.element.only_compat_is_fine":true}"#), 200, "{}")
            #expect(fixture.revocations.count == before + 1)
            for token in [phone.accessToken, laptop.accessToken] {
                let found = try await fixture.lookup(token)
                #expect(found.session.finishedAt != nil && found.token.revokedAt != nil)
            }
            #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
            expectError(await fixture.refresh(try #require(laptop.refreshToken)), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")
            expectError(await fixture.logout(laptop.accessToken), 401, "M_UNKNOWN_TOKEN", "Invalid access token")

            #expect(try await fixture.lookup(bobs.accessToken).session.finishedAt == nil)
            #expect(fixture.synapse.user("bob")?.devices["BOBDEV"] != nil)
            expectGolden(await fixture.logout(bobs.accessToken), 200, "{}")
        }
    }

    // MARK: Refresh

    @Test(arguments: StoreBackend.allCases) func refreshChain(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let first = try await fixture.session("alice", device: "PHONE", refresh: true)
            var access = first.accessToken
            var refresh = try #require(first.refreshToken)
            var used: [String] = []
            for round in 1...4 {
                let before = fixture.revocations.count
                fixture.clock.advance(by: 60)
                let reply = await fixture.refresh(refresh)
                #expect(reply.status == 200, "round \(round): \(reply.text)")
                #expect(Set(reply.json.keys) == ["access_token", "refresh_token", "expires_in_ms"])
                #expect(reply.text.contains(#""expires_in_ms":300000"#), "an integer: \(reply.text)")
                let newAccess = try #require(reply.json["access_token"] as? String)
                let newRefresh = try #require(reply.json["refresh_token"] as? String)
                #expect(newAccess != access && newRefresh != refresh)
                #expect(fixture.revocations.count == before + 1)

                let old = try await fixture.lookup(access)
                #expect(old.token.revokedAt != nil, "round \(round): the previous access token dies at once")
                let new = try await fixture.lookup(newAccess)
                #expect(new.token.revokedAt == nil && new.session.finishedAt == nil && new.session.deviceId == "PHONE")
                #expect(new.token.expiresAt == fixture.clock.now().addingTimeInterval(300))
                expectError(await fixture.logout(access), 401, "M_UNKNOWN_TOKEN", "Invalid access token")
                used.append(refresh)
                access = newAccess
                refresh = newRefresh
            }
            #expect(used.count == 4, "replays are covered by the refresh-replay tests")
            #expect(try await fixture.lookup(access).token.revokedAt == nil)
            #expect(fixture.synapse.user("alice")?.devices.keys.sorted() == ["PHONE"])
            expectGolden(await fixture.logout(access), 200, "{}")
            expectError(await fixture.refresh(refresh), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")
        }
    }

    /// A `syr_` refresh token imported from Synapse refreshes like Gatehouse's own (the new pair is
    /// Gatehouse's format), and an imported `syt_` access token logs out.
    @Test(arguments: StoreBackend.allCases) func importedSynapseTokensRefreshAndLogOut(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let alice = try await fixture.register("alice")
            let now = fixture.clock.now()
            let (syt1, syr1, syt2) = (
                "syt_YWxpY2U_TGhbGTLXNnRmOYvkjodM_1mCNv7", "syr_YWxpY2U_pQkQUbJxWqbGydNhCBsf_2Lq0Tm", "syt_YWxpY2U_aBcDeFgHiJkLmNoPqRsT_0xYz12"
            )
            var batch = AccountImportBatch()
            let phone = CompatSession(id: ULID.make(at: now, random: SystemRandom()), userId: alice.id, deviceId: "PHONE", createdAt: now)
            let laptop = CompatSession(id: ULID.make(at: now, random: SystemRandom()), userId: alice.id, deviceId: "LAPTOP", createdAt: now)
            let phoneAccess = CompatAccessToken(
                id: ULID.make(at: now, random: SystemRandom()), sessionId: phone.id, tokenHash: TokenHasher.sha256Hex(syt1), createdAt: now,
                expiresAt: now.addingTimeInterval(60))
            batch.sessions = [phone, laptop]
            batch.accessTokens = [
                phoneAccess,
                CompatAccessToken(id: ULID.make(at: now, random: SystemRandom()), sessionId: laptop.id, tokenHash: TokenHasher.sha256Hex(syt2), createdAt: now),
            ]
            batch.refreshTokens = [CompatRefreshToken(
                id: ULID.make(at: now, random: SystemRandom()), sessionId: phone.id, accessTokenId: phoneAccess.id,
                tokenHash: TokenHasher.sha256Hex(syr1), createdAt: now)]
            try await fixture.storage.accountImport(fixture.store).write(batch) { _ in }

            let reply = await fixture.refresh(syr1)
            #expect(reply.status == 200, "\(reply.text)")
            let newAccess = try #require(reply.json["access_token"] as? String)
            #expect(try TokenFormat.check(newAccess).get() == .compatAccessToken, "Gatehouse never mints syt_ tokens")
            #expect(try TokenFormat.check(try #require(reply.json["refresh_token"] as? String)).get() == .compatRefreshToken)
            #expect(try await fixture.lookup(newAccess).session.deviceId == "PHONE")
            #expect(try await fixture.lookup(syt1).token.revokedAt != nil, "the imported access token dies with its refresh")
            let next = await fixture.refresh(try #require(reply.json["refresh_token"] as? String))
            #expect(next.status == 200, "and the chain goes on with Gatehouse's tokens: \(next.text)")
            expectError(await fixture.refresh("syr_YWxpY2U_notImportedAtAllxxxx_0abcde"), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")

            expectGolden(await fixture.logout(syt2), 200, "{}")
            #expect(try await fixture.lookup(syt2).session.finishedAt != nil)
            expectError(await fixture.logout(syt2), 401, "M_UNKNOWN_TOKEN", "Invalid access token")
        }
    }

    @Test(arguments: StoreBackend.allCases) func refreshErrors(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            let alice = try await fixture.register("alice")
            let session = try await fixture.session("alice", refresh: true)
            let invalid = #"{"errcode":"M_UNKNOWN_TOKEN","error":"Invalid refresh token"}"#
            for token in [
                "", "garbage", TokenFormat.generate(.compatRefreshToken, random: SystemRandom()), session.accessToken,
                TokenFormat.generate(.refreshToken, random: SystemRandom()), try #require(session.refreshToken) + "x",
            ] {
                expectGolden(await fixture.refresh(token), 401, invalid)
            }
            // Bodies: Matrix JSON errors, not MAS's plain-text axum rejections.
            let path = "/_matrix/client/v3/refresh"
            expectError(await fixture.send(.POST, path, body: "{}"), 400, "M_BAD_JSON", Self.badJSON)
            expectError(await fixture.send(.POST, path, body: #"{"refresh_token":5}"#), 400, "M_BAD_JSON", Self.badJSON)
            expectError(await fixture.send(.POST, path, body: "{"), 400, "M_NOT_JSON", Self.notJSON)
            expectError(await fixture.send(.POST, path, body: ""), 400, "M_NOT_JSON", Self.notJSON)
            expectError(
                await fixture.send(.POST, path, body: #"{"refresh_token":"x"}"#, headers: [("Content-Type", "text/plain")]), 400, "M_NOT_JSON",
                "Invalid Content-Type header: expected application/json")

            // A locked user's refresh token is refused too.
            try await fixture.store.users.setLocked(userId: alice.id, at: fixture.clock.now())
            expectGolden(await fixture.refresh(try #require(session.refreshToken)), 401, invalid)
            try await fixture.store.users.setLocked(userId: alice.id, at: nil)
            #expect(await fixture.refresh(try #require(session.refreshToken)).status == 200, "and not consumed by the refusal")
        }
    }

    @Test(arguments: StoreBackend.allCases) func refreshableAccessTokenExpiresButRefreshTokenDoesNot(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let session = try await fixture.session("alice", refresh: true)
            fixture.clock.advance(by: 299)
            #expect(try await fixture.lookup(session.accessToken).token.expiresAt.map { $0 > fixture.clock.now() } == true)
            fixture.clock.advance(by: 2)
            expectError(await fixture.logout(session.accessToken), 401, "M_UNKNOWN_TOKEN", "Invalid access token")
            let reply = await fixture.refresh(try #require(session.refreshToken))
            #expect(reply.status == 200)
            expectGolden(await fixture.logout(try #require(reply.json["access_token"] as? String)), 200, "{}")
        }
    }

    @Test(arguments: StoreBackend.allCases) func storeFailureIsAnInternalError(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let session = try await fixture.session("alice", refresh: true)
            await fixture.storage.closeStores()
            expectGolden(await fixture.refresh(try #require(session.refreshToken)), 500, internalError)
            expectGolden(await fixture.logout(session.accessToken), 500, internalError)
            expectGolden(await fixture.passwordLogin("alice"), 500, internalError)
        }
    }

    // MARK: Revocation hook

    @Test(arguments: StoreBackend.allCases) func revocationHookFiresOnlyWhenTokensDie(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let one = try await fixture.session("alice", device: "ONE", refresh: true)
            _ = try await fixture.session("alice", device: "TWO")
            _ = await fixture.passwordLogin("alice", "wrong")
            #expect(fixture.revocations.count == 0, "new sessions and failures revoke nothing")

            _ = try await fixture.session("alice", device: "TWO")
            #expect(fixture.revocations.count == 1, "device replacement")
            let refreshed = await fixture.refresh(try #require(one.refreshToken))
            #expect(fixture.revocations.count == 2, "refresh")
            expectGolden(await fixture.logout(try #require(refreshed.json["access_token"] as? String)), 200, "{}")
            #expect(fixture.revocations.count == 3, "logout")
            let three = try await fixture.session("alice", device: "THREE")
            _ = await fixture.logout(three.accessToken, all: true, body: #"{"io.element.only_compat_is_fine":true}"#)
            #expect(fixture.revocations.count == 4, "logout/all")
            _ = await fixture.logout(three.accessToken)
            _ = await fixture.refresh(try #require(one.refreshToken))
            #expect(fixture.revocations.count == 4, "refused requests revoke nothing")
        }
    }

    // MARK: Every error is a Matrix error

    @Test(arguments: StoreBackend.allCases) func everyErrorIsMatrixJSON(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let requests: [LocalRequest] = [
                fixture.request(.POST, "/_matrix/client/v3/login", body: "nope"),
                fixture.request(.POST, "/_matrix/client/v3/login", body: #"{"type":"m.login.password","user":"x","password":"y"}"#),
                fixture.request(.POST, "/_matrix/client/v3/logout"),
                fixture.request(.POST, "/_matrix/client/v3/logout/all", headers: [("Authorization", "Bearer mct_x")]),
                fixture.request(.POST, "/_matrix/client/v3/refresh", body: #"{"refresh_token":"x"}"#),
                fixture.request(.DELETE, "/_matrix/client/v3/login"),
                fixture.request(.GET, "/_matrix/client/v3/login/sso/redirect"),
                fixture.request(.POST, "/_matrix/client/v3/unknown"),
            ]
            for request in requests {
                let reply = await fixture.send(request)
                #expect(reply.status >= 400)
                #expect(reply.headers.first(name: "content-type") == "application/json")
                #expect(reply.json["errcode"] is String && reply.json["error"] is String, "\(reply.text)")
                #expect((reply.json["errcode"] as? String)?.hasPrefix("M_") == true)
            }
        }
    }
}

// MARK: - Identifiers (issue 7, item 6)

extension MatrixCompatTests {
    /// A name no account can have never reaches the store: `victim\u{0}abc` used to be looked up as
    /// `victim` (SQLite reads bound text as a C string) and logged in with victim's password.
    @Test(arguments: StoreBackend.allCases) func namesNoAccountCanHaveAreRefusedLikeUnknownUsers(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("victim")
            let refused = [
                "victim\u{0}abc", "victim\u{0}", "@victim\u{0}:example.test", "@victim:example.test\u{0}", "victim ", " victim",
                "victim\n", "victim\u{7F}", "victim\u{85}", "v\u{456}ctim", "@victim:other.test", "@victim", "@victim:", "",
                String(repeating: "a", count: 300), "victim\u{200B}",
            ]
            for name in refused {
                expectGolden(await fixture.passwordLogin(name), 403, invalidCredentials)
                expectGolden(await fixture.login(["type": "m.login.password", "user": name, "password": "correct horse"]), 403, invalidCredentials)
            }
            #expect(try await fixture.store.compatSessions.activeSessions(userId: try await fixture.user("victim").id).isEmpty)
            // ASCII capitals are folded, as Synapse matches login names case-insensitively.
            for name in ["VICTIM", "@Victim:example.test", "victim"] {
                let reply = await fixture.passwordLogin(name)
                #expect(reply.status == 200, "\(name): \(reply.text)")
                #expect(reply.json["user_id"] as? String == "@victim:example.test")
            }
        }
    }

    /// With `per_account.burst: 3`, every spelling of one account shares its allowance, and NUL-suffixed
    /// variants (which used to get a key of their own each) are not checked at all.
    @Test(arguments: StoreBackend.allCases) func perAccountLimitKeysOnTheCanonicalName(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.perAccount = RateLimitConfiguration(burst: 3, perSecond: 0.001)
        try await withFixture(backend, options) { fixture in
            try await fixture.register("victim")
            for name in ["victim", "VICTIM", "@victim:example.test"] {
                expectGolden(await fixture.passwordLogin(name, "guess"), 403, invalidCredentials)
            }
            for name in ["victim", "Victim", "@VICTIM:example.test"] {
                expectError(await fixture.passwordLogin(name), 429, "M_LIMIT_EXCEEDED", "Too many login attempts")
            }
            for index in 0..<20 {
                expectGolden(await fixture.passwordLogin("victim\u{0}\(index)"), 403, invalidCredentials)
            }
        }
    }

    /// Usernames as MAS finds them: case-insensitively, the exact case preferred. A legacy account
    /// with capitals (Synapse allowed them once) is found from any spelling, and the per-account
    /// limit is keyed by the account found, so every spelling shares one allowance.
    @Test(arguments: StoreBackend.allCases) func usernamesAreFoundCaseInsensitivelyWithTheExactCasePreferred(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.perAccount = RateLimitConfiguration(burst: 3, perSecond: 0.001)
        try await withFixture(backend, options) { fixture in
            let passwords = fixture.service.passwords
            let legacy = User(id: "user-legacy-Carol", username: "Carol", createdAt: fixture.clock.now())
            let (version, hash) = try await fixture.hasher.hash("carol's password")
            _ = try await fixture.store.users.create(
                legacy, password: PasswordRecord(id: "pw-carol", userId: legacy.id, version: version, hash: hash, createdAt: legacy.createdAt))
            let lower = try await fixture.register("alice")
            for name in ["Alice", "ALICE", "@Alice:example.test"] {
                let found = try await passwords.authenticate(name: name, password: "correct horse", clientAddress: "192.0.2.1")
                #expect(found.id == lower.id, "\(name) is alice")
            }
            let carol = try await passwords.authenticate(name: "carol", password: "carol's password", clientAddress: "192.0.2.1")
            #expect(carol.username == "Carol")
            // With that login, two wrong guesses under other spellings use up her allowance of three.
            for name in ["CAROL", "@cArOl:example.test"] {
                await #expect(throws: PasswordAuthenticator.Failure.invalidCredentials) {
                    _ = try await passwords.authenticate(name: name, password: "guess", clientAddress: "192.0.2.1")
                }
            }
            do {
                _ = try await passwords.authenticate(name: "Carol", password: "carol's password", clientAddress: "192.0.2.9")
                Issue.record("a fourth attempt at the same account should be limited, whatever its spelling")
            } catch {
                guard case .rateLimited = error as? PasswordAuthenticator.Failure else { Issue.record("unexpected \(error)"); return }
            }
            // The Matrix endpoint uses the same check.
            try await fixture.register("bob")
            #expect(await fixture.passwordLogin("Bob").status == 200)
        }
    }

    @Test(arguments: StoreBackend.allCases) func passwordAuthenticatorRateLimitsBeforeAndAfterLookup(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.perIP = RateLimitConfiguration(burst: 1, perSecond: 0.001)
        try await withFixture(backend, options) { fixture in
            try await fixture.register("alice")
            let passwords = fixture.service.passwords
            _ = try await passwords.authenticate(name: "alice", password: "correct horse", clientAddress: "192.0.2.7")
            do {
                _ = try await passwords.authenticate(name: "alice", password: "correct horse", clientAddress: "192.0.2.7")
                Issue.record("the second attempt from one address should be limited")
            } catch {
                guard case .rateLimited(let retryAfter) = error as? PasswordAuthenticator.Failure else { Issue.record("unexpected \(error)"); return }
                #expect(retryAfter > 0)
            }
        }
    }

    /// Bad `device_id`s and display names get a Matrix error before the store or Synapse is touched:
    /// with the store closed, reaching it would be a 500.
    @Test(arguments: StoreBackend.allCases) func badDeviceIdsAndNamesAreRefusedBeforeTheStoreOrSynapse(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let token = try await fixture.accounts.issueLoginToken(username: "alice")
            fixture.synapse.clearRequests()
            await fixture.storage.closeStores()
            let invalid = #"{"errcode":"M_INVALID_PARAM","error":"Invalid device_id"}"#
            let badDevices = [
                "", "DEV\u{0}X", "DEV\u{0}", "DEV\u{1}", "tab\there", "new\nline", "has space", "DEV\u{7F}", "DEV\u{85}", "D\u{C9}V",
                "DEV\u{200B}", "quote\"d", "back\\slash", String(repeating: "A", count: 256), String(repeating: "\u{0}", count: 10_000),
            ]
            for device in badDevices {
                expectGolden(await fixture.passwordLogin("alice", extra: ["device_id": device]), 400, invalid)
                expectGolden(await fixture.passwordLogin("alice", "wrong", extra: ["device_id": device]), 400, invalid)
                expectGolden(await fixture.login(["type": "m.login.token", "token": token, "device_id": device]), 400, invalid)
            }
            let badName = #"{"errcode":"M_INVALID_PARAM","error":"Invalid initial_device_display_name"}"#
            for name in ["Phone\u{0}", "Phone\u{1B}[31m", "Phone\u{9B}"] {
                expectGolden(await fixture.passwordLogin("alice", extra: ["initial_device_display_name": name]), 400, badName)
            }
            #expect(fixture.synapse.requests.isEmpty, "nothing was sent to Synapse")
        }
    }

    /// The longest device ID and the punctuation clients use are accepted.
    @Test(arguments: StoreBackend.allCases) func reasonableDeviceIdsAreAccepted(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            for device in ["ABCDEFGHIJ", "mautrix-whatsapp_Xy1", "a.b~c!d$e&f'(g)*+,;=:@/-h#[]{}|^`?%<>", String(repeating: "A", count: 255)] {
                let reply = await fixture.passwordLogin("alice", extra: ["device_id": device, "initial_device_display_name": "Alice's phone (ünïcode) 📱"])
                #expect(reply.status == 200, "\(device): \(reply.text)")
                #expect(reply.json["device_id"] as? String == device)
            }
        }
    }
}

// MARK: - Synapse down or frozen during login (issue 7, item 11)

extension MatrixCompatTests {
    /// Down, frozen (the request is carried out, the answer never comes in time) or failing: the
    /// client gets 503 `M_UNKNOWN` with `Retry-After` within the Synapse deadline, nothing is stored,
    /// and every device Synapse may have created is removed once it is back, twice (a Synapse that
    /// wakes up may still carry out the lost request after the first removal).
    @Test(arguments: StoreBackend.allCases) func loginWhileSynapseIsDownOrFrozen(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.synapseRequestTimeout = .milliseconds(300)
        try await withFixture(backend, options, exclusive: true) { fixture in
            let alice = try await fixture.register("alice")
            let token = try await fixture.accounts.issueLoginToken(username: "alice")
            func expectUnavailable(_ reply: Reply, sourceLocation: SourceLocation = #_sourceLocation) {
                expectGolden(reply, 503, homeserverUnavailable, sourceLocation: sourceLocation)
                #expect(reply.headers.first(name: "retry-after") == "5", sourceLocation: sourceLocation)
                #expect(reply.headers.first(name: "cache-control") == "no-store", sourceLocation: sourceLocation)
            }

            fixture.synapse.down = true
            expectUnavailable(await fixture.passwordLogin("alice", extra: ["device_id": "DOWNDEV"]))
            expectUnavailable(await fixture.login(["type": "m.login.token", "token": token, "device_id": "TOKENDEV"]))
            fixture.synapse.down = false

            fixture.synapse.responseDelay = .seconds(3)
            let clock = ContinuousClock()
            let started = clock.now
            expectUnavailable(await fixture.passwordLogin("alice", extra: ["device_id": "FROZENDEV", "refresh_token": true]))
            #expect(clock.now - started < .seconds(2), "bounded by the Synapse deadline, not by Synapse")
            #expect(fixture.synapse.user("alice")?.devices["FROZENDEV"] != nil, "the frozen Synapse created the device anyway")
            fixture.synapse.responseDelay = nil

            fixture.synapse.failNext(500)
            expectUnavailable(await fixture.passwordLogin("alice", extra: ["device_id": "ERRORDEV"]))
            fixture.synapse.failNext(429, errcode: "M_LIMIT_EXCEEDED", error: "Too many requests")
            expectUnavailable(await fixture.passwordLogin("alice"))

            #expect(try await fixture.store.compatSessions.activeSessions(userId: alice.id).isEmpty, "no session without a device")
            let queued = try await fixture.store.jobs.pending()
            #expect(queued.allSatisfy { $0.kind == "remove_orphan_device" }, "\(queued.map(\.kind))")
            let devices = try queued.map { job -> String in
                guard case .removeOrphanDevice(let orphan) = try HomeserverJob(kind: job.kind, payload: job.payload) else { return "" }
                #expect(orphan.localpart == "alice" && !orphan.confirmation)
                return orphan.deviceId
            }
            #expect(devices.count == 5)
            #expect(Set(devices).isSuperset(of: ["DOWNDEV", "TOKENDEV", "FROZENDEV", "ERRORDEV"]))

            // Synapse is back: the runner removes them.
            _ = await fixture.runner.runPending(now: fixture.clock.now())
            #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
            let confirmations = try await fixture.store.jobs.pending()
            #expect(confirmations.count == 5 && confirmations.allSatisfy { $0.runAt > fixture.clock.now() })

            // The frozen Synapse carries out the lost upsert late; the confirming removal catches it.
            var late = try #require(fixture.synapse.user("alice"))
            late.devices["FROZENDEV"] = FakeSynapse.Device()
            fixture.synapse.addUser(late)
            _ = await fixture.runner.runPending(now: fixture.clock.now())
            #expect(fixture.synapse.user("alice")?.devices["FROZENDEV"] != nil, "not before the confirmation delay")
            fixture.clock.advance(by: 11)
            _ = await fixture.runner.runPending(now: fixture.clock.now())
            #expect(fixture.synapse.user("alice")?.devices.isEmpty == true)
            #expect(try await fixture.store.jobs.pending().isEmpty)

            #expect(await fixture.passwordLogin("alice").status == 200, "fine once Synapse answers again")
            let retried = await fixture.login(["type": "m.login.token", "token": token, "device_id": "TOKENDEV"])
            #expect(retried.status == 200, "the login token survived the failed attempt: \(retried.text)")
            expectGolden(await fixture.login(["type": "m.login.token", "token": token]), 403, #"{"errcode":"M_FORBIDDEN","error":"Invalid login token"}"#)
        }
    }

    /// The removal keeps a device a session uses: the session a failed login wanted to replace, or
    /// the session of a retried login that reused the device once Synapse was back.
    @Test(arguments: StoreBackend.allCases) func orphanRemovalKeepsDevicesInUse(_ backend: StoreBackend) async throws {
        var options = CompatFixture.Options()
        options.synapseRequestTimeout = .milliseconds(300)
        try await withFixture(backend, options, exclusive: true) { fixture in
            try await fixture.register("alice")
            let phone = try await fixture.session("alice", device: "PHONE")
            fixture.synapse.responseDelay = .seconds(3)
            expectGolden(await fixture.passwordLogin("alice", extra: ["device_id": "PHONE"]), 503, homeserverUnavailable)
            expectGolden(await fixture.passwordLogin("alice", extra: ["device_id": "RETRIED"]), 503, homeserverUnavailable)
            fixture.synapse.responseDelay = nil
            #expect(try await fixture.lookup(phone.accessToken).session.finishedAt == nil, "the failed login replaced nothing")
            // The client retries once Synapse is back, with the same device: the device is reused.
            let retried = try await fixture.session("alice", device: "RETRIED")
            fixture.synapse.clearRequests()

            _ = await fixture.runner.runPending(now: fixture.clock.now())
            fixture.clock.advance(by: 11)
            _ = await fixture.runner.runPending(now: fixture.clock.now())
            #expect(try await fixture.store.jobs.pending().isEmpty)
            #expect(!fixture.synapse.requests.contains { $0.path == "/_synapse/mas/delete_device" })
            #expect(Set(fixture.synapse.user("alice")?.devices.keys.map { $0 } ?? []) == ["PHONE", "RETRIED"])
            #expect(try await fixture.lookup(phone.accessToken).session.finishedAt == nil)
            #expect(try await fixture.lookup(retried.accessToken).session.finishedAt == nil)
        }
    }
}

// MARK: - Refresh-token replay (issue 7, item 14; RFC 9700 §4.14.2)

extension MatrixCompatTests {
    /// Logs in with a refresh token and refreshes `hops` times; returns every pair, oldest first.
    private func chain(_ fixture: CompatFixture, device: String, hops: Int) async throws -> [(access: String, refresh: String)] {
        let first = try await fixture.session("alice", device: device, refresh: true)
        var pairs = [(first.accessToken, try #require(first.refreshToken))]
        for _ in 0..<hops {
            fixture.clock.advance(by: 1)
            let reply = await fixture.refresh(pairs.last!.1)
            try #require(reply.status == 200, "\(reply.text)")
            pairs.append((try #require(reply.json["access_token"] as? String), try #require(reply.json["refresh_token"] as? String)))
        }
        return pairs
    }

    private func expectSessionEnded(_ fixture: CompatFixture, _ pairs: [(access: String, refresh: String)], device: String) async throws {
        for pair in pairs {
            let found = try await fixture.lookup(pair.access)
            #expect(found.session.finishedAt != nil && found.token.revokedAt != nil)
            expectError(await fixture.refresh(pair.refresh), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")
        }
        #expect(fixture.synapse.user("alice")?.devices[device] == nil, "the device is deleted, so Synapse's cache forgets the tokens")
    }

    @Test(arguments: StoreBackend.allCases) func replayOfAnOlderRefreshTokenEndsTheSession(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let other = try await fixture.session("alice", device: "OTHER")
            let pairs = try await chain(fixture, device: "PHONE", hops: 2)
            let before = fixture.revocations.count
            expectError(await fixture.refresh(pairs[0].refresh), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")
            #expect(fixture.revocations.count == before + 1, "caches forget the session's tokens at once")
            try await expectSessionEnded(fixture, pairs, device: "PHONE")
            #expect(try await fixture.lookup(other.accessToken).session.finishedAt == nil, "other sessions are untouched")
        }
    }

    @Test(arguments: StoreBackend.allCases) func replayAfterTheSuccessorWasUsedEndsTheSession(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let pairs = try await chain(fixture, device: "PHONE", hops: 1)
            // The successor's access token was used (introspection and the edge check record activity).
            fixture.clock.advance(by: 1)
            try await fixture.store.compatSessions.touch(sessionId: try await fixture.lookup(pairs[1].access).session.id, at: fixture.clock.now())
            expectError(await fixture.refresh(pairs[0].refresh), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")
            try await expectSessionEnded(fixture, pairs, device: "PHONE")
        }
    }

    /// The answer to a refresh got lost: the client retries with the token it still has, and gets a
    /// fresh pair, once; the unused successor dies, and presenting it (or retrying once more) ends the
    /// session.
    @Test(arguments: StoreBackend.allCases) func lostRefreshResponseGetsAFreshPairOnce(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let pairs = try await chain(fixture, device: "PHONE", hops: 1)
            fixture.clock.advance(by: 1)
            let retry = await fixture.refresh(pairs[0].refresh)
            #expect(retry.status == 200, "\(retry.text)")
            #expect(Set(retry.json.keys) == ["access_token", "refresh_token", "expires_in_ms"])
            let fresh = (access: try #require(retry.json["access_token"] as? String), refresh: try #require(retry.json["refresh_token"] as? String))
            #expect(fresh.access != pairs[1].access && fresh.refresh != pairs[1].refresh)
            #expect(try await fixture.lookup(pairs[1].access).token.revokedAt != nil, "the lost successor dies")
            #expect(try await fixture.lookup(fresh.access).session.finishedAt == nil)

            // The fresh pair works, and the chain goes on.
            fixture.clock.advance(by: 1)
            let next = await fixture.refresh(fresh.refresh)
            #expect(next.status == 200, "\(next.text)")
            let third = (access: try #require(next.json["access_token"] as? String), refresh: try #require(next.json["refresh_token"] as? String))

            // Once only: the same token again is a replay.
            expectError(await fixture.refresh(pairs[0].refresh), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")
            try await expectSessionEnded(fixture, pairs + [fresh, third], device: "PHONE")
        }
    }

    @Test(arguments: StoreBackend.allCases) func presentingTheSupersededSuccessorEndsTheSession(_ backend: StoreBackend) async throws {
        try await withFixture(backend) { fixture in
            try await fixture.register("alice")
            let pairs = try await chain(fixture, device: "PHONE", hops: 1)
            let retry = await fixture.refresh(pairs[0].refresh)
            #expect(retry.status == 200)
            let fresh = (access: try #require(retry.json["access_token"] as? String), refresh: try #require(retry.json["refresh_token"] as? String))
            // Whoever holds the successor saw the "lost" answer: one of the two copies is stolen.
            expectError(await fixture.refresh(pairs[1].refresh), 401, "M_UNKNOWN_TOKEN", "Invalid refresh token")
            try await expectSessionEnded(fixture, pairs + [fresh], device: "PHONE")
        }
    }
}
