import _CryptoExtras
import Foundation
import GatehouseAuth
import GatehouseCore
import GatehouseIdentity
import GatehouseStorage
import GatehouseTestSupport
import GatehouseTesting
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

@testable import GatehouseServer

/// Runs a real ``GatehouseServer`` in-process on an ephemeral plain-HTTP port, with a route table and
/// upstreams given as text, for the duration of `body`. With `identityStore`, proxied requests get
/// the edge token check against that store and `local oauth2` rules the `oauth2` service (with
/// `clock` and `random`; with `tokenIssuing`, the token endpoints too; with `activity`, the uses the
/// edge check sees are recorded there). `pools` adds upstream
/// entries written out in YAML (`name: {members: [...], balance: ...}`), for pools of several members.
/// `listenerYAML` adds a key to the listener (`proxy_protocol: true`), `httpYAML` one to `http`.
/// A gateway with the default route table, a `secrets` section (so the HTML pages and OpenID Connect
/// are on) and a fresh store of `backend`, as a deployment from the README has them.
func withDefaultRoutesGateway<T>(_ backend: StoreBackend, _ body: (_ port: Int, _ store: any IdentityStore) async throws -> T) async throws -> T {
    let storage = try await StoreFixture.make(backend)
    do {
        let value = try await withDefaultRoutesGateway(store: try await storage.open(), body)
        await storage.close()
        return value
    } catch {
        await storage.close()
        throw error
    }
}

private func withDefaultRoutesGateway<T>(store: any IdentityStore, _ body: (_ port: Int, _ store: any IdentityStore) async throws -> T) async throws -> T {
    let pem = try _RSA.Signing.PrivateKey(keySize: .bits2048).pemRepresentation.split(separator: "\n").map { "          " + $0 }
    let secrets = """
        secrets:
          encryption: "\(String(repeating: "ab", count: 32))"
          keys:
            - kid: rsa-1
              key: |
        \(pem.joined(separator: "\n"))
        """
    return try await withTestGateway(routes: DefaultRoutes.text, upstreams: ["synapse": 1], extraYAML: secrets, identityStore: store) { port in
        try await body(port, store)
    }
}

func withTestGateway<T>(
    routes: String,
    upstreams: [String: Int],
    pools: [String] = [],
    extraYAML: String = "",
    identityStore: (any IdentityStore)? = nil,
    clock: any WallClock = SystemClock(),
    random: any RandomSource = SystemRandom(),
    tokenIssuing: OAuth2Service.TokenIssuing? = nil,
    activity: SessionActivityRecorder? = nil,
    listenerYAML: String = "",
    httpYAML: String = "",
    _ body: (_ port: Int) async throws -> T
) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    try routes.write(toFile: "\(directory)/test.routes", atomically: true, encoding: .utf8)
    let upstreamYAML = (upstreams.map { name, port in "  \(name): {members: [\"http://127.0.0.1:\(port)\"], fail_timeout: 0}" } + pools.map { "  \($0)" })
        .joined(separator: "\n")
    let yaml = """
        http:
          public_base: http://localhost/
          listeners:
            - name: test
              binds: [{address: "127.0.0.1:0"}]\(listenerYAML.isEmpty ? "" : "\n      " + listenerYAML)\(httpYAML.isEmpty ? "" : "\n  " + httpYAML)
        matrix: {homeserver: localhost, endpoint: "http://127.0.0.1:1/", secret: "test-secret-of-at-least-32-bytes!"}
        database: {path: test.db}
        routes: {files: [test.routes]}
        upstreams:
        \(upstreamYAML.isEmpty ? "  {}" : upstreamYAML)
        log: {access: false}
        \(extraYAML)
        """
    try yaml.write(toFile: "\(directory)/gatehouse.yaml", atomically: true, encoding: .utf8)
    let bundle = try ConfigurationBundle.load(path: "\(directory)/gatehouse.yaml")
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    let oauth2 = identityStore.map {
        OAuth2Service(
            configuration: bundle.configuration, store: $0, tokenIssuing: tokenIssuing, clock: clock, random: random, activity: activity)
    }
    var responders: [LocalServiceName: any LocalResponder] = [.health: HealthResponder()]
    if let oauth2 { responders[.oauth2] = oauth2.responder }
    // With a store, the HTML pages too (password checks with bcrypt at its lowest cost; no registration).
    var hasher: PasswordHasher?
    if let identityStore {
        let pagesHasher = try PasswordHasher(
            configuration: PasswordsConfiguration(enabled: true, schemes: [PasswordSchemeConfiguration(version: 1, algorithm: .bcrypt, cost: 4)]),
            threadPoolSize: 1, maxWaiting: 8)
        hasher = pagesHasher
        let passwords = PasswordAuthenticator(
            store: identityStore, hasher: pagesHasher, serverName: bundle.configuration.matrix.homeserver,
            perIP: RateLimiter(burst: 100, perSecond: 100, clock: clock), perAccount: RateLimiter(burst: 100, perSecond: 100, clock: clock),
            clock: clock, random: random)
        responders[.pages] = try PagesService(
            configuration: bundle.configuration, repositories: PagesRepositories(store: identityStore), passwords: passwords, accounts: nil,
            clock: clock, random: random
        ).responder
    }
    let runtime = GatewayRuntime(
        configuration: bundle.configuration, routes: bundle.routes, responders: responders, logger: logger, oauth2: oauth2)

    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let server = try GatehouseServer(runtime: runtime, group: MultiThreadedEventLoopGroup.singleton) { bound in
        continuation.yield(bound[0].port)
    }
    let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: logger))
    let running = Task { try await group.run() }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else { throw CancellationError() }
    do {
        let result = try await body(port)
        await group.triggerGracefulShutdown()
        try await running.value
        try? await hasher?.shutdown()
        return result
    } catch {
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        try? await hasher?.shutdown()
        throw error
    }
}

/// Runs blocking client code off the cooperative pool.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// One request on a fresh connection.
func request(port: Int, _ raw: String) async throws -> RawHTTPClient.Response {
    try await blocking {
        let client = try RawHTTPClient(port: port)
        try client.send(raw)
        return try client.readResponse()
    }
}
